// Package fakeapi is an in-memory stand-in for the server's REST API, as
// far as the cmdlets use it, for the tests of the shell's packages.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// Server is an in-memory server that speaks the REST API as issue 5
// specifies it, as far as the cmdlets use it. It stands in for
// internal/api in unit tests.
type Server struct {
	// Mu guards Mailboxes.
	Mu        sync.Mutex
	Mailboxes []map[string]any
	plan      wire.CASMailboxPlan
	org       wire.OrganizationConfig
	groups    map[string][]string
	audit     []wire.AuditRecord
	Token     string
	Bulk      bool // offer PATCH /casmailboxes with an array
	PageSize  int
	Requests  atomic.Int64
	Patches   atomic.Int64
	// ByGUID counts bulk items that named their mailbox by the GUID of
	// the piped object (wire.BulkCASItem.Guid) and found it.
	ByGUID atomic.Int64
	// sessions counts open sessions per mailbox name and protocol, for
	// -WhatIf reports.
	sessions map[string]map[string]int
	// index finds mailboxes by any identity, lower-cased.
	index map[string][]map[string]any
}

// New returns a server with three mailboxes and the four role groups.
func New() *Server {
	f := &Server{
		Token:    "tok-1",
		Bulk:     true,
		PageSize: 100,
		plan:     wire.CASMailboxPlan{Identity: "ExchangeOnline", Name: "ExchangeOnline", PopEnabled: true, ImapEnabled: true, WhenChanged: when},
		org: wire.OrganizationConfig{Identity: "Contoso", Name: "Contoso", DisplayName: "Contoso", DefaultDomain: "contoso.com",
			SecurityDefaultsEnabled: false, WhenChanged: when},
		groups: map[string][]string{
			"Organization Management":           {"admin"},
			"Recipient Management":              {},
			"Help Desk":                         {},
			"View-Only Organization Management": {},
		},
		sessions: map[string]map[string]int{"Christa Knapp": {"POP3": 2, "IMAP4": 1}},
		index:    map[string][]map[string]any{},
	}
	f.Add("Christa Knapp", "christa", true, true)
	f.Add("Bob Smith", "bob", false, true)
	f.Add("Alice Jones", "alice", true, false)
	return f
}

// Add adds a mailbox.
func (f *Server) Add(name, alias string, pop, imap bool) {
	n := len(f.Mailboxes) + 1
	m := map[string]any{
		"Name": name, "DisplayName": name, "Alias": alias,
		"PrimarySmtpAddress": alias + "@contoso.com", "UserPrincipalName": alias + "@contoso.com",
		"Guid":       fmt.Sprintf("00000000-0000-0000-0000-%012d", n),
		"PopEnabled": pop, "ImapEnabled": imap,
	}
	f.Mailboxes = append(f.Mailboxes, m)
	f.indexMailbox(m)
}

func (f *Server) indexMailbox(m map[string]any) {
	seen := map[string]bool{}
	for _, k := range []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "Guid"} {
		key := strings.ToLower(m[k].(string))
		if !seen[key] {
			seen[key] = true
			f.index[key] = append(f.index[key], m)
		}
	}
}

// when is the time the fake's objects were created and changed.
var when = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

// mailboxView is a mailbox as the API sends it (wire.Mailbox).
func mailboxView(m map[string]any) wire.Mailbox {
	addr := m["PrimarySmtpAddress"].(string)
	return wire.Mailbox{Identity: m["Name"].(string), Name: m["Name"].(string), DisplayName: m["DisplayName"].(string),
		Alias: m["Alias"].(string), PrimarySmtpAddress: addr, EmailAddresses: []string{"SMTP:" + addr},
		UserPrincipalName: m["UserPrincipalName"].(string), Guid: m["Guid"].(string), RecipientTypeDetails: "UserMailbox",
		WhenCreated: when, WhenChanged: when,
		IssueWarningQuota: "Unlimited", ProhibitSendQuota: "Unlimited", ProhibitSendReceiveQuota: "Unlimited"}
}

