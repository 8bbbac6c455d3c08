package admincenter

import (
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type securityDefaultsData struct {
	Org       service.OrganizationConfig
	CanChange bool
	Deny      string
	// Confirmation page only.
	Enable   bool
	Sessions int
	ByProto  string
	Cancel   string
}

// securityDefaults is Organization > Security defaults: whether POP3 and
// IMAP4 are blocked for everyone, with a switch that asks for confirmation.
func (c *Center) securityDefaults(w http.ResponseWriter, r *http.Request, s *session) error {
	org, err := c.svc.GetOrganizationConfig(r.Context(), s.caller)
	if err != nil {
		return err
	}
	d := securityDefaultsData{Org: org, CanChange: s.caller.Can(rbac.OrganizationClientAccess)}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.OrganizationClientAccess))
	}
	page := c.newPage(w, r, s, "Security defaults", "organization", "security-defaults")
	page.Data = d
	c.render(w, r, http.StatusOK, "securitydefaults", page)
	return nil
}

// securityDefaultsConfirm says what turning security defaults on or off
// does, and how many open sessions it will close right now (the service's
// WhatIf), before OK applies it.
func (c *Center) securityDefaultsConfirm(w http.ResponseWriter, r *http.Request, s *session) error {
	enable := boolParam(r.URL.Query().Get("enable"), true)
	org, err := c.svc.GetOrganizationConfig(r.Context(), s.caller)
	if err != nil {
		return err
	}
	res, err := c.svc.SetOrganizationConfig(r.Context(), s.caller, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: &enable, WhatIf: true})
	if err != nil {
		return err
	}
	if res.NoChange {
		return c.redirect(w, r, securityDefaultsPath, &flash{Kind: "warning", Text: res.Warning()})
	}
	d := securityDefaultsData{Org: org, CanChange: true, Enable: enable, Sessions: len(res.Sessions),
		ByProto: sessionsByProtocol(res.Sessions), Cancel: securityDefaultsPath}
	title := "Turn off security defaults"
	if enable {
		title = "Turn on security defaults"
	}
	page := c.newPage(w, r, s, title, "organization", "security-defaults")
	page.Data = d
	c.render(w, r, http.StatusOK, "securitydefaultsconfirm", page)
	return nil
}

// setSecurityDefaults applies the confirmed switch through the service.
func (c *Center) setSecurityDefaults(w http.ResponseWriter, r *http.Request, s *session) error {
	enable := boolParam(r.PostForm.Get("enable"), false)
	res, err := c.svc.SetOrganizationConfig(r.Context(), s.caller, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: &enable})
	if err != nil {
		return err
	}
	if res.NoChange {
		return c.redirect(w, r, securityDefaultsPath, &flash{Kind: "warning", Text: res.Warning()})
	}
	fl := &flash{Kind: "success", Text: "Security defaults are off. POP3 and IMAP4 follow each mailbox's own setting again."}
	if enable {
		fl.Text = "Security defaults are on. POP3 and IMAP4 are blocked for every mailbox."
		if line := sessionsLine(res.Sessions); line != "" {
			fl.Lines = []string{line}
		} else {
			fl.Lines = []string{"No open sessions had to be closed."}
		}
	}
	return c.redirect(w, r, securityDefaultsPath, fl)
}
