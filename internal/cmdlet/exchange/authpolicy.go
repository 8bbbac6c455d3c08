package exchange

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The authentication policy cmdlets, as Exchange names them: a policy says
// for which protocols basic (password-based) authentication is allowed;
// OAuth is never blocked by one.

const authPolicyIdentityHelp = "The authentication policy: its Name."

func authPolicyIdentity(mandatory bool) *cmdlet.Param {
	return &cmdlet.Param{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: mandatory, TypeName: "AuthPolicyIdParameter",
		FromPipeline: true, FromPipelineByName: true, Help: authPolicyIdentityHelp}
}

var allowBasicParams = []struct{ name, proto string }{
	{"AllowBasicAuthPop", "POP3"}, {"AllowBasicAuthImap", "IMAP4"}, {"AllowBasicAuthSmtp", "authenticated SMTP (submission)"},
}

func getAuthenticationPolicy() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.AuthenticationPolicy",
		Synopsis:    "Gets authentication policies: for which protocols basic authentication is allowed.",
		Description: "Lists the authentication policies, or one by name. AllowBasicAuthPop, AllowBasicAuthImap and AllowBasicAuthSmtp say whether a password (PLAIN, LOGIN, SCRAM-SHA-256, USER/PASS) may sign in over that protocol; OAuth is never blocked.",
		Params:      []*cmdlet.Param{authPolicyIdentity(false)},
		Examples:    []cmdlet.Example{{Code: "Get-AuthenticationPolicy | Format-Table Name,AllowBasicAuthPop,AllowBasicAuthImap,AllowBasicAuthSmtp", Remarks: "Lists the policies and what they allow."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				if id := c.String("Identity"); id != "" {
					o, err := c.Session().API().Get(ctx, "authenticationpolicies/"+escapeSegment(id), nil)
					if err != nil {
						return c.WriteError(cmdlet.APIMessage(err))
					}
					return c.Emit(o)
				}
				return listAll(ctx, c, "authenticationpolicies", nil, cmdlet.Unlimited)
			}}
		},
	}
}

func newAuthenticationPolicy() *cmdlet.Cmdlet {
	params := []*cmdlet.Param{{Name: "Name", Type: cmdlet.TString, Position: 1, Mandatory: true, Help: "The new policy's name (unique, at most 64 characters)."}}
	for _, p := range allowBasicParams {
		params = append(params, &cmdlet.Param{Name: p.name, Type: cmdlet.TSwitch,
			Help: fmt.Sprintf("Allows basic authentication for %s. Left out, it is blocked (as in Exchange).", p.proto)})
	}
	return &cmdlet.Cmdlet{
		Name: "New-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis:    "Creates an authentication policy.",
		Description: "Creates a policy that blocks basic authentication for every protocol whose -AllowBasicAuth* switch is not given, as Exchange's does. Assign it with Set-User -AuthenticationPolicy or make it the default with Set-OrganizationConfig -DefaultAuthenticationPolicy.",
		Params:      params,
		Examples: []cmdlet.Example{
			{Code: "New-AuthenticationPolicy -Name \"Block Basic Auth\"", Remarks: "Blocks basic authentication for POP3, IMAP4 and SMTP."},
			{Code: "New-AuthenticationPolicy -Name \"Allow POP\" -AllowBasicAuthPop", Remarks: "Allows passwords over POP3 only."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				name := c.String("Name")
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(name, "New-AuthenticationPolicy")
					if err != nil || !ok {
						return err
					}
				}
				body := cmdlet.NewObject("")
				body.Set("Name", name)
				for _, p := range allowBasicParams {
					body.Set(p.name, c.Switch(p.name))
				}
				var q url.Values
				if c.WhatIf() {
					q = url.Values{"whatIf": {"true"}}
				}
				resp, err := c.Session().API().Create(ctx, "authenticationpolicies", q, body)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, name, body, *client.DecodeUpdate(resp), nil)
			}}
		},
	}
}

func setAuthenticationPolicy() *cmdlet.Cmdlet {
	params := []*cmdlet.Param{authPolicyIdentity(true)}
	names := []string{}
	for _, p := range allowBasicParams {
		params = append(params, &cmdlet.Param{Name: p.name, Type: cmdlet.TSwitch,
			Help: fmt.Sprintf("-%s allows basic authentication for %s; -%s:$false blocks it and closes the open sessions that signed in with a password over it.", p.name, p.proto, p.name)})
		names = append(names, p.name)
	}
	return &cmdlet.Cmdlet{
		Name: "Set-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis:    "Changes an authentication policy.",
		Description: "Changes which protocols allow basic authentication. Blocking one closes, at once, the open sessions of the policy's users that signed in with a password over that protocol; OAuth sessions stay.",
		Params:      params,
		Examples:    []cmdlet.Example{{Code: "Set-AuthenticationPolicy -Identity \"Allow POP\" -AllowBasicAuthPop:$false", Remarks: "Blocks passwords over POP3 for the policy's users."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				ch := changes(c, names...)
				if len(ch.Names()) == 0 {
					return c.WriteWarning(fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", id))
				}
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Set-AuthenticationPolicy")
					if err != nil || !ok {
						return err
					}
				}
				r, err := c.Session().API().Update(ctx, "authenticationpolicies/"+escapeSegment(id), ch, c.WhatIf())
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, id, ch, *r, nil)
			}}
		},
	}
}

func removeAuthenticationPolicy() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Removes an authentication policy.",
		Description: "Removes a policy that no user has and that is not the organization's default; the error says where a policy is still used.",
		Params:      []*cmdlet.Param{authPolicyIdentity(true)},
		Examples:    []cmdlet.Example{{Code: "Remove-AuthenticationPolicy -Identity \"Allow POP\" -Confirm:$false", Remarks: "Removes the policy without asking."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Remove-AuthenticationPolicy")
					if err != nil || !ok {
						return err
					}
				}
				r, err := c.Session().API().Delete(ctx, "authenticationpolicies/"+escapeSegment(id), c.WhatIf())
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, id, nil, *r, nil)
			}}
		},
	}
}

func setUser() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Set-User", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis:    "Changes a user: its authentication policy.",
		Description: "-AuthenticationPolicy assigns an authentication policy to the user; $null removes it, so that the organization's default (Set-OrganizationConfig -DefaultAuthenticationPolicy) applies. Open sessions that the new policy blocks are closed.",
		Params: []*cmdlet.Param{
			identityParam("UserIdParameter", mailboxIdentityHelp, true),
			{Name: "AuthenticationPolicy", Type: cmdlet.TString, TypeName: "AuthPolicyIdParameter", Help: "The policy's name; $null for none."},
		},
		Examples: []cmdlet.Example{{Code: "Set-User -Identity christa -AuthenticationPolicy \"Block Basic Auth\"", Remarks: "Christa may sign in to POP3 and IMAP4 with OAuth only."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if !c.Has("AuthenticationPolicy") {
					return c.WriteWarning(fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", id))
				}
				ch := cmdlet.NewObject("")
				ch.Set("AuthenticationPolicy", c.String("AuthenticationPolicy")) // $null: ""
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Set-User")
					if err != nil || !ok {
						return err
					}
				}
				r, err := c.Session().API().Update(ctx, "users/"+escapeSegment(id), ch, c.WhatIf())
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, id, ch, *r, nil)
			}}
		},
	}
}
