# Default views, tables and lists.
Get-Mailbox
Get-Mailbox -Identity christa | Format-List
Get-CASMailbox christa | Format-List *
Get-CASMailbox | Format-Table Name,*Enabled -AutoSize
Get-CASMailbox | Select-Object Name,@{Name='POP';Expression={$_.PopEnabled}} | Sort-Object Name
Get-CASMailboxPlan
Get-OrganizationConfig
Get-RoleGroup
Get-RoleGroupMember "Organization Management"
Get-CASMailbox | Group-Object PopEnabled -NoElement
Get-CASMailbox | Measure-Object
Get-CASMailbox christa | ConvertTo-Json
Get-Mailbox -ResultSize 2
Get-EmailAppUsageReport -Period 30
Get-EmailAppUsageReport -Daily
Get-Mailbox -Identity chr*
$list = Get-CASMailbox
$list.Count
$list | Where-Object ImapEnabled | ForEach-Object Name
"$($list[0].Name) has POP3 $(if ($list[0].PopEnabled) { 'on' } else { 'off' })"
Get-Mailbox | Select-Object -First 1 -ExpandProperty PrimarySmtpAddress
