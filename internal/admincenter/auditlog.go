package admincenter

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// auditShown bounds one page of the audit log (newest first).
const auditShown = 500

// auditCmdlets are the cmdlets the filter offers; every change the service
// audits is one of them.
var auditCmdlets = []string{"Set-CASMailbox", "New-Mailbox", "Set-Mailbox", "Remove-Mailbox", "Set-CASMailboxPlan",
	"Set-OrganizationConfig", "Add-RoleGroupMember", "Remove-RoleGroupMember"}

// auditMailboxCmdlets are the cmdlets whose object is a mailbox.
var auditMailboxCmdlets = map[string]bool{"Set-CASMailbox": true, "Set-Mailbox": true, "Remove-Mailbox": true, "New-Mailbox": true}

type auditFilter struct {
	Start, End     string // YYYY-MM-DD as the date inputs send it
	Cmdlet         string
	Object, Caller string
	Result         string // "", "success", "failure"
}

// auditRow is one record with the mailbox it names, when it still exists:
// a record names its object by one identity (a refused change by the one the
// caller gave), and the page shows the display name, address and GUID with
// it.
type auditRow struct {
	service.AuditRecord
	Mailbox *service.Mailbox
}

// auditLookups bounds the mailboxes one page of the log looks up.
const auditLookups = 200

type auditData struct {
	Filter  auditFilter
	Cmdlets []string
	Records []auditRow
	// Limited: more records match than are shown.
	Limited bool
	Shown   int
}

func parseDay(param, label, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, &service.ValidationError{Parameter: param, Message: "Enter the " + label + " as a date like 2026-05-01."}
	}
	return t, nil
}

// auditLog is Auditing > Admin audit log: Search-AdminAuditLog with its
// filters (dates, cmdlet, object, caller, success), newest first, each
// record with its old -> new values.
func (c *Center) auditLog(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f := auditFilter{Start: q.Get("start"), End: q.Get("end"), Cmdlet: q.Get("cmdlet"), Object: strings.TrimSpace(q.Get("object")),
		Caller: strings.TrimSpace(q.Get("caller")), Result: q.Get("result")}
	search := service.AuditSearch{ResultSize: auditShown + 1}
	var bad error
	var err error
	if search.StartDate, err = parseDay("StartDate", "start date", f.Start); err != nil {
		bad = err
	}
	end, err := parseDay("EndDate", "end date", f.End)
	if err != nil {
		bad = err
	} else if !end.IsZero() {
		// The end date includes that whole day.
		search.EndDate = end.Add(24*time.Hour - time.Nanosecond)
	}
	for _, cm := range auditCmdlets {
		if strings.EqualFold(cm, f.Cmdlet) {
			search.Cmdlets = []string{cm}
		}
	}
	if f.Cmdlet != "" && search.Cmdlets == nil {
		f.Cmdlet = ""
	}
	if f.Object != "" {
		search.ObjectIDs = []string{f.Object}
	}
	if f.Caller != "" {
		search.UserIDs = []string{f.Caller}
	}
	switch f.Result {
	case "success", "failure":
		ok := f.Result == "success"
		search.IsSuccess = &ok
	default:
		f.Result = ""
	}
	d := auditData{Filter: f, Cmdlets: auditCmdlets}
	status := http.StatusOK
	page := c.newPage(w, r, s, "Admin audit log", "auditing", "admin-audit-log")
	var recs []service.AuditRecord
	if bad == nil {
		recs, err = c.svc.SearchAdminAuditLog(r.Context(), s.caller, search)
		bad = err
	}
	if bad != nil {
		p := describe(bad)
		if p.Internal || p.Status == http.StatusForbidden {
			return bad
		}
		page.Problem, status = &p, p.Status
	}
	if len(recs) > auditShown {
		recs, d.Limited = recs[:auditShown], true
	}
	found := map[string]*service.Mailbox{}
	for _, rec := range recs {
		row := auditRow{AuditRecord: rec}
		key := strings.ToLower(rec.ObjectModified)
		if m, ok := found[key]; ok {
			row.Mailbox = m
		} else if auditMailboxCmdlets[rec.CmdletName] && rec.ObjectModified != "" && len(found) < auditLookups {
			found[key] = nil
			if m, err := c.svc.GetMailbox(r.Context(), s.caller, rec.ObjectModified); err == nil {
				found[key] = &m
				row.Mailbox = &m
			}
		}
		d.Records = append(d.Records, row)
	}
	d.Shown = len(d.Records)
	page.Data = d
	c.render(w, r, status, "auditlog", page)
	return nil
}
