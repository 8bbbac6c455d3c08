package exchange

import (
	"context"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The app password cmdlets. Exchange has none (Microsoft manages app
// passwords in the user's security info); the names follow Exchange's
// verbs: New-AppPassword -Identity christa -Name Phone,
// Get-AppPassword -Identity christa, Remove-AppPassword -Identity christa
// -Name Phone (or -Identity "christa\Phone", as Get-AppPassword names
// them, so that its output pipes into Remove-AppPassword).

const appPasswordNameHelp = "The app password's name (unique within the mailbox, at most 64 characters), e.g. the device or program that uses it."

func getAppPassword() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-AppPassword", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: client.TypeAppPassword,
		Synopsis:    "Gets a mailbox's app passwords, with their last use; never their secrets.",
		Description: "Lists the app passwords of a mailbox by name: Identity (mailbox\\name), Name, WhenCreated, LastUsed, LastUsedProtocol and LastUsedAddress (empty while never used). The secret of an app password is shown once, by New-AppPassword, and kept nowhere.",
		Params:      []*cmdlet.Param{identityParam("MailboxIdParameter", mailboxIdentityHelp, true)},
		Examples:    []cmdlet.Example{{Code: "Get-AppPassword -Identity christa | Format-Table Name,WhenCreated,LastUsed,LastUsedProtocol", Remarks: "Christa's app passwords and when each was last used."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				ps, err := cl.GetAppPasswords(ctx, c.String("Identity"))
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				for _, p := range ps {
					if err := c.Emit(client.Object(client.TypeAppPassword, p)); err != nil {
						return err
					}
				}
				return nil
			}}
		},
	}
}

func newAppPassword() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "New-AppPassword", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: client.TypeAppPassword,
		Synopsis: "Makes an app password for a mailbox and shows it, once.",
		Description: "Makes a random app password (28 lowercase letters) for a client of the mailbox that cannot sign in with OAuth. It signs in wherever the mailbox's password does (IMAP4, POP3 and authenticated SMTP with PLAIN or LOGIN, IMAP4 LOGIN, POP3 USER/PASS), under the same access rules and authentication policy; not with SCRAM-SHA-256. " +
			"The Password property is the only time it is shown: the server keeps only its hash. Resetting the mailbox's password revokes every app password. A mailbox has at most 40.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, true),
			{Name: "Name", Type: cmdlet.TString, Position: 2, Mandatory: true, Help: appPasswordNameHelp},
		},
		Examples: []cmdlet.Example{{Code: "New-AppPassword -Identity christa -Name \"Phone\"", Remarks: "Makes Christa an app password for her phone and shows it."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id, name := c.String("Identity"), c.String("Name")
				cl, err := confirmedREST(c, id, "New-AppPassword "+name)
				if cl == nil {
					return err
				}
				r, err := cl.NewAppPassword(ctx, id, wire.NewAppPasswordBody{Name: name}, c.WhatIf())
				if err != nil || c.WhatIf() {
					return reportUpdate(c, id, nil, r.Result, err)
				}
				o := client.Object(client.TypeAppPassword, r.AppPassword)
				o.Set("Password", r.Password)
				if err := c.Emit(o); err != nil {
					return err
				}
				c.Session().WriteHost("Copy the password now: it is shown only this once.")
				return nil
			}}
		},
	}
}

func removeAppPassword() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-AppPassword", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Revokes an app password and closes the sessions that signed in with it.",
		Description: "Revokes one app password of a mailbox: it signs in no more, and the open IMAP4, POP3 and SMTP sessions that signed in with it are closed at once, on every node. -Identity takes the mailbox (with -Name) or mailbox\\name as Get-AppPassword shows it, so its output can be piped in.",
		Params: []*cmdlet.Param{
			identityParam("AppPasswordIdParameter", "The mailbox (with -Name), or the app password as mailbox\\name. App passwords piped in from Get-AppPassword bind here.", true),
			{Name: "Name", Type: cmdlet.TString, Position: 2, Help: appPasswordNameHelp},
		},
		Examples: []cmdlet.Example{
			{Code: "Remove-AppPassword -Identity christa -Name Phone -Confirm:$false", Remarks: "Revokes Christa's app password Phone."},
			{Code: "Get-AppPassword christa | Where-Object { -not $_.LastUsed } | Remove-AppPassword -Confirm:$false", Remarks: "Revokes Christa's app passwords that were never used."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id, name := c.String("Identity"), c.String("Name")
				if i := strings.LastIndex(id, `\`); name == "" && i > 0 {
					id, name = id[:i], id[i+1:]
				}
				if name == "" {
					return c.WriteError("Remove-AppPassword: give -Name, or -Identity as mailbox\\name.")
				}
				cl, err := confirmedREST(c, id+`\`+name, "Remove-AppPassword")
				if cl == nil {
					return err
				}
				r, err := cl.RemoveAppPassword(ctx, id, name, c.WhatIf())
				return reportUpdate(c, id, nil, r, err)
			}}
		},
	}
}
