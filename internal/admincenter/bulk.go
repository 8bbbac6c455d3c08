package admincenter

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// bulkAction is one Bulk Edit action: a protocol turned on or off for every
// selected mailbox.
type bulkAction struct {
	Protocol string // "pop3" or "imap4"
	Enable   bool
}

func bulkActionFrom(protocol, action string) (bulkAction, error) {
	a := bulkAction{Protocol: protocol, Enable: action == "enable"}
	if (protocol != "pop3" && protocol != "imap4") || (action != "enable" && action != "disable") {
		return a, userError(http.StatusBadRequest, "Unknown action", "Bulk Edit can enable or disable POP3 or IMAP4.")
	}
	return a, nil
}

func (a bulkAction) Label() string {
	if a.Protocol == "pop3" {
		return "POP3"
	}
	return "IMAP4"
}

func (a bulkAction) Verb() string {
	if a.Enable {
		return "Enable"
	}
	return "Disable"
}

func (a bulkAction) requests(ids []string, whatIf bool) []service.SetCASMailboxRequest {
	out := make([]service.SetCASMailboxRequest, len(ids))
	for i, id := range ids {
		v := a.Enable
		out[i] = service.SetCASMailboxRequest{Identity: id, WhatIf: whatIf}
		if a.Protocol == "pop3" {
			out[i].PopEnabled = &v
		} else {
			out[i].ImapEnabled = &v
		}
	}
	return out
}

// bulkOutcome sorts the results of a bulk change.
type bulkOutcome struct {
	Changed  []string
	NoChange []string
	Failed   []string
	Sessions []service.OpenSession
}

// outcome sorts results; ids are the identities asked for, since a failed
// item's result names none.
func outcome(results []service.ItemResult, ids []string) bulkOutcome {
	var o bulkOutcome
	for i, r := range results {
		switch {
		case r.Err != nil:
			o.Failed = append(o.Failed, fmt.Sprintf("%s: %s", ids[i], describe(r.Err).Message))
		case r.NoChange:
			o.NoChange = append(o.NoChange, r.Identity)
		default:
			o.Changed = append(o.Changed, r.Identity)
			o.Sessions = append(o.Sessions, r.Sessions...)
		}
	}
	return o
}

type bulkData struct {
	Action   bulkAction
	IDs      []string
	Count    int
	Outcome  bulkOutcome
	Sessions string
	Hidden   []hiddenField
	Cancel   string
}

// bulkConfirm is the confirmation of a Bulk Edit action: it asks the
// service what the change would do (WhatIf) and says so (how many
// mailboxes change, which already have that setting, how many open
// sessions will be closed) before OK applies it.
func (c *Center) bulkConfirm(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	a, err := bulkActionFrom(q.Get("protocol"), q.Get("action"))
	if err != nil {
		return err
	}
	ids := selection(q)
	if len(ids) == 0 {
		return userError(http.StatusBadRequest, "Select mailboxes", "Select the mailboxes to change in the list first.")
	}
	if len(ids) > maxSelection {
		return userError(http.StatusBadRequest, "Too many mailboxes selected", "Bulk Edit changes at most 1,000 mailboxes at a time.")
	}
	results, err := c.svc.SetCASMailboxes(r.Context(), s.caller, a.requests(ids, true))
	if err != nil {
		return err
	}
	if err := roleDenied(results); err != nil {
		return err
	}
	l := listStateFrom(q)
	d := bulkData{Action: a, IDs: ids, Count: len(ids), Outcome: outcome(results, ids), Hidden: l.hidden(), Cancel: l.url(ids...)}
	d.Sessions = sessionsByProtocol(d.Outcome.Sessions)
	page := c.newPage(w, r, s, "Bulk Edit - "+a.Verb()+" "+a.Label(), "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "bulk", page)
	return nil
}

// bulkApply applies a confirmed Bulk Edit action to every selected mailbox
// (the service does it in transactions of a thousand, each audited) and
// comes back to the list with a summary of what changed.
func (c *Center) bulkApply(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	a, err := bulkActionFrom(f.Get("protocol"), f.Get("action"))
	if err != nil {
		return err
	}
	ids := selection(f)
	if len(ids) == 0 || len(ids) > maxSelection {
		return userError(http.StatusBadRequest, "Select mailboxes", "Select between 1 and 1,000 mailboxes to change.")
	}
	results, err := c.svc.SetCASMailboxes(r.Context(), s.caller, a.requests(ids, false))
	if err != nil {
		return err
	}
	if err := roleDenied(results); err != nil {
		return err
	}
	o := outcome(results, ids)
	past := strings.ToLower(a.Verb()) + "d"
	fl := &flash{Kind: "success", Text: fmt.Sprintf("Bulk Edit: %s %s for %s.", a.Label(), past, plural(len(o.Changed), "mailbox", "mailboxes"))}
	if len(o.Changed) > 0 {
		fl.Lines = append(fl.Lines, "Changed: "+strings.Join(o.Changed, ", ")+".")
	}
	if len(o.NoChange) > 0 {
		fl.Lines = append(fl.Lines, fmt.Sprintf("Already %s, not changed: %s.", past, strings.Join(o.NoChange, ", ")))
	}
	if line := sessionsLine(o.Sessions); line != "" {
		fl.Lines = append(fl.Lines, line)
	}
	if len(o.Failed) > 0 {
		fl.Kind = "error"
		fl.Text += fmt.Sprintf(" %s failed.", plural(len(o.Failed), "mailbox", "mailboxes"))
		for _, x := range o.Failed {
			fl.Lines = append(fl.Lines, "Failed: "+x)
		}
	}
	return c.redirect(w, r, listStateFrom(f).url(ids...), fl)
}

// roleDenied returns the refusal of the whole operation (the caller's role
// lacks Mail Recipients), which is the page's answer rather than one item's.
// A mailbox out of the caller's write scope (an administrator of a role
// group the caller isn't in) fails that item only, and is listed with the
// other failures.
func roleDenied(results []service.ItemResult) error {
	for _, res := range results {
		var fe *service.ForbiddenError
		if errors.As(res.Err, &fe) && fe.Target == "" {
			return res.Err
		}
	}
	return nil
}
