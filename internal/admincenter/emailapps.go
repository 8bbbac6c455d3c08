package admincenter

import (
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// emailAppsSaved is what the newer Exchange admin center says after this
// panel's Save.
const emailAppsSaved = "Email app settings updated successfully"

type emailAppsData struct {
	Mailbox   service.CASMailbox
	Hidden    []hiddenField
	BackURL   string
	CloseURL  string
	CanChange bool
	Deny      string
	// Blocked: security defaults block both protocols whatever these say.
	Blocked bool
}

// emailAppsPage is "Manage settings for email apps", the panel the newer
// Exchange admin center opens from a mailbox's General tab: one switch per
// protocol and a Save button.
func (c *Center) emailAppsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "Manage email apps settings works on one mailbox.")
	if err != nil {
		return err
	}
	l := listStateFrom(q)
	d := emailAppsData{Mailbox: m, Hidden: l.hidden(), BackURL: withQuery(editPath, l.values(), m.Guid),
		CloseURL: l.url(m.Guid), CanChange: s.caller.Can(rbac.MailRecipients),
		Blocked: m.BlockedBySecurityDefaults()}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.MailRecipients))
	}
	page := c.newPage(w, r, s, "Manage settings for email apps - "+m.DisplayName, "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "emailapps", page)
	return nil
}

// emailAppsSave sends both switches to the service, which changes what
// differs; when nothing does, the panel shows Exchange's warning instead of
// the success message.
func (c *Center) emailAppsSave(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	ids := selection(f)
	if len(ids) != 1 {
		return userError(http.StatusBadRequest, "Select one mailbox", "The form didn't say which mailbox to change.")
	}
	pop, imap := f.Get("pop") == "on", f.Get("imap") == "on"
	res, err := c.svc.SetCASMailbox(r.Context(), s.caller, service.SetCASMailboxRequest{Identity: ids[0], PopEnabled: &pop, ImapEnabled: &imap})
	if err != nil {
		return err
	}
	fl := &flash{Kind: "success", Text: emailAppsSaved}
	if res.NoChange {
		fl = &flash{Kind: "warning", Text: res.Warning()}
	} else if line := sessionsLine(res.Sessions); line != "" {
		fl.Lines = []string{line}
	}
	return c.redirect(w, r, withQuery(emailAppsPath, listStateFrom(f).values(), ids[0]), fl)
}
