# Bad input: each gives one clear message and the shell goes on.
Get-Mailbx
Set-CASMailbox -Identity "Christa Knapp" -Foo $true
Set-CASMailbox -Identity "Christa Knapp" -I $true
Set-CASMailbox -Identity "Christa Knapp" -PopEnabled maybe
Set-CASMailbox -PopEnabled $true
Set-CASMailbox -Identity "Nobody Here" -PopEnabled $true
Set-CASMailbox -Identity "Christa Knapp" -Identity bob
Set-CASMailbox "Christa Knapp" extra -PopEnabled $true
Get-CASMailbox -Filter "PopEnabled -eq"
Get-CASMailbox -Filter "Nope -eq 1"
Get-Mailbox -ResultSize lots
Get-EmailAppUsageReport -Period 5
New-Mailbox -Name x -Password 'plain'
Get-Mailbox | Where-Object { $_.Name -eq Christa }
Get-Mailbox | | Format-List
Get-Mailbox -Identity christa -ResultSize 5 -ResultSiz 6
Get-CASMailbox -Identity christa,bob
Set-CASMailbox bob -PopEnabled "true"
Set-CASMailbox bob -ImapEnabled 0
Get-CASMailbox bob
Import-Csv missing.csv
@() | Set-CASMailbox -PopEnabled $false
'not a mailbox object' | Set-CASMailbox -PopEnabled $false
Set-CASMailbox -Identity "Christa Knapp" -PopEnabled $true
'still running'
