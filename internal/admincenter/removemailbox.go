package admincenter

import (
	"fmt"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type removeData struct {
	Mailbox  service.CASMailbox
	Sessions string
	Hidden   []hiddenField
	Cancel   string
}

// removeMailboxPage asks for confirmation before Delete, saying what goes
// with the mailbox and which open sessions end (the service's WhatIf).
func (c *Center) removeMailboxPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "Delete works on one mailbox at a time. Select it in the list first.")
	if err != nil {
		return err
	}
	res, err := c.svc.RemoveMailbox(r.Context(), s.caller, m.Guid, true)
	if err != nil {
		return err
	}
	l := listStateFrom(q)
	page := c.newPage(w, r, s, "Delete "+m.DisplayName, "recipients", "mailboxes")
	page.Data = removeData{Mailbox: m, Sessions: sessionsByProtocol(res.Sessions), Hidden: l.hidden(), Cancel: l.url(m.Guid)}
	c.render(w, r, http.StatusOK, "remove", page)
	return nil
}

// removeMailbox deletes the mailbox through the service (Remove-Mailbox).
func (c *Center) removeMailbox(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	ids := selection(f)
	if len(ids) != 1 {
		return userError(http.StatusBadRequest, "Select one mailbox", "The form didn't say which mailbox to delete.")
	}
	res, err := c.svc.RemoveMailbox(r.Context(), s.caller, ids[0], false)
	if err != nil {
		return err
	}
	fl := &flash{Kind: "success", Text: fmt.Sprintf("Deleted the mailbox %s.", res.Identity)}
	if line := sessionsLine(res.Sessions); line != "" {
		fl.Lines = []string{line}
	}
	return c.redirect(w, r, listStateFrom(f).url(), fl)
}
