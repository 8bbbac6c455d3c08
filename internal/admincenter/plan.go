package admincenter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type planData struct {
	Plan      service.CASMailboxPlan
	CanChange bool
	Deny      string
}

// planPage is Organization > CAS mailbox plan: whether new mailboxes start
// with POP3 and IMAP4 enabled.
func (c *Center) planPage(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := c.svc.GetCASMailboxPlan(r.Context(), s.caller)
	if err != nil {
		return err
	}
	d := planData{Plan: p, CanChange: s.caller.Can(rbac.OrganizationClientAccess)}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.OrganizationClientAccess))
	}
	page := c.newPage(w, r, s, "CAS mailbox plan", "organization", "mailbox-plan")
	page.Data = d
	c.render(w, r, http.StatusOK, "plan", page)
	return nil
}

// setPlan saves the plan through the service (Set-CASMailboxPlan); existing
// mailboxes keep their settings, as in Exchange.
func (c *Center) setPlan(w http.ResponseWriter, r *http.Request, s *session) error {
	pop, imap := r.PostForm.Get("pop") == "on", r.PostForm.Get("imap") == "on"
	res, err := c.svc.SetCASMailboxPlan(r.Context(), s.caller, service.SetCASMailboxPlanRequest{PopEnabled: &pop, ImapEnabled: &imap})
	if err != nil {
		return err
	}
	if res.NoChange {
		return c.redirect(w, r, planPath, &flash{Kind: "warning", Text: res.Warning()})
	}
	var parts []string
	for _, ch := range res.Changes {
		parts = append(parts, protocolLabel(ch.Name)+" "+enabledWord(ch.NewValue))
	}
	return c.redirect(w, r, planPath, &flash{Kind: "success",
		Text: fmt.Sprintf("Saved the CAS mailbox plan: new mailboxes start with %s. Existing mailboxes keep their settings.", strings.Join(parts, " and "))})
}
