package admincenter

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type newMailboxData struct {
	// The values entered (never the password), shown again when the
	// service refuses them.
	DisplayName string
	Name        string
	Alias       string
	Address     string
	Hidden      []hiddenField
	CancelURL   string
	CanCreate   bool
	Deny        string
	// Field is the parameter the refusal is about, for focus and ARIA.
	Field string
}

func (c *Center) newMailboxForm(w http.ResponseWriter, r *http.Request, s *session, status int, d newMailboxData, p *problem) {
	d.CanCreate = s.caller.Can(rbac.MailRecipientCreation)
	if !d.CanCreate {
		d.Deny = denyReason(&s.caller, string(rbac.MailRecipientCreation))
	}
	page := c.newPage(w, r, s, "New user mailbox", "recipients", "mailboxes")
	page.Problem = p
	page.Data = d
	c.render(w, r, status, "newmailbox", page)
}

// newMailboxPage is the New dialog: display name, name, alias, email
// address and password.
func (c *Center) newMailboxPage(w http.ResponseWriter, r *http.Request, s *session) error {
	l := listStateFrom(r.URL.Query())
	c.newMailboxForm(w, r, s, http.StatusOK, newMailboxData{Hidden: l.hidden(), CancelURL: l.url()}, nil)
	return nil
}

// newMailbox creates the mailbox through the service (which takes POP3 and
// IMAP4 from the CAS mailbox plan) and selects it in the list.
func (c *Center) newMailbox(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	l := listStateFrom(f)
	d := newMailboxData{DisplayName: f.Get("displayname"), Name: f.Get("name"), Alias: f.Get("alias"), Address: f.Get("address"),
		Hidden: l.hidden(), CancelURL: l.url()}
	if d.Name == "" {
		// As in Exchange's dialog, the name follows the display name
		// unless given.
		d.Name = d.DisplayName
	}
	if f.Get("password") != f.Get("confirm") {
		d.Field = "confirm"
		p := problem{Status: http.StatusBadRequest, Title: "Check the values", Message: "The passwords don't match. Type the same password twice."}
		c.newMailboxForm(w, r, s, p.Status, d, &p)
		return nil
	}
	m, _, err := c.svc.NewMailbox(r.Context(), s.caller, service.NewMailboxRequest{Name: d.Name, DisplayName: d.DisplayName,
		Alias: d.Alias, PrimarySmtpAddress: d.Address, Password: f.Get("password")})
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		d.Field = fieldOf(err)
		c.newMailboxForm(w, r, s, p.Status, d, &p)
		return nil
	}
	return c.redirect(w, r, l.url(m.Guid), &flash{Kind: "success",
		Text: fmt.Sprintf("Created the mailbox %s (%s).", m.DisplayName, m.PrimarySmtpAddress)})
}

// fieldOf names the form field a validation error is about.
func fieldOf(err error) string {
	var v *service.ValidationError
	if !errors.As(err, &v) {
		return ""
	}
	switch v.Parameter {
	case "Name":
		return "name"
	case "DisplayName":
		return "displayname"
	case "Alias":
		return "alias"
	case "PrimarySmtpAddress", "MicrosoftOnlineServicesID":
		return "address"
	case "Password":
		return "password"
	}
	return ""
}