// casView is a mailbox as GET /casmailboxes sends it (wire.CASMailbox).
func (f *Server) casView(m map[string]any) wire.CASMailbox {
	sd := f.org.SecurityDefaultsEnabled
	access := func(enabled bool) string {
		switch {
		case sd:
			return "BlockedBySecurityDefaults"
		case enabled:
			return "Enabled"
		}
		return "Disabled"
	}
	pop, imap := m["PopEnabled"].(bool), m["ImapEnabled"].(bool)
	// authenticated SMTP: the mailbox's own value (nil: follow the
	// organization, which allows it here)
	smtpOff, _ := m["SmtpClientAuthenticationDisabled"].(*bool)
	smtp := smtpOff == nil || !*smtpOff
	lastImap := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	return wire.CASMailbox{Identity: m["Name"].(string), Name: m["Name"].(string), DisplayName: m["DisplayName"].(string),
		PrimarySmtpAddress: m["PrimarySmtpAddress"].(string), Guid: m["Guid"].(string), PopEnabled: pop, ImapEnabled: imap,
		EffectivePopEnabled: !sd && pop, EffectiveImapEnabled: !sd && imap, PopAccess: access(pop), ImapAccess: access(imap),
		SmtpClientAuthenticationDisabled: smtpOff, EffectiveSmtpClientAuthEnabled: !sd && smtp, SmtpClientAuthAccess: access(smtp),
		LastImapLogonTime: &lastImap, WhenChanged: when}
}

func (f *Server) view(m map[string]any, cas bool) any {
	if cas {
		return f.casView(m)
	}
	return mailboxView(m)
}

// result is the API's ResultBody.
func result(identity, cmdlet string, changes []wire.Change, sessions []wire.OpenSession, whatIf bool) wire.ResultBody {
	if changes == nil {
		changes = []wire.Change{}
	}
	if sessions == nil {
		sessions = []wire.OpenSession{}
	}
	r := wire.ResultBody{Identity: identity, Cmdlet: cmdlet, Changes: changes, NoChange: len(changes) == 0,
		WhatIf: whatIf, Sessions: sessions}
	if len(changes) == 0 {
		r.Warning = fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", identity)
	}
	if whatIf {
		text := fmt.Sprintf("What if: Performing the operation %q on target %q.", cmdlet, identity)
		if len(changes) == 0 {
			text += " Nothing would change."
		}
		var parts []string
		for _, c := range changes {
			parts = append(parts, fmt.Sprintf("%s: %s -> %s", c.Name, c.OldValue, c.NewValue))
		}
		if len(parts) > 0 {
			text += " " + strings.Join(parts, "; ") + "."
		}
		if len(sessions) > 0 {
			by := map[string]int{}
			for _, s := range sessions {
				by[s.Protocol]++
			}
			var ps []string
			for _, p := range []string{"POP3", "IMAP4"} {
				if by[p] > 0 {
					ps = append(ps, fmt.Sprintf("%d %s", by[p], p))
				}
			}
			text += " Open sessions that would be closed: " + strings.Join(ps, ", ") + "."
		}
		r.WhatIfText = text
	}
	return r
}

func boolText(v any) string {
	if v == true {
		return "True"
	}
	return "False"
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.ErrorBody{Error: wire.ErrorDetail{Code: code, Message: msg}})
}

