package admincenter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// authPoliciesPath is Organization > Authentication policies.
const authPoliciesPath = Base + "/organization/authentication-policies"

type authPoliciesData struct {
	Policies  []service.AuthenticationPolicy
	Org       service.OrganizationConfig
	Transport service.TransportConfig
	CanChange bool
	Deny      string
}

// authPoliciesPage is Organization > Authentication policies: the
// policies (which protocols allow basic authentication), New, Save and
// Delete for each, the organization's default policy, and the
// organization-wide switch of authenticated SMTP (Set-TransportConfig
// -SmtpClientAuthenticationDisabled).
func (c *Center) authPoliciesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ps, err := c.svc.GetAuthenticationPolicies(r.Context(), s.caller, "")
	if err != nil {
		return err
	}
	org, err := c.svc.GetOrganizationConfig(r.Context(), s.caller)
	if err != nil {
		return err
	}
	tc, err := c.svc.GetTransportConfig(r.Context(), s.caller)
	if err != nil {
		return err
	}
	d := authPoliciesData{Policies: ps, Org: org, Transport: tc, CanChange: s.caller.Can(rbac.OrganizationClientAccess)}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.OrganizationClientAccess))
	}
	page := c.newPage(w, r, s, "Authentication policies", "organization", "authentication-policies")
	page.Data = d
	c.render(w, r, http.StatusOK, "authpolicies", page)
	return nil
}

// policyDone redirects to the page with the outcome of a change: a refusal
// of the values (a taken name, a policy still in use) as an error flash,
// so that the page shows it beside the forms.
func (c *Center) policyDone(w http.ResponseWriter, r *http.Request, res service.Result, err error, success string) error {
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		return c.redirect(w, r, authPoliciesPath, &flash{Kind: "error", Text: p.Message})
	}
	if res.NoChange {
		return c.redirect(w, r, authPoliciesPath, &flash{Kind: "warning", Text: res.Warning()})
	}
	done := &flash{Kind: "success", Text: success}
	for _, ch := range res.Changes {
		done.Lines = append(done.Lines, fmt.Sprintf("%s: %s", ch.Name, orDash(ch.NewValue)))
	}
	if line := sessionsLine(res.Sessions); line != "" {
		done.Lines = append(done.Lines, line)
	}
	return c.redirect(w, r, authPoliciesPath, done)
}

func orDash(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// newAuthPolicy is New (New-AuthenticationPolicy): a switch left off
// blocks basic authentication for its protocol, as in Exchange.
func (c *Center) newAuthPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	res, err := c.svc.NewAuthenticationPolicy(r.Context(), s.caller, service.NewAuthenticationPolicyRequest{Name: name,
		AllowBasicAuthPop: f.Get("pop") == "on", AllowBasicAuthImap: f.Get("imap") == "on", AllowBasicAuthSmtp: f.Get("smtp") == "on"})
	return c.policyDone(w, r, res, err, fmt.Sprintf("The authentication policy %s was created.", name))
}

// setAuthPolicy is Save of one policy (Set-AuthenticationPolicy); blocking
// a protocol closes the password sessions of the policy's users over it.
func (c *Center) setAuthPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	pop, imap, smtp := f.Get("pop") == "on", f.Get("imap") == "on", f.Get("smtp") == "on"
	name := f.Get("name")
	res, err := c.svc.SetAuthenticationPolicy(r.Context(), s.caller, name, service.SetAuthenticationPolicyRequest{
		AllowBasicAuthPop: &pop, AllowBasicAuthImap: &imap, AllowBasicAuthSmtp: &smtp})
	return c.policyDone(w, r, res, err, fmt.Sprintf("The authentication policy %s was saved.", name))
}

// removeAuthPolicy is Delete (Remove-AuthenticationPolicy); a policy in use
// is refused with where it is used.
func (c *Center) removeAuthPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PostForm.Get("name")
	res, err := c.svc.RemoveAuthenticationPolicy(r.Context(), s.caller, name, false)
	return c.policyDone(w, r, res, err, fmt.Sprintf("The authentication policy %s was deleted.", name))
}

// setDefaultAuthPolicy is Save of the organization's default
// (Set-OrganizationConfig -DefaultAuthenticationPolicy; "" for none).
func (c *Center) setDefaultAuthPolicy(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PostForm.Get("policy")
	res, err := c.svc.SetOrganizationConfig(r.Context(), s.caller, service.SetOrganizationConfigRequest{DefaultAuthenticationPolicy: &name})
	return c.policyDone(w, r, res, err, "The organization's default authentication policy was saved.")
}

// setTransport is Save of authenticated SMTP for the organization
// (Set-TransportConfig -SmtpClientAuthenticationDisabled): mailboxes whose
// own setting is "follow the organization" follow it, and their open
// submission sessions are closed when it turns off.
func (c *Center) setTransport(w http.ResponseWriter, r *http.Request, s *session) error {
	disabled := r.PostForm.Get("smtp") != "on"
	res, err := c.svc.SetTransportConfig(r.Context(), s.caller, service.SetTransportConfigRequest{SmtpClientAuthenticationDisabled: &disabled})
	return c.policyDone(w, r, res, err, "Authenticated SMTP for the organization was saved.")
}
