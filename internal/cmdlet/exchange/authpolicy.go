package exchange

import (
	"context"
	"fmt"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The authentication policy cmdlets, as Exchange names them: a policy says
// for which protocols basic (password-based) authentication is allowed;
// OAuth is never blocked by one. Get-User shows a user's own policy
// (AuthenticationPolicy).

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
		Name: "Get-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: client.TypeAuthenticationPolicy,
		Synopsis:    "Gets authentication policies: for which protocols basic authentication is allowed.",
		Description: "Lists the authentication policies, or one by name. AllowBasicAuthPop, AllowBasicAuthImap and AllowBasicAuthSmtp say whether a password (PLAIN, LOGIN, SCRAM-SHA-256, USER/PASS) may sign in over that protocol; OAuth is never blocked.",
		Params:      []*cmdlet.Param{authPolicyIdentity(false)},
		Examples:    []cmdlet.Example{{Code: "Get-AuthenticationPolicy | Format-Table Name,AllowBasicAuthPop,AllowBasicAuthImap,AllowBasicAuthSmtp", Remarks: "Lists the policies and what they allow."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				return getOneOrAll(ctx, c, client.AuthenticationPolicies)
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
				req, err := client.Body[wire.NewAuthPolicyBody](body)
				if err != nil {
					return c.WriteError(err.Error())
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				r, err := cl.NewAuthenticationPolicy(ctx, req, c.WhatIf())
				return reportUpdate(c, name, body, r, err)
			}}
		},
	}
}

// sendAuthPolicies sends Set-AuthenticationPolicy changes.
func sendAuthPolicies(ctx context.Context, cl *client.Client, items []pending, whatIf bool) []client.BulkResult {
	out := make([]client.BulkResult, len(items))
	ok, bs := bodies[wire.SetAuthPolicyBody](items, out)
	names := make([]string, len(ok))
	for j, i := range ok {
		names[j] = items[i].identity
	}
	for j, r := range cl.SetAuthenticationPolicies(ctx, names, bs, whatIf) {
		out[ok[j]] = r
	}
	return out
}

func setAuthenticationPolicy() *cmdlet.Cmdlet {
	params := []*cmdlet.Param{authPolicyIdentity(true)}
	names := []string{}
	for _, p := range allowBasicParams {
		params = append(params, &cmdlet.Param{Name: p.name, Type: cmdlet.TSwitch,
			Help: fmt.Sprintf("-%s allows basic authentication for %s; -%s:$false blocks it and closes the open sessions that signed in with a password over it.", p.name, p.proto, p.name)})
		names = append(names, p.name)
	}
	return setCmdlet("Set-AuthenticationPolicy", sendAuthPolicies, names, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes an authentication policy.",
		Description: "Changes which protocols allow basic authentication. Blocking one closes, at once, the open sessions of the policy's users that signed in with a password over that protocol; OAuth sessions stay.",
		Params:      params,
		Examples:    []cmdlet.Example{{Code: "Set-AuthenticationPolicy -Identity \"Allow POP\" -AllowBasicAuthPop:$false", Remarks: "Blocks passwords over POP3 for the policy's users."}},
	})
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
				cl, err := confirmedREST(c, id, "Remove-AuthenticationPolicy")
				if cl == nil {
					return err
				}
				r, err := cl.RemoveAuthenticationPolicy(ctx, id, c.WhatIf())
				return reportUpdate(c, id, nil, r, err)
			}}
		},
	}
}

// nullAsEmpty sets *p to "" when the parameter name was bound to $null:
// Exchange's $null for a policy means "none", which the API writes "".
func nullAsEmpty(params *cmdlet.Object, name string, p **string) {
	if *p != nil || params == nil {
		return
	}
	for _, n := range params.Names() {
		if n == name {
			empty := ""
			*p = &empty
		}
	}
}

// sendUsers sends Set-User changes.
func sendUsers(ctx context.Context, cl *client.Client, items []pending, whatIf bool) []client.BulkResult {
	out := make([]client.BulkResult, len(items))
	ok, bs := bodies[wire.SetUserBody](items, out)
	ids := make([]string, len(ok))
	for j, i := range ok {
		ids[j] = items[i].identity
		nullAsEmpty(items[i].params, "AuthenticationPolicy", &bs[j].AuthenticationPolicy)
	}
	for j, r := range cl.SetUsers(ctx, ids, bs, whatIf) {
		out[ok[j]] = r
	}
	return out
}

func setUser() *cmdlet.Cmdlet {
	return setCmdlet("Set-User", sendUsers, []string{"AuthenticationPolicy"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes a user: its authentication policy.",
		Description: "-AuthenticationPolicy assigns an authentication policy to the user; $null removes it, so that the organization's default (Set-OrganizationConfig -DefaultAuthenticationPolicy) applies. Open sessions that the new policy blocks are closed.",
		Params: []*cmdlet.Param{
			identityParam("UserIdParameter", mailboxIdentityHelp, true),
			{Name: "AuthenticationPolicy", Type: cmdlet.TString, TypeName: "AuthPolicyIdParameter", Help: "The policy's name; $null for none."},
		},
		Examples: []cmdlet.Example{{Code: "Set-User -Identity christa -AuthenticationPolicy \"Block Basic Auth\"", Remarks: "Christa may sign in to POP3 and IMAP4 with OAuth only."}},
	})
}

// userPolicy adds the user's own authentication policy (GET
// /api/v1/users/{identity}) to a Get-User object; when it cannot be
// read, the object goes on without it and the error is written.
func userPolicy(ctx context.Context, c *cmdlet.Call, cl *client.Client, u *cmdlet.Object, identity string, failed *error) *cmdlet.Object {
	w, err := cl.GetUser(ctx, identity)
	if err != nil {
		u.Set("AuthenticationPolicy", nil)
		if werr := c.WriteError(cmdlet.APIMessage(err)); werr != nil && *failed == nil {
			*failed = werr
		}
		return u
	}
	if w.AuthenticationPolicy == "" {
		u.Set("AuthenticationPolicy", nil)
	} else {
		u.Set("AuthenticationPolicy", w.AuthenticationPolicy)
	}
	return u
}
