package exchange

import (
	"context"
	"fmt"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The cmdlets of authentication policies: Get-, New-, Set- and
// Remove-AuthenticationPolicy, Set-User -AuthenticationPolicy (and the
// AuthenticationPolicy that Get-User shows), as in Exchange Online.

// authPolicySwitches are the protocols a policy allows basic
// authentication for, in the order Exchange lists them.
var authPolicySwitches = []string{"AllowBasicAuthPop", "AllowBasicAuthImap", "AllowBasicAuthSmtp"}

func authPolicySwitchParams(set bool) []*cmdlet.Param {
	verb := "Allows"
	if set {
		verb = "-Switch allows, -Switch:$false blocks"
	}
	return []*cmdlet.Param{
		{Name: "AllowBasicAuthPop", Type: cmdlet.TSwitch, Help: verb + " basic (password) authentication for POP3."},
		{Name: "AllowBasicAuthImap", Type: cmdlet.TSwitch, Help: verb + " basic (password) authentication for IMAP4."},
		{Name: "AllowBasicAuthSmtp", Type: cmdlet.TSwitch, Help: verb + " basic (password) authentication for authenticated SMTP."},
	}
}

func authPolicyIdentity(mandatory bool) *cmdlet.Param {
	return &cmdlet.Param{Name: "Identity", Type: cmdlet.TIdentity, TypeName: "AuthPolicyIdParameter", Position: 1, Mandatory: mandatory,
		FromPipeline: true, FromPipelineByName: true, Help: "The authentication policy, by its name. Policies piped from Get-AuthenticationPolicy bind here."}
}

func getAuthenticationPolicy() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: client.TypeAuthenticationPolicy,
		Synopsis:    "Gets the authentication policies: for which protocols basic authentication is allowed.",
		Description: "Lists the authentication policies, or one by -Identity. A policy applies to the users it is assigned to (Set-User -AuthenticationPolicy), and to everyone else when it is the organization's default (Set-OrganizationConfig -DefaultAuthenticationPolicy).",
		Params:      []*cmdlet.Param{authPolicyIdentity(false)},
		Examples:    []cmdlet.Example{{Code: "Get-AuthenticationPolicy | Format-Table Name,AllowBasicAuth*", Remarks: "Which protocols each policy allows basic authentication for."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				if id := c.String("Identity"); id != "" {
					cl, err := rest(c)
					if err != nil {
						return err
					}
					p, err := client.Get(ctx, cl, client.AuthenticationPolicies, id)
					if err != nil {
						return c.WriteError(cmdlet.APIMessage(err))
					}
					return c.Emit(client.Object(client.TypeAuthenticationPolicy, p))
				}
				return listAll(ctx, c, client.AuthenticationPolicies, cmdlet.Unlimited)
			}}
		},
	}
}

func newAuthenticationPolicy() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "New-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: client.TypeAuthenticationPolicy,
		Synopsis:    "Creates an authentication policy.",
		Description: "Creates a policy that blocks basic (password) authentication for every protocol it does not allow with -AllowBasicAuthPop, -AllowBasicAuthImap or -AllowBasicAuthSmtp; sign-in with OAuth is not affected.",
		Params: append([]*cmdlet.Param{
			{Name: "Name", Type: cmdlet.TString, Position: 1, Mandatory: true, Help: "The unique name of the policy."},
		}, authPolicySwitchParams(false)...),
		Examples: []cmdlet.Example{{Code: "New-AuthenticationPolicy -Name \"Block Basic Auth\"", Remarks: "A policy that blocks basic authentication for POP3, IMAP4 and SMTP."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				name := c.String("Name")
				body := changes(c, append([]string{"Name"}, authPolicySwitches...)...)
				req, err := client.Body[wire.NewAuthPolicyBody](body)
				if err != nil {
					return c.WriteError(err.Error())
				}
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(name, "New-AuthenticationPolicy")
					if err != nil || !ok {
						return err
					}
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				r, err := cl.NewAuthenticationPolicy(ctx, req, c.WhatIf())
				if err != nil || c.WhatIf() {
					return reportUpdate(c, name, body, r, err)
				}
				id := r.Identity
				if id == "" {
					id = name
				}
				p, err := client.Get(ctx, cl, client.AuthenticationPolicies, id)
				if err != nil {
					return c.WriteError(fmt.Sprintf("The policy '%s' was created, but reading it back failed: %s", id, cmdlet.APIMessage(err)))
				}
				return c.Emit(client.Object(client.TypeAuthenticationPolicy, p))
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
	return setCmdlet("Set-AuthenticationPolicy", sendAuthPolicies, authPolicySwitches, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes an authentication policy.",
		Description: "Allows (-AllowBasicAuthImap) or blocks (-AllowBasicAuthImap:$false) basic authentication per protocol. Open sessions that signed in with a password the policy now blocks are closed.",
		Params:      append([]*cmdlet.Param{authPolicyIdentity(true)}, authPolicySwitchParams(true)...),
		Examples:    []cmdlet.Example{{Code: "Set-AuthenticationPolicy -Identity \"Block Basic Auth\" -AllowBasicAuthPop:$false", Remarks: "Blocks basic authentication for POP3 under this policy."}},
	})
}

func removeAuthenticationPolicy() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-AuthenticationPolicy", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Removes an authentication policy.",
		Description: "Removes a policy that no user has and that is not the organization's default. In an interactive shell it asks first, unless -Confirm:$false.",
		Params:      []*cmdlet.Param{authPolicyIdentity(true)},
		Examples:    []cmdlet.Example{{Code: "Remove-AuthenticationPolicy -Identity \"Block Basic Auth\" -Confirm:$false", Remarks: "Removes the policy without asking."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Remove-AuthenticationPolicy")
					if err != nil || !ok {
						return err
					}
				}
				cl, err := rest(c)
				if err != nil {
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
		Synopsis:    "Changes the user of a mailbox: its authentication policy.",
		Description: "-AuthenticationPolicy assigns an authentication policy to the user; $null removes it, and the organization's default policy applies again. Open sessions that signed in with a password the new policy blocks are closed.",
		Params: []*cmdlet.Param{
			identityParam("UserIdParameter", mailboxIdentityHelp, true),
			{Name: "AuthenticationPolicy", Type: cmdlet.TString, Help: "The authentication policy of the user, by name; $null for none (the organization's default applies)."},
		},
		Examples: []cmdlet.Example{
			{Code: "Set-User -Identity christa -AuthenticationPolicy \"Block Basic Auth\"", Remarks: "Christa may no longer sign in with a password where the policy blocks it."},
			{Code: "Get-User -ResultSize Unlimited | Set-User -AuthenticationPolicy $null", Remarks: "Everyone falls back to the organization's default policy."},
		},
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