func writeJSONResp(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Find resolves an identity as the service layer does: Name, DisplayName,
// Alias, address, UPN or GUID, case-insensitively.
func (f *Server) Find(id string) ([]map[string]any, string) {
	out := f.index[strings.ToLower(id)]
	switch len(out) {
	case 0:
		return nil, fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on 'gatehouse.test'.", id)
	case 1:
		return out, ""
	}
	return nil, fmt.Sprintf("The operation couldn't be performed because '%s' matches multiple entries.", id)
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Requests.Add(1)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v1/")
	if path == "session" && r.Method == http.MethodPost {
		var in wire.SignInRequest
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in.UserName != "admin" || in.Password != "secret" {
			writeErr(w, 401, "Unauthorized", "Invalid credentials")
			return
		}
		f.Mu.Lock()
		tok := f.Token
		f.Mu.Unlock()
		writeJSONResp(w, wire.SignInResponse{Token: tok, UserPrincipalName: "admin", RoleGroups: []string{"Organization Management"}, Roles: []string{}})
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		writeErr(w, 401, "Unauthorized", "The token is missing, invalid or expired.")
		return
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i], _ = url.PathUnescape(s)
	}
	whatIf := r.URL.Query().Get("whatIf") == "true"
	switch {
	case (segs[0] == "mailboxes" || segs[0] == "casmailboxes") && len(segs) == 1 && r.Method == http.MethodGet:
		f.list(w, r, segs[0] == "casmailboxes")
	case (segs[0] == "mailboxes" || segs[0] == "casmailboxes") && len(segs) == 2 && r.Method == http.MethodGet:
		ms, msg := f.Find(segs[1])
		if msg != "" {
			status := 404
			if strings.Contains(msg, "multiple") {
				status = 409
			}
			writeErr(w, status, "NotFound", msg)
			return
		}
		writeJSONResp(w, f.view(ms[0], segs[0] == "casmailboxes"))
	case segs[0] == "casmailboxes" && len(segs) == 2 && r.Method == http.MethodPatch:
		f.Patches.Add(1)
		var body wire.SetCASMailboxBody
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, 400, "BadRequest", "The request body is not valid JSON.")
			return
		}
		res, e := f.patchCAS(segs[1], body, whatIf)
		if e != nil {
			writeErr(w, e.status, e.Code, e.Message)
			return
		}
		writeJSONResp(w, res)
	case segs[0] == "casmailboxes" && len(segs) == 1 && r.Method == http.MethodPatch:
		if !f.Bulk {
			writeErr(w, 405, "MethodNotAllowed", "PATCH is not allowed on a collection.")
			return
		}
		f.Patches.Add(1)
		var body wire.BulkCASBody
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, 400, "BadJSON", "The request body is not valid JSON.")
			return
		}
		out := wire.BulkCASResponse{Results: make([]wire.BulkItemResult, len(body.Items))}
		for i, it := range body.Items {
			if it.Guid != "" {
				// The server finds the mailbox by its GUID; the
				// identity stays what the shell bound, for messages.
				if ms := f.index[strings.ToLower(it.Guid)]; len(ms) == 1 && ms[0]["Guid"] == it.Guid {
					f.ByGUID.Add(1)
				}
			}
			res, e := f.patchCAS(it.Identity, wire.SetCASMailboxBody{PopEnabled: it.PopEnabled, ImapEnabled: it.ImapEnabled,
				SmtpClientAuthenticationDisabled: it.SmtpClientAuthenticationDisabled}, body.WhatIf)
			if e != nil {
				out.Results[i] = wire.BulkItemResult{Result: result(it.Identity, "Set-CASMailbox", nil, nil, false), Error: &e.ErrorDetail}
				out.Failed++
				continue
			}
			out.Results[i] = wire.BulkItemResult{Result: res}
			if res.NoChange {
				out.Unchanged++
			} else {
				out.Changed++
			}
		}
		writeJSONResp(w, out)
	case segs[0] == "mailboxes" && len(segs) == 1 && r.Method == http.MethodPost:
		var body wire.NewMailboxBody
		_ = json.NewDecoder(r.Body).Decode(&body)
		name := body.Name
		if ms, _ := f.Find(name); len(ms) > 0 {
			writeErr(w, 409, "Conflict", fmt.Sprintf("The name '%s' is already being used. Please try another name.", name))
			return
		}
		if body.Password == "" {
			writeErr(w, 400, "BadRequest", "A password is required.")
			return
		}
		alias := body.Alias
		if alias == "" {
			alias = strings.ToLower(strings.ReplaceAll(name, " ", ""))
		}
		changes := []wire.Change{{Name: "Name", OldValue: "", NewValue: name}}
		if whatIf {
			writeJSONResp(w, wire.NewMailboxResponse{Mailbox: wire.Mailbox{Name: name}, Result: result(name, "New-Mailbox", changes, nil, true)})
			return
		}
		f.Add(name, alias, f.plan.PopEnabled, f.plan.ImapEnabled)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		writeJSONResp(w, wire.NewMailboxResponse{Mailbox: mailboxView(f.Mailboxes[len(f.Mailboxes)-1]), Result: result(name, "New-Mailbox", changes, nil, false)})
	case segs[0] == "mailboxes" && len(segs) == 2 && r.Method == http.MethodDelete:
		ms, msg := f.Find(segs[1])
		if msg != "" {
			writeErr(w, 404, "NotFound", msg)
			return
		}
		if !whatIf {
			for i, m := range f.Mailboxes {
				if m["Guid"] == ms[0]["Guid"] {
					f.Mailboxes = append(f.Mailboxes[:i], f.Mailboxes[i+1:]...)
					break
				}
			}
			f.index = map[string][]map[string]any{}
			for _, m := range f.Mailboxes {
				f.indexMailbox(m)
			}
		}
		name := ms[0]["Name"].(string)
		writeJSONResp(w, result(name, "Remove-Mailbox", []wire.Change{{Name: "Mailbox", OldValue: name, NewValue: ""}}, nil, whatIf))
	case segs[0] == "casmailboxplan" && r.Method == http.MethodPatch:
		var body wire.SetPlanBody
		_ = json.NewDecoder(r.Body).Decode(&body)
		p := f.plan
		changes := setBool(nil, "PopEnabled", &p.PopEnabled, body.PopEnabled)
		changes = setBool(changes, "ImapEnabled", &p.ImapEnabled, body.ImapEnabled)
		if !whatIf {
			f.plan = p
		}
		writeJSONResp(w, result(p.Name, "Set-CASMailboxPlan", changes, nil, whatIf))
	case segs[0] == "casmailboxplan":
		writeJSONResp(w, f.plan)
	case segs[0] == "organizationconfig" && r.Method == http.MethodPatch:
		var body wire.SetOrgBody
		_ = json.NewDecoder(r.Body).Decode(&body)
		o := f.org
		changes := setBool(nil, "SecurityDefaultsEnabled", &o.SecurityDefaultsEnabled, body.SecurityDefaultsEnabled)
		if !whatIf {
			f.org = o
		}
		writeJSONResp(w, result(o.Name, "Set-OrganizationConfig", changes, nil, whatIf))
	case segs[0] == "organizationconfig":
		writeJSONResp(w, f.org)
	case segs[0] == "rolegroups" && len(segs) == 1:
		var out []wire.RoleGroup
		for _, n := range []string{"Organization Management", "Recipient Management", "Help Desk", "View-Only Organization Management"} {
			out = append(out, wire.RoleGroup{Identity: n, Name: n, Description: "Built-in role group " + n, Roles: []string{}, Members: f.groups[n]})
		}
		writeJSONResp(w, out)
	case segs[0] == "rolegroups" && len(segs) == 3 && segs[2] == "members" && r.Method == http.MethodGet:
		members, ok := f.groups[segs[1]]
		if !ok {
			writeErr(w, 404, "NotFound", fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on 'gatehouse.test'.", segs[1]))
			return
		}
		out := []wire.RoleGroupMember{}
		for _, m := range members {
			out = append(out, wire.RoleGroupMember{Identity: m, Name: m, DisplayName: m, RecipientType: "User"})
		}
		writeJSONResp(w, out)
	case segs[0] == "rolegroups" && len(segs) == 3 && r.Method == http.MethodPost:
		var body wire.AddMemberBody
		_ = json.NewDecoder(r.Body).Decode(&body)
		if !whatIf {
			f.groups[segs[1]] = append(f.groups[segs[1]], body.Member)
		}
		writeJSONResp(w, result(segs[1], "Add-RoleGroupMember", []wire.Change{{Name: "Members", OldValue: "", NewValue: body.Member}}, nil, whatIf))
	case segs[0] == "adminauditlog":
		out := []wire.AuditRecord{}
		for _, a := range f.audit {
			if c := r.URL.Query().Get("cmdlets"); c != "" && !strings.EqualFold(c, a.CmdletName) {
				continue
			}
			out = append(out, a)
		}
		writeJSONResp(w, out)
	case segs[0] == "reports":
		period := r.URL.Query().Get("period")
		if period == "" {
			period = "30"
		}
		n, _ := strconv.Atoi(period)
		lastPop := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		writeJSONResp(w, wire.EmailAppUsageReport{Period: n, ReportDate: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), ActivePopUsers: 1, ActiveImapUsers: 0,
			Users: []wire.EmailAppUsage{{UserPrincipalName: "christa@contoso.com", DisplayName: "Christa Knapp", LastPopDate: &lastPop,
				PopLogins: 3, PopRefused: 1}},
			Daily: []wire.DailyActiveUsers{{Date: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), PopUsers: 1}}})
	default:
		writeErr(w, 404, "NotFound", "No such resource: "+r.Method+" "+path)
	}
}

