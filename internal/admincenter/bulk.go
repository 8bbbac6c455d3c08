package admincenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
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
	// All is a selection of every mailbox that matches the list's search
	// ("Select all N mailboxes that match"): the search is evaluated again
	// when the edit runs. Scope says which, in words.
	All   bool
	Scope []string
}

// scopeOf describes in words what a list state selects.
func scopeOf(l listState) []string {
	var out []string
	if l.Search != "" {
		out = append(out, "Search: \""+l.Search+"\"")
	}
	return append(out, l.Adv.describe()...)
}

// countMatching asks the service how many mailboxes the list state selects.
func (c *Center) countMatching(r *http.Request, s *session, l listState) (int, error) {
	o := l.options()
	o.ResultSize = 1
	p, err := c.svc.GetCASMailboxes(r.Context(), s.caller, o)
	return p.Total, err
}

// bulkConfirm is the confirmation of a Bulk Edit action. For chosen
// mailboxes it asks the service what the change would do (WhatIf) and says
// so (how many mailboxes change, which already have that setting, how many
// open sessions will be closed); for "all that match" it says how many
// match now, and that the search is evaluated again when OK is chosen.
func (c *Center) bulkConfirm(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	a, err := bulkActionFrom(q.Get("protocol"), q.Get("action"))
	if err != nil {
		return err
	}
	l := listStateFrom(q)
	d := bulkData{Action: a, Hidden: l.hidden()}
	if q.Get("all") == "1" {
		if !s.caller.Can(rbac.MailRecipients) {
			// What the service answers when the edit runs, said before
			// counting: the role lacks Mail Recipients.
			return &service.ForbiddenError{Caller: s.caller.Name, Cmdlet: "Set-CASMailbox", Role: rbac.MailRecipients, Groups: s.caller.Groups}
		}
		if d.Count, err = c.countMatching(r, s, l); err != nil {
			return err
		}
		d.All, d.Scope = true, scopeOf(l)
		all := l.values()
		all.Set("all", "1")
		d.Cancel = withQuery(mailboxesPath, all)
	} else {
		ids := selection(q)
		if len(ids) == 0 {
			return userError(http.StatusBadRequest, "Select mailboxes", "Select the mailboxes to change in the list first.")
		}
		results, err := c.svc.SetCASMailboxes(r.Context(), s.caller, a.requests(ids, true))
		if err != nil {
			return err
		}
		if err := roleDenied(results); err != nil {
			return err
		}
		d.IDs, d.Count, d.Outcome, d.Cancel = ids, len(ids), outcome(results, ids), l.url(ids...)
		d.Sessions = sessionsByProtocol(d.Outcome.Sessions)
	}
	page := c.newPage(w, r, s, "Bulk Edit - "+a.Verb()+" "+a.Label(), "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "bulk", page)
	return nil
}

// bulkApply starts a confirmed Bulk Edit as a job (see bulkjob.go) and
// sends the browser to the job's page.
func (c *Center) bulkApply(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	a, err := bulkActionFrom(f.Get("protocol"), f.Get("action"))
	if err != nil {
		return err
	}
	l := listStateFrom(f)
	j := &bulkJob{ID: randomToken(), Owner: s.caller.MailboxID, Action: a, Started: time.Now(), state: jobRunning,
		stopped: make(chan struct{})}
	var ids []string
	var all *listState
	if f.Get("all") == "1" {
		all = &l
		j.Scope = "every mailbox that matches"
		if sc := scopeOf(l); len(sc) > 0 {
			j.Scope += " (" + strings.Join(sc, "; ") + ")"
		} else {
			j.Scope = "every mailbox"
		}
		back := l.values()
		back.Del("page")
		j.Back = withQuery(mailboxesPath, back)
	} else {
		ids = selection(f)
		if len(ids) == 0 {
			return userError(http.StatusBadRequest, "Select mailboxes", "Select the mailboxes to change in the list first.")
		}
		j.Scope = plural(len(ids), "selected mailbox", "selected mailboxes")
		j.Back = l.url(ids...)
	}
	if !s.caller.Can(rbac.MailRecipients) {
		// Refused before any job starts, with the service's own answer and
		// audit record: one per chosen mailbox, or one naming the search
		// (not one per mailbox it matches).
		refused := ids
		if all != nil {
			refused = []string{j.Scope}
		}
		results, err := c.svc.SetCASMailboxes(r.Context(), s.caller, a.requests(refused, false))
		if err != nil {
			return err
		}
		if err := roleDenied(results); err != nil {
			return err
		}
	}
	c.jobs.add(j)
	// The job outlives the request: its context keeps the request's values
	// but not its end.
	go c.runJob(context.WithoutCancel(r.Context()), j, s.token, clientIP(r), ids, all)
	return c.redirect(w, r, jobPath(j.ID), nil)
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
