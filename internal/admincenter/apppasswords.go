package admincenter

import (
	"fmt"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type appPasswordsData struct {
	Mailbox      service.CASMailbox
	AppPasswords []service.AppPassword
	Hidden       []hiddenField
	Cancel       string
	CanChange    bool
	Deny         string
	// Created is the app password just made, and Secret its secret: shown
	// on this one answer (which no cache keeps), never again.
	Created *service.AppPassword
	Secret  string
	// Name is the name typed in the create form (kept when it was refused).
	Name string
}

// appPasswordsForm renders the mailbox's App passwords dialog.
func (c *Center) appPasswordsForm(w http.ResponseWriter, r *http.Request, s *session, status int, m service.CASMailbox, l listState, d appPasswordsData, p *problem) error {
	ps, err := c.svc.GetAppPasswords(r.Context(), s.caller, m.Guid)
	if err != nil {
		return err
	}
	d.Mailbox, d.AppPasswords, d.Hidden, d.Cancel = m, ps, l.hidden(), l.url(m.Guid)
	d.CanChange = s.caller.Can(rbac.ResetPassword)
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.ResetPassword))
	}
	page := c.newPage(w, r, s, "App passwords - "+m.DisplayName, "recipients", "mailboxes")
	page.Problem = p
	page.Data = d
	c.render(w, r, status, "apppasswords", page)
	return nil
}

// appPasswordsPage is a mailbox's App passwords: the list with their last
// use, Revoke for each, and Create.
func (c *Center) appPasswordsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "App passwords work on one mailbox. Select it in the list first.")
	if err != nil {
		return err
	}
	return c.appPasswordsForm(w, r, s, http.StatusOK, m, listStateFrom(q), appPasswordsData{}, nil)
}

// newAppPassword is Create (New-AppPassword): the answer shows the secret
// once, and is not a redirect, so that the secret travels in no URL and no
// flash cookie.
func (c *Center) newAppPassword(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	l := listStateFrom(f)
	m, err := c.oneMailbox(r, s, f, "The form didn't say which mailbox to change.")
	if err != nil {
		return err
	}
	name := f.Get("name")
	res, err := c.svc.NewAppPassword(r.Context(), s.caller, m.Guid, name, false)
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		return c.appPasswordsForm(w, r, s, p.Status, m, l, appPasswordsData{Name: name}, &p)
	}
	w.Header().Set("Cache-Control", "no-store")
	return c.appPasswordsForm(w, r, s, http.StatusOK, m, l, appPasswordsData{Created: &res.AppPassword, Secret: res.Password}, nil)
}

// revokeAppPassword is Revoke (Remove-AppPassword): the sessions that
// signed in with it are closed.
func (c *Center) revokeAppPassword(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	l := listStateFrom(f)
	m, err := c.oneMailbox(r, s, f, "The form didn't say which mailbox to change.")
	if err != nil {
		return err
	}
	name := f.Get("name")
	res, err := c.svc.RemoveAppPassword(r.Context(), s.caller, m.Guid, name, false)
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		return c.appPasswordsForm(w, r, s, p.Status, m, l, appPasswordsData{}, &p)
	}
	done := &flash{Kind: "success", Text: fmt.Sprintf("The app password %s of %s was revoked.", name, m.DisplayName)}
	if line := sessionsLine(res.Sessions); line != "" {
		done.Lines = append(done.Lines, line)
	}
	return c.redirect(w, r, withQuery(appPasswordsPath, l.values(), m.Guid), done)
}
