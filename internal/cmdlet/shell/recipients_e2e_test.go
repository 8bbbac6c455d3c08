package shell

import (
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EAdminCmdlets runs, against a real server on each engine, the
// cmdlets and parameters of issue 13 §3 as Exchange admins type them.
func TestE2EAdminCmdlets(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { adminCmdlets(t, startServer(t)) })
	t.Run("postgres", func(t *testing.T) {
		adminCmdlets(t, testenv.Start(t, testenv.Options{Demo: true, Postgres: true}))
	})
}

func adminCmdlets(t *testing.T, env *testenv.Env) {
	steps := []struct {
		src          string
		code         int
		out, errOut  string // exact, unless the contains lists say otherwise
		outHas, errs []string
	}{
		// Set-CASMailbox applies POP3 and IMAP4 and warns about the rest
		{src: "Set-CASMailbox christa -PopEnabled $false -ActiveSyncEnabled $false -OWAEnabled $false -MAPIEnabled $true -EwsEnabled $false; Get-CASMailbox christa | ForEach-Object { \"$($_.PopEnabled) $($_.ImapEnabled)\" }",
			out:    "False True\n",
			errOut: "WARNING: Gatehouse serves POP3 and IMAP4 only, not Exchange ActiveSync, Outlook on the web, MAPI or Exchange Web Services: -ActiveSyncEnabled, -OWAEnabled, -MAPIEnabled and -EwsEnabled are ignored. The other settings of the command are applied.\n"},
		{src: "Get-Mailbox -Anr chr | Set-CASMailbox -ImapEnabled $false -OWAEnabled $false -WarningAction SilentlyContinue; (Get-CASMailbox -Anr chr | Where-Object ImapEnabled).Count",
			out: "0\n"},
		// Set-CASMailboxPlan: an unknown plan is an error and changes nothing; a piped plan works
		{src: "Set-CASMailboxPlan -Identity ExchangeOnlineEnterprise -PopEnabled $false; (Get-CASMailboxPlan).PopEnabled", code: 1,
			out: "True\n", errOut: "Set-CASMailboxPlan: The operation couldn't be performed because object 'ExchangeOnlineEnterprise' couldn't be found on '127.0.0.1'.\n"},
		{src: "Get-CASMailboxPlan | Set-CASMailboxPlan -PopEnabled $false; Set-CASMailboxPlan default -ImapEnabled $false; Get-CASMailboxPlan -Identity Def* | ForEach-Object { \"$($_.Name) $($_.PopEnabled) $($_.ImapEnabled)\" }",
			out: "Default False False\n"},
		{src: "Get-CASMailboxPlan -Identity nope", code: 1, errOut: "Get-CASMailboxPlan: The operation couldn't be performed because object 'nope' couldn't be found on '127.0.0.1'.\n"},
		// Get-EXOCASMailbox by property sets
		{src: "Get-EXOCASMailbox -Identity christa -PropertySets Minimum,Pop,Imap | Format-List",
			outHas: []string{"\nIdentity             : Christa Knapp\nName                 : Christa Knapp\nGuid                 : ", "\nDisplayName          : Christa Knapp\nPrimarySmtpAddress   : christa@contoso.com\n",
				"\nPopEnabled           : False\nImapEnabled          : False\nEffectivePopEnabled  : False\nPopAccess            : Disabled\nLastPopLogonTime     :\nEffectiveImapEnabled : False\nImapAccess           : Disabled\nLastImapLogonTime    :\n"}},
		{src: "Get-EXOCASMailbox -Identity christa -PropertySets Pop | Format-List", outHas: []string{"\nIdentity            : Christa Knapp\nName                : Christa Knapp\nGuid                : ", "\nPopEnabled          : False\nEffectivePopEnabled : False\nPopAccess           : Disabled\nLastPopLogonTime    :\n\n"}},
		{src: "Get-EXOCASMailbox -PropertySets Owa", code: 1, errs: []string{"Get-EXOCASMailbox: Cannot bind parameter 'PropertySets'. Cannot convert value \"Owa\""}},
		// Get-User and Get-Recipient
		{src: "Get-User christa | Format-List Name,FirstName,LastName,UserPrincipalName,RecipientType",
			out: "\nName              : Christa Knapp\nFirstName         : Christa\nLastName          : Knapp\nUserPrincipalName : christa@contoso.com\nRecipientType     : UserMailbox\n\n"},
		{src: "Get-User -Anr chr | Format-Table", outHas: []string{"Name          RecipientType", "Christa Knapp UserMailbox", "Christa Lee   UserMailbox"}},
		{src: "(Get-Recipient -ResultSize Unlimited).Count -eq (Get-Mailbox -ResultSize Unlimited).Count; (Get-Recipient -RecipientTypeDetails SharedMailbox,RoomMailbox | Measure-Object).Count; (Get-Recipient -RecipientType MailContact | Measure-Object).Count",
			out: "True\n0\n0\n"},
		{src: "Get-Recipient ben | ForEach-Object { \"$($_.Name),$($_.RecipientTypeDetails),$($_.PrimarySmtpAddress)\" }",
			out: "Ben Andrews,UserMailbox,ben@contoso.com\n"},
		{src: "Get-Recipient -RecipientTypeDetails Bogus", code: 1, errs: []string{"Get-Recipient: Cannot bind parameter 'RecipientTypeDetails'. Cannot convert value \"Bogus\""}},
		// Get-Mailbox -RecipientTypeDetails and -Anr
		{src: "(Get-Mailbox -RecipientTypeDetails UserMailbox -ResultSize Unlimited).Count -eq (Get-Mailbox -ResultSize Unlimited).Count; Get-Mailbox -RecipientTypeDetails SharedMailbox",
			out: "True\n"},
		{src: "Get-Mailbox -Anr christa | ForEach-Object Alias", out: "christa\nchrista.lee\n"},
		{src: "Get-Mailbox -Anr chr -Identity christa", code: 1, errs: []string{"Get-Mailbox: Parameter set cannot be resolved using the specified named parameters."}},
		// Get-ManagementRoleAssignment
		{src: "Get-ManagementRoleAssignment -RoleAssignee holly | ForEach-Object Name", out: "View-Only Recipients-Help Desk\nReset Password-Help Desk\n"},
		{src: "Get-ManagementRoleAssignment -Role 'Role Management' | Format-List Name,Role,RoleAssigneeName,RoleAssigneeType",
			out: "\nName             : Role Management-Organization Management\nRole             : Role Management\nRoleAssigneeName : Organization Management\nRoleAssigneeType : RoleGroup\n\n"},
		{src: "Get-ManagementRoleAssignment -RoleAssignee 'Help Desk' -Identity Reset* | ForEach-Object Role", out: "Reset Password\n"},
		{src: "Get-ManagementRoleAssignment -RoleAssignee nobody", code: 1, errs: []string{"Get-ManagementRoleAssignment: The operation couldn't be performed because object 'nobody' couldn't be found"}},
		// Connect-ExchangeOnline and Disconnect-ExchangeOnline from inside the shell
		{src: "Disconnect-ExchangeOnline -Confirm:$false; Get-Mailbox christa; Connect-ExchangeOnline -UserPrincipalName admin -ShowBanner:$false; (Get-Mailbox christa).Alias",
			code: 1, out: "christa\n", errs: []string{"Get-Mailbox: Not connected to a Gatehouse server."}},
		{src: "$cred = [pscredential]::new('holly', (ConvertTo-SecureString -String '" + testenv.DemoPassword + "' -AsPlainText -Force)); Connect-ExchangeOnline -Credential $cred; (Get-Mailbox christa).Alias; Set-CASMailbox christa -PopEnabled $true",
			code: 1, out: "Connected to " + env.URL() + " as holly.\nchrista\n", errs: []string{"Set-CASMailbox: Access denied: 'holly@contoso.com'"}},
		{src: "$cred = [pscredential]::new('admin', (ConvertTo-SecureString -String 'wrong' -AsPlainText -Force)); Connect-ExchangeOnline -Credential $cred; 'not reached'",
			code: 1, errOut: "Connect-ExchangeOnline: Sign-in failed: the user name or password is incorrect.\n"},
		{src: "try { Connect-ExchangeOnline -ConnectionUri " + env.URL() + " -UserPrincipalName victor -ErrorAction Stop } catch { \"caught: $_\" }",
			outHas: []string{"caught: PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. Give -Credential (Get-Credential), or set GATEHOUSE_PASSWORD."}},
	}
	for _, st := range steps {
		code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, st.src)
		if code != st.code {
			t.Errorf("%s: exit %d; want %d (stdout %q, stderr %q)", st.src, code, st.code, out, errOut)
		}
		if st.outHas == nil && out != st.out {
			t.Errorf("%s:\nstdout %q\nwant   %q", st.src, out, st.out)
		}
		for _, w := range st.outHas {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", st.src, out, w)
			}
		}
		if st.errs == nil && errOut != st.errOut {
			t.Errorf("%s:\nstderr %q\nwant   %q", st.src, errOut, st.errOut)
		}
		for _, w := range st.errs {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", st.src, errOut, w)
			}
		}
	}
}
