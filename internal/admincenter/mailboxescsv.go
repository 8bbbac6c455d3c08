package admincenter

import (
	"encoding/csv"
	"net/http"
	"time"
)

// mailboxesCSV is "Export data to CSV" of the Mailboxes list's "..." menu:
// every mailbox the list shows with its search (not only the page), with
// the list's columns under Get-CASMailbox's property names: each mailbox's
// own setting and what applies now under security defaults. It writes as it
// pages through the service, so 100,000 mailboxes never sit in memory.
func (c *Center) mailboxesCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	l := listStateFrom(r.URL.Query())
	o := l.options()
	o.ResultSize = 1000
	p, err := c.svc.GetCASMailboxes(r.Context(), s.caller, o)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mailboxes-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write([]string{"DisplayName", "PrimarySmtpAddress", "PopEnabled", "ImapEnabled", "PopAccess", "ImapAccess",
		"LastPopLogonTime", "LastImapLogonTime", "Guid"})
	for {
		for _, m := range p.Items {
			cw.Write([]string{csvCell(m.DisplayName), csvCell(m.PrimarySmtpAddress), csvBool(m.PopEnabled), csvBool(m.ImapEnabled),
				m.PopAccess, m.ImapAccess, csvTime(m.LastPopLogonTime), csvTime(m.LastImapLogonTime), m.Guid})
		}
		if p.Next == "" {
			break
		}
		o.Cursor = p.Next
		if p, err = c.svc.GetCASMailboxes(r.Context(), s.caller, o); err != nil {
			// The header is sent: end the file short, and say so in the log.
			c.log.Error("export mailboxes", "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}
