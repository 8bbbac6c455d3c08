# -WhatIf names each change and the open sessions it would close.
Set-CASMailbox -Identity "Christa Knapp" -PopEnabled $false -WhatIf
Set-CASMailbox christa -ImapEnabled $false -wi
Get-CASMailbox christa | Format-List PopEnabled,ImapEnabled
Set-CASMailbox christa -PopEnabled $true
Set-OrganizationConfig -SecurityDefaultsEnabled $true -WhatIf
Set-OrganizationConfig -SecurityDefaultsEnabled $true
Get-CASMailbox christa | Format-List Effective*,*Access
Set-CASMailboxPlan -PopEnabled $false
Get-CASMailboxPlan
New-Mailbox -Name "Chris Ashton" -Alias chris -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)
Get-CASMailbox chris
Remove-Mailbox chris -WhatIf
Remove-Mailbox chris -Confirm:$false
Get-Mailbox chris
