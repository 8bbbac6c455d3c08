package admincenter

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// csvCell keeps a value from being read as a formula by a spreadsheet
// (CSV injection): a display name like "=HYPERLINK(...)" stays text.
func csvCell(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// reportCSV downloads the email apps usage report as CSV (RFC 4180), one
// row per mailbox, with Exchange's property names as the header.
func (c *Center) reportCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	days, err := period(r)
	if err != nil {
		return err
	}
	rep, err := c.svc.EmailAppUsage(r.Context(), s.caller, days)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	// Each mailbox's own settings (PopEnabled, ImapEnabled, as
	// Get-CASMailbox names them) and what applies now (PopAccess,
	// ImapAccess: Blocked by security defaults while they are on), so that
	// the file says both, as the list does.
	cw.Write([]string{"UserPrincipalName", "DisplayName", "PopEnabled", "ImapEnabled", "PopAccess", "ImapAccess",
		"LastPopDate", "LastImapDate", "PopLogins", "ImapLogins", "PopRefused", "ImapRefused", "FailedLogins",
		"LastSmtpDate", "SmtpLogins", "SmtpRefused"})
	for _, u := range rep.Users {
		var popEnabled, imapEnabled, popAccess, imapAccess string
		if m, err := c.svc.GetCASMailbox(r.Context(), s.caller, u.UserPrincipalName); err == nil {
			popEnabled, imapEnabled = csvBool(m.PopEnabled), csvBool(m.ImapEnabled)
			popAccess, imapAccess = m.PopAccess, m.ImapAccess
		} else if describe(err).Status != http.StatusNotFound {
			return err
		}
		cw.Write([]string{csvCell(u.UserPrincipalName), csvCell(u.DisplayName), popEnabled, imapEnabled, popAccess, imapAccess,
			csvTime(u.LastPopDate), csvTime(u.LastImapDate),
			strconv.Itoa(u.PopLogins), strconv.Itoa(u.ImapLogins), strconv.Itoa(u.PopRefused), strconv.Itoa(u.ImapRefused),
			strconv.Itoa(u.FailedLogins), csvTime(u.LastSmtpDate), strconv.Itoa(u.SmtpLogins), strconv.Itoa(u.SmtpRefused)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	name := fmt.Sprintf("email-apps-usage-%dd-%s.csv", days, rep.ReportDate.UTC().Format("2006-01-02"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b.Bytes())
	return nil
}

// csvBool writes a setting as PowerShell's Export-Csv does.
func csvBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
