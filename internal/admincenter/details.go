package admincenter

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// detailsData is the details pane: one mailbox, or Bulk Edit for several.
type detailsData struct {
	Signed *service.Caller
	Single *service.CASMailbox
	// Bulk lists the selected mailboxes when there are several; Count is
	// how many were selected (Bulk may show fewer).
	Bulk  []service.CASMailbox
	Count int
	// Missing are selected identities that no longer resolve.
	Missing []string
	// All is "every mailbox that matches" (Count of them): the actions
	// carry the search, not a list.
	All bool
	// SignIns is the single mailbox's recent sign-ins.
	SignIns *service.RecentSignIns

	EditURL      string
	EmailAppsURL string
	PasswordURL  string
	// AppPasswordsURL opens the mailbox's app passwords.
	AppPasswordsURL string
	RemoveURL       string
	// Usage is the single mailbox's size against its quota; QuotaURL opens
	// Mailbox usage, where the limits are set.
	Usage    *usageView
	QuotaURL string
	// Bulk Edit actions, each opening its confirmation.
	PopEnableURL   string
	PopDisableURL  string
	ImapEnableURL  string
	ImapDisableURL string
}

// bulkShown bounds how many names the Bulk Edit pane lists.
const bulkShown = 50

// detailsOf reads the selection for the details pane.
func (c *Center) detailsOf(r *http.Request, s *session, l listState, ids []string) (*detailsData, error) {
	caller := s.caller
	d := &detailsData{Signed: &caller, Count: len(ids)}
	state := l.values()
	if len(ids) == 1 {
		m, err := c.svc.GetCASMailbox(r.Context(), s.caller, ids[0])
		if err != nil {
			return nil, err
		}
		d.Single = &m
		one := url.Values{}
		for k, v := range state {
			one[k] = v
		}
		d.EditURL = withQuery(editPath, one, m.Guid)
		d.EmailAppsURL = withQuery(emailAppsPath, one, m.Guid)
		d.PasswordURL = withQuery(passwordPath, one, m.Guid)
		d.AppPasswordsURL = withQuery(appPasswordsPath, one, m.Guid)
		d.RemoveURL = withQuery(removeMailboxPath, one, m.Guid)
		d.QuotaURL = withQuery(quotaPath, one, m.Guid)
		st, err := c.svc.GetMailboxStatistics(r.Context(), s.caller, m.Guid)
		if err != nil {
			return nil, err
		}
		u := usageOf(st)
		d.Usage = &u
		if si, err := c.svc.GetRecentSignIns(r.Context(), s.caller, m.Guid); err == nil {
			d.SignIns = &si
		} else if describe(err).Status != http.StatusNotFound {
			return nil, err
		}
		return d, nil
	}
	var guids []string
	for _, id := range ids {
		if len(d.Bulk) >= bulkShown {
			guids = append(guids, id)
			continue
		}
		m, err := c.svc.GetCASMailbox(r.Context(), s.caller, id)
		if err != nil {
			if describe(err).Status == http.StatusNotFound {
				d.Missing = append(d.Missing, id)
				continue
			}
			return nil, err
		}
		d.Bulk = append(d.Bulk, m)
		guids = append(guids, m.Guid)
	}
	action := func(protocol, act string) string {
		v := url.Values{}
		for k, vs := range state {
			v[k] = vs
		}
		v.Set("protocol", protocol)
		v.Set("action", act)
		return withQuery(bulkPath, v, guids...)
	}
	d.PopEnableURL, d.PopDisableURL = action("pop3", "enable"), action("pop3", "disable")
	d.ImapEnableURL, d.ImapDisableURL = action("imap4", "enable"), action("imap4", "disable")
	return d, nil
}

// detailsOfAll is the details pane of "every mailbox that matches": Bulk
// Edit, naming the first of them, with actions that carry the search.
func (c *Center) detailsOfAll(r *http.Request, s *session, l listState) (*detailsData, error) {
	caller := s.caller
	o := l.options()
	o.ResultSize = bulkShown
	p, err := c.svc.GetCASMailboxes(r.Context(), s.caller, o)
	if err != nil {
		return nil, err
	}
	d := &detailsData{Signed: &caller, Count: p.Total, All: true, Bulk: p.Items}
	action := func(protocol, act string) string {
		v := l.values()
		v.Del("page")
		v.Set("all", "1")
		v.Set("protocol", protocol)
		v.Set("action", act)
		return withQuery(bulkPath, v)
	}
	d.PopEnableURL, d.PopDisableURL = action("pop3", "enable"), action("pop3", "disable")
	d.ImapEnableURL, d.ImapDisableURL = action("imap4", "enable"), action("imap4", "disable")
	return d, nil
}

// details serves the details pane alone, for the script that updates it
// when the selection changes.
func (c *Center) details(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	if q.Get("all") == "1" {
		d, err := c.detailsOfAll(r, s, listStateFrom(q))
		if err != nil {
			return err
		}
		c.renderFragment(w, http.StatusOK, "details", d)
		return nil
	}
	ids := selection(q)
	if len(ids) == 0 {
		c.renderFragment(w, http.StatusOK, "details", &detailsData{})
		return nil
	}
	d, err := c.detailsOf(r, s, listStateFrom(q), ids)
	if err != nil {
		return err
	}
	c.renderFragment(w, http.StatusOK, "details", d)
	return nil
}
