# The documented Exchange examples of issue 6, as they stand.
Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true
Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*
Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false
Get-CASMailbox
Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true
Get-CASMailbox -Filter "PopEnabled -eq `$true" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation
Get-Content pop.csv
Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $true }
Get-CASMailbox
