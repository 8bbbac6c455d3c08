package admincenter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// usageView is the "Mailbox usage" of a mailbox: its size against its
// ProhibitSendReceiveQuota, as the EAC shows it.
type usageView struct {
	service.MailboxStatistics
	// Limited: the mailbox has a ProhibitSendReceiveQuota; Percent is how
	// much of it is used (0 to 100).
	Limited bool
	Percent int
	// Size and Limit are the short forms ("1.462 MB", "2 GB"); Items
	// counts the messages ("1,204 items").
	Size, Limit, Items string
}

func usageOf(st service.MailboxStatistics) usageView {
	u := usageView{MailboxStatistics: st, Limited: st.ProhibitSendReceiveQuotaBytes > 0,
		Size: shortSize(st.TotalItemSize), Limit: shortSize(st.ProhibitSendReceiveQuota),
		Items: plural(int(st.ItemCount), "item", "items")}
	if u.Limited {
		u.Percent = int(min(100, st.TotalItemSizeBytes*100/st.ProhibitSendReceiveQuotaBytes))
	}
	return u
}

// shortSize drops the byte count of Exchange's form: "2 GB (2,147,483,648
// bytes)" is shown as "2 GB".
func shortSize(s string) string {
	short, _, _ := strings.Cut(s, " (")
	return short
}

type quotaData struct {
	Mailbox service.CASMailbox
	Usage   usageView
	// The fields as given (or as stored, in Exchange's form).
	IssueWarning, ProhibitSend, ProhibitSendReceive             string
	OrigIssueWarning, OrigProhibitSend, OrigProhibitSendReceive string
	Hidden                                                      []hiddenField
	Cancel                                                      string
	CanChange                                                   bool
	Deny                                                        string
}

func (c *Center) quotaForm(w http.ResponseWriter, r *http.Request, s *session, status int, m service.CASMailbox, l listState, given map[string]string, p *problem) error {
	st, err := c.svc.GetMailboxStatistics(r.Context(), s.caller, m.Guid)
	if err != nil {
		return err
	}
	d := quotaData{Mailbox: m, Usage: usageOf(st), Hidden: l.hidden(), Cancel: l.url(m.Guid), CanChange: s.caller.Can(rbac.MailRecipients),
		OrigIssueWarning: st.IssueWarningQuota, OrigProhibitSend: st.ProhibitSendQuota, OrigProhibitSendReceive: st.ProhibitSendReceiveQuota}
	d.IssueWarning, d.ProhibitSend, d.ProhibitSendReceive = d.OrigIssueWarning, d.OrigProhibitSend, d.OrigProhibitSendReceive
	if given != nil {
		d.IssueWarning, d.ProhibitSend, d.ProhibitSendReceive = given["warn"], given["send"], given["sendreceive"]
	}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.MailRecipients))
	}
	page := c.newPage(w, r, s, "Mailbox usage - "+m.DisplayName, "recipients", "mailboxes")
	page.Problem = p
	page.Data = d
	c.render(w, r, status, "quota", page)
	return nil
}

// quotaPage is "Mailbox usage": the mailbox's size and item count, how
// much of its limit it uses, and the three limits (Set-Mailbox
// -IssueWarningQuota, -ProhibitSendQuota, -ProhibitSendReceiveQuota).
func (c *Center) quotaPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "Mailbox usage works on one mailbox. Select it in the list first.")
	if err != nil {
		return err
	}
	return c.quotaForm(w, r, s, http.StatusOK, m, listStateFrom(q), nil, nil)
}

// setQuota sends the limits the administrator changed through the service
// (Set-Mailbox), which parses and checks them; a refused value shows the
// form again with what was typed and the reason.
func (c *Center) setQuota(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	l := listStateFrom(f)
	m, err := c.oneMailbox(r, s, f, "The form didn't say which mailbox to change.")
	if err != nil {
		return err
	}
	given := map[string]string{}
	var req service.SetMailboxRequest
	for _, fld := range []struct {
		name string
		dst  **string
	}{{"warn", &req.IssueWarningQuota}, {"send", &req.ProhibitSendQuota}, {"sendreceive", &req.ProhibitSendReceiveQuota}} {
		v := strings.TrimSpace(f.Get(fld.name))
		given[fld.name] = v
		if v == "" {
			// An emptied field means no limit, as in the EAC.
			v = service.UnlimitedQuota
		}
		if v != f.Get("orig_"+fld.name) {
			*fld.dst = &v
		}
	}
	if req.IssueWarningQuota == nil && req.ProhibitSendQuota == nil && req.ProhibitSendReceiveQuota == nil {
		return c.redirect(w, r, l.url(m.Guid), nil)
	}
	res, err := c.svc.SetMailbox(r.Context(), s.caller, m.Guid, req)
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		return c.quotaForm(w, r, s, p.Status, m, l, given, &p)
	}
	if res.NoChange {
		return c.redirect(w, r, l.url(m.Guid), &flash{Kind: "warning", Text: res.Warning()})
	}
	done := &flash{Kind: "success", Text: fmt.Sprintf("The mailbox limits of %s were saved.", m.DisplayName)}
	for _, ch := range res.Changes {
		done.Lines = append(done.Lines, fmt.Sprintf("%s: %s", ch.Name, ch.NewValue))
	}
	return c.redirect(w, r, l.url(m.Guid), done)
}