// setBool applies one optional boolean of a change body to *dst and
// records the change.
func setBool(changes []wire.Change, name string, dst *bool, v *bool) []wire.Change {
	if v == nil || *dst == *v {
		return changes
	}
	changes = append(changes, wire.Change{Name: name, OldValue: boolText(*dst), NewValue: boolText(*v)})
	*dst = *v
	return changes
}

// list serves a page of a collection: ?filter= (OPATH), ?resultSize=,
// ?cursor= (offset), with nextLink to the next page.
func (f *Server) list(w http.ResponseWriter, r *http.Request, cas bool) {
	q := r.URL.Query()
	var expr opath.Expr
	if fs := q.Get("filter"); fs != "" {
		e, err := opath.Parse(fs)
		if err != nil {
			writeErr(w, 400, "InvalidFilter", err.Error())
			return
		}
		schema := opath.Schema{"Name": opath.TypeString, "Alias": opath.TypeString, "DisplayName": opath.TypeString, "PopEnabled": opath.TypeBool, "ImapEnabled": opath.TypeBool, "PrimarySmtpAddress": opath.TypeString}
		e, err = opath.Check(fs, e, schema)
		if err != nil {
			writeErr(w, 400, "InvalidFilter", err.Error())
			return
		}
		expr = e
	}
	var matched []map[string]any
	for _, m := range f.Mailboxes {
		if pre := strings.ToLower(q.Get("search")); pre != "" {
			hit := false
			for _, k := range []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress"} {
				hit = hit || strings.HasPrefix(strings.ToLower(m[k].(string)), pre)
			}
			if !hit {
				continue
			}
		}
		if id := q.Get("identity"); id != "" {
			hit := false
			for _, k := range []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "Guid"} {
				hit = hit || opath.Like(id, m[k].(string))
			}
			if !hit {
				continue
			}
		}
		if expr != nil {
			ok, err := opath.Eval(expr, func(p string) (any, bool) {
				for k, v := range m {
					if strings.EqualFold(k, p) {
						return v, true
					}
				}
				return nil, false
			})
			if err != nil {
				writeErr(w, 400, "InvalidFilter", err.Error())
				return
			}
			if !ok {
				continue
			}
		}
		matched = append(matched, m)
	}
	size := 1000
	if rs := q.Get("resultSize"); strings.EqualFold(rs, "unlimited") {
		size = len(matched)
	} else if rs != "" {
		size, _ = strconv.Atoi(rs)
	}
	size = min(size, f.PageSize)
	start, _ := strconv.Atoi(q.Get("offset"))
	start = min(start, len(matched))
	end := min(start+size, len(matched))
	if cas {
		page := wire.ListBody[wire.CASMailbox]{Items: []wire.CASMailbox{}, Total: len(matched), Offset: start, More: end < len(matched)}
		for _, m := range matched[start:end] {
			page.Items = append(page.Items, f.casView(m))
		}
		writeJSONResp(w, page)
		return
	}
	page := wire.ListBody[wire.Mailbox]{Items: []wire.Mailbox{}, Total: len(matched), Offset: start, More: end < len(matched)}
	for _, m := range matched[start:end] {
		page.Items = append(page.Items, mailboxView(m))
	}
	writeJSONResp(w, page)
}

