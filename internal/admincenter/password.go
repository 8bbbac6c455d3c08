package admincenter

import (
	"fmt"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type passwordData struct {
	Mailbox  service.CASMailbox
	Hidden   []hiddenField
	Cancel   string
	CanReset bool
	Deny     string
}

func (c *Center) passwordForm(w http.ResponseWriter, r *http.Request, s *session, status int, m service.CASMailbox, l listState, p *problem) {
	d := passwordData{Mailbox: m, Hidden: l.hidden(), Cancel: l.url(m.Guid), CanReset: s.caller.Can(rbac.ResetPassword)}
	if !d.CanReset {
		d.Deny = denyReason(&s.caller, string(rbac.ResetPassword))
	}
	page := c.newPage(w, r, s, "Reset password - "+m.DisplayName, "recipients", "mailboxes")
	page.Problem = p
	page.Data = d
	c.render(w, r, status, "password", page)
}

// passwordPage is Reset password: a new password typed twice.
func (c *Center) passwordPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "Reset password works on one mailbox. Select it in the list first.")
	if err != nil {
		return err
	}
	c.passwordForm(w, r, s, http.StatusOK, m, listStateFrom(q), nil)
	return nil
}

// resetPassword sets the password through the service (Set-Mailbox
// -Password, which the Help Desk may do); the mailbox's cached credentials
// and admin sessions end with it.
func (c *Center) resetPassword(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	l := listStateFrom(f)
	m, err := c.oneMailbox(r, s, f, "The form didn't say which mailbox to change.")
	if err != nil {
		return err
	}
	password := f.Get("password")
	if password != f.Get("confirm") {
		p := problem{Status: http.StatusBadRequest, Title: "Check the values", Message: "The passwords don't match. Type the same password twice."}
		c.passwordForm(w, r, s, p.Status, m, l, &p)
		return nil
	}
	res, err := c.svc.SetMailbox(r.Context(), s.caller, m.Guid, service.SetMailboxRequest{Password: &password})
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		c.passwordForm(w, r, s, p.Status, m, l, &p)
		return nil
	}
	done := &flash{Kind: "success", Text: fmt.Sprintf("The password of %s was reset.", m.DisplayName)}
	if line := sessionsLine(res.Sessions); line != "" {
		done.Lines = append(done.Lines, line)
	}
	return c.redirect(w, r, l.url(m.Guid), done)
}