// apiErr is an error answer of the fake, with its status.
type apiErr struct {
	status int
	wire.ErrorDetail
}

// patchCAS applies a change and answers a ResultBody, or an error.
func (f *Server) patchCAS(id string, body wire.SetCASMailboxBody, whatIf bool) (wire.ResultBody, *apiErr) {
	ms, msg := f.Find(id)
	if msg != "" {
		status := 404
		code := "NotFound"
		if strings.Contains(msg, "multiple") {
			status, code = 409, "AmbiguousIdentity"
		}
		return wire.ResultBody{}, &apiErr{status: status, ErrorDetail: wire.ErrorDetail{Code: code, Message: msg}}
	}
	m := ms[0]
	var changes []wire.Change
	var sessions []wire.OpenSession
	for _, k := range []struct {
		name  string
		v     *bool
		proto string
	}{{"PopEnabled", body.PopEnabled, "POP3"}, {"ImapEnabled", body.ImapEnabled, "IMAP4"}} {
		if k.v == nil || m[k.name] == *k.v {
			continue
		}
		changes = append(changes, wire.Change{Name: k.name, OldValue: boolText(m[k.name]), NewValue: boolText(*k.v)})
		if !*k.v {
			for range f.sessions[m["Name"].(string)][k.proto] {
				sessions = append(sessions, wire.OpenSession{Mailbox: m["Name"].(string), Protocol: k.proto, RemoteAddr: "192.0.2.7:50000",
					Since: time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)})
			}
		}
		if !whatIf {
			m[k.name] = *k.v
		}
	}
	if n := body.SmtpClientAuthenticationDisabled; n.Set {
		old, _ := m["SmtpClientAuthenticationDisabled"].(*bool)
		if nullableText(old) != nullableText(n.Value) {
			changes = append(changes, wire.Change{Name: "SmtpClientAuthenticationDisabled", OldValue: nullableText(old), NewValue: nullableText(n.Value)})
			if !whatIf {
				m["SmtpClientAuthenticationDisabled"] = n.Value
			}
		}
	}
	return result(m["Name"].(string), "Set-CASMailbox", changes, sessions, whatIf), nil
}

// nullableText writes a nullable switch as the server's results do.
func nullableText(v *bool) string {
	if v == nil {
		return "$null"
	}
	return boolText(*v)
}
