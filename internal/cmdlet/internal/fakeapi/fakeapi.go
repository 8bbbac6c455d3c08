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

	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// Server is an in-memory server that speaks the REST API as issue 5
// specifies it, as far as the cmdlets use it. It stands in for
// internal/api in unit tests.
type Server struct {
	// Mu guards Mailboxes.
	Mu        sync.Mutex
	Mailboxes []map[string]any
	plan      map[string]any
	org       map[string]any
	groups    map[string][]string
	audit     []map[string]any
	Token     string
	Bulk      bool // offer PATCH /casmailboxes with an array
	PageSize  int
	Requests  atomic.Int64
	Patches   atomic.Int64
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
		plan:     map[string]any{"Name": "ExchangeOnline", "PopEnabled": true, "ImapEnabled": true},
		org:      map[string]any{"Name": "Contoso", "SecurityDefaultsEnabled": false},
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

// The property orders of the API's views (internal/service/views.go).
var mailboxOrder = []string{"Identity", "Name", "DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "Guid"}
var casOrder = []string{"Identity", "Name", "DisplayName", "PrimarySmtpAddress", "Guid", "PopEnabled", "ImapEnabled", "EffectivePopEnabled", "EffectiveImapEnabled", "PopAccess", "ImapAccess", "LastPopLogonTime", "LastImapLogonTime"}

// ordered writes a JSON object with keys in the given order.
func ordered(m map[string]any, keys []string) json.RawMessage {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kd, _ := json.Marshal(k)
		vd, _ := json.Marshal(v)
		b.Write(kd)
		b.WriteByte(':')
		b.Write(vd)
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

func (f *Server) view(m map[string]any, cas bool) json.RawMessage {
	v := map[string]any{"Identity": m["Name"]}
	for k, x := range m {
		v[k] = x
	}
	if !cas {
		return ordered(v, mailboxOrder)
	}
	sd := f.org["SecurityDefaultsEnabled"].(bool)
	access := func(enabled bool) string {
		switch {
		case sd:
			return "BlockedBySecurityDefaults"
		case enabled:
			return "Enabled"
		}
		return "Disabled"
	}
	v["EffectivePopEnabled"] = !sd && m["PopEnabled"].(bool)
	v["EffectiveImapEnabled"] = !sd && m["ImapEnabled"].(bool)
	v["PopAccess"] = access(m["PopEnabled"].(bool))
	v["ImapAccess"] = access(m["ImapEnabled"].(bool))
	v["LastPopLogonTime"] = nil
	v["LastImapLogonTime"] = "2024-05-01T10:00:00Z"
	return ordered(v, casOrder)
}

// result is the API's ResultBody.
func result(identity, cmdlet string, changes []map[string]any, sessions []map[string]any, whatIf bool) map[string]any {
	if changes == nil {
		changes = []map[string]any{}
	}
	if sessions == nil {
		sessions = []map[string]any{}
	}
	r := map[string]any{"Identity": identity, "Cmdlet": cmdlet, "Changes": changes, "NoChange": len(changes) == 0,
		"WhatIf": whatIf, "Sessions": sessions}
	if len(changes) == 0 {
		r["Warning"] = fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", identity)
	}
	if whatIf {
		text := fmt.Sprintf("What if: Performing the operation %q on target %q.", cmdlet, identity)
		if len(changes) == 0 {
			text += " Nothing would change."
		}
		var parts []string
		for _, c := range changes {
			parts = append(parts, fmt.Sprintf("%s: %s -> %s", c["Name"], c["OldValue"], c["NewValue"]))
		}
		if len(parts) > 0 {
			text += " " + strings.Join(parts, "; ") + "."
		}
		if len(sessions) > 0 {
			by := map[string]int{}
			for _, s := range sessions {
				by[s["Protocol"].(string)]++
			}
			var ps []string
			for _, p := range []string{"POP3", "IMAP4"} {
				if by[p] > 0 {
					ps = append(ps, fmt.Sprintf("%d %s", by[p], p))
				}
			}
			text += " Open sessions that would be closed: " + strings.Join(ps, ", ") + "."
		}
		r["WhatIfText"] = text
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
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
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
		var in struct{ UserName, Password string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in.UserName != "admin" || in.Password != "secret" {
			writeErr(w, 401, "Unauthorized", "Invalid credentials")
			return
		}
		f.Mu.Lock()
		tok := f.Token
		f.Mu.Unlock()
		writeJSONResp(w, map[string]string{"Token": tok})
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
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, 400, "BadRequest", "The request body is not valid JSON.")
			return
		}
		status, res := f.patchCAS(segs[1], body, whatIf)
		if status != 200 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
		}
		writeJSONResp(w, res)
	case segs[0] == "casmailboxes" && len(segs) == 1 && r.Method == http.MethodPatch:
		if !f.Bulk {
			writeErr(w, 405, "MethodNotAllowed", "PATCH is not allowed on a collection.")
			return
		}
		f.Patches.Add(1)
		var body struct {
			Items  []map[string]any
			WhatIf bool
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeErr(w, 400, "BadJSON", "The request body is not valid JSON.")
			return
		}
		out := make([]any, len(body.Items))
		for i, it := range body.Items {
			id, _ := it["Identity"].(string)
			delete(it, "Identity")
			status, res := f.patchCAS(id, it, body.WhatIf)
			if status != 200 {
				out[i] = map[string]any{"Result": result(id, "Set-CASMailbox", nil, nil, false), "Error": res.(map[string]any)["error"]}
				continue
			}
			out[i] = map[string]any{"Result": res}
		}
		writeJSONResp(w, map[string]any{"Results": out})
	case segs[0] == "mailboxes" && len(segs) == 1 && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		name, _ := body["Name"].(string)
		if ms, _ := f.Find(name); len(ms) > 0 {
			writeErr(w, 409, "Conflict", fmt.Sprintf("The name '%s' is already being used. Please try another name.", name))
			return
		}
		if _, ok := body["Password"].(string); !ok {
			writeErr(w, 400, "BadRequest", "A password is required.")
			return
		}
		alias, _ := body["Alias"].(string)
		if alias == "" {
			alias = strings.ToLower(strings.ReplaceAll(name, " ", ""))
		}
		if whatIf {
			writeJSONResp(w, map[string]any{"Mailbox": map[string]any{"Name": name}, "Result": result(name, "New-Mailbox", []map[string]any{{"Name": "Name", "OldValue": "", "NewValue": name}}, nil, true)})
			return
		}
		f.Add(name, alias, f.plan["PopEnabled"].(bool), f.plan["ImapEnabled"].(bool))
		w.WriteHeader(201)
		writeJSONResp(w, map[string]any{"Mailbox": f.view(f.Mailboxes[len(f.Mailboxes)-1], false), "Result": result(name, "New-Mailbox", []map[string]any{{"Name": "Name", "OldValue": "", "NewValue": name}}, nil, false)})
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
		writeJSONResp(w, result(ms[0]["Name"].(string), "Remove-Mailbox", []map[string]any{{"Name": "Mailbox", "OldValue": ms[0]["Name"], "NewValue": ""}}, nil, whatIf))
	case segs[0] == "casmailboxplan" || segs[0] == "organizationconfig":
		obj := f.plan
		order := []string{"Identity", "Name", "PopEnabled", "ImapEnabled"}
		cmdlet := "Set-CASMailboxPlan"
		if segs[0] == "organizationconfig" {
			obj, order, cmdlet = f.org, []string{"Identity", "Name", "SecurityDefaultsEnabled"}, "Set-OrganizationConfig"
		}
		obj["Identity"] = obj["Name"]
		if r.Method == http.MethodPatch {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			var changes []map[string]any
			for _, k := range []string{"PopEnabled", "ImapEnabled", "SecurityDefaultsEnabled"} {
				v, ok := body[k]
				if !ok || obj[k] == v {
					continue
				}
				changes = append(changes, map[string]any{"Name": k, "OldValue": boolText(obj[k]), "NewValue": boolText(v)})
				if !whatIf {
					obj[k] = v
				}
			}
			writeJSONResp(w, result(obj["Name"].(string), cmdlet, changes, nil, whatIf))
			return
		}
		writeJSONResp(w, ordered(obj, order))
	case segs[0] == "rolegroups" && len(segs) == 1:
		var out []any
		for _, n := range []string{"Organization Management", "Recipient Management", "Help Desk", "View-Only Organization Management"} {
			out = append(out, ordered(map[string]any{"Name": n, "Description": "Built-in role group " + n}, []string{"Name", "Description"}))
		}
		writeJSONResp(w, out)
	case segs[0] == "rolegroups" && len(segs) == 3 && segs[2] == "members" && r.Method == http.MethodGet:
		members, ok := f.groups[segs[1]]
		if !ok {
			writeErr(w, 404, "NotFound", fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on 'gatehouse.test'.", segs[1]))
			return
		}
		out := []any{}
		for _, m := range members {
			out = append(out, ordered(map[string]any{"Name": m, "RecipientType": "User"}, []string{"Name", "RecipientType"}))
		}
		writeJSONResp(w, out)
	case segs[0] == "rolegroups" && len(segs) == 3 && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if !whatIf {
			f.groups[segs[1]] = append(f.groups[segs[1]], body["Member"].(string))
		}
		writeJSONResp(w, result(segs[1], "Add-RoleGroupMember", []map[string]any{{"Name": "Members", "OldValue": "", "NewValue": body["Member"]}}, nil, whatIf))
	case segs[0] == "adminauditlog":
		out := []any{}
		for _, a := range f.audit {
			if c := r.URL.Query().Get("cmdlets"); c != "" && !strings.EqualFold(c, a["CmdletName"].(string)) {
				continue
			}
			out = append(out, ordered(a, []string{"RunDate", "Caller", "CmdletName", "ObjectModified", "Succeeded"}))
		}
		writeJSONResp(w, out)
	case segs[0] == "reports":
		period := r.URL.Query().Get("period")
		if period == "" {
			period = "30"
		}
		n, _ := strconv.Atoi(period)
		writeJSONResp(w, map[string]any{"Period": n, "ReportDate": "2024-05-02T00:00:00Z", "ActivePopUsers": 1, "ActiveImapUsers": 0,
			"Users": []any{ordered(map[string]any{"UserPrincipalName": "christa@contoso.com", "DisplayName": "Christa Knapp", "LastPopDate": "2024-05-01T10:00:00Z", "LastImapDate": nil, "PopLogins": 3, "ImapLogins": 0, "PopRefused": 1, "ImapRefused": 0, "FailedLogins": 0},
				[]string{"UserPrincipalName", "DisplayName", "LastPopDate", "LastImapDate", "PopLogins", "ImapLogins", "PopRefused", "ImapRefused", "FailedLogins"})},
			"Daily": []any{ordered(map[string]any{"Date": "2024-05-01T00:00:00Z", "PopUsers": 1, "ImapUsers": 0}, []string{"Date", "PopUsers", "ImapUsers"})}})
	default:
		writeErr(w, 404, "NotFound", "No such resource: "+r.Method+" "+path)
	}
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
	page := []json.RawMessage{}
	for _, m := range matched[start:end] {
		page = append(page, f.view(m, cas))
	}
	writeJSONResp(w, map[string]any{"Items": page, "Total": len(matched), "Offset": start, "More": end < len(matched)})
}

// patchCAS applies a change and answers a ResultBody, or (status, {"error"}).
func (f *Server) patchCAS(id string, body map[string]any, whatIf bool) (int, any) {
	ms, msg := f.Find(id)
	if msg != "" {
		status := 404
		code := "NotFound"
		if strings.Contains(msg, "multiple") {
			status, code = 409, "AmbiguousIdentity"
		}
		return status, map[string]any{"error": map[string]string{"code": code, "message": msg}}
	}
	m := ms[0]
	var changes, sessions []map[string]any
	for _, k := range []string{"PopEnabled", "ImapEnabled"} {
		v, ok := body[k]
		if !ok || m[k] == v {
			continue
		}
		changes = append(changes, map[string]any{"Name": k, "OldValue": boolText(m[k]), "NewValue": boolText(v)})
		proto := map[string]string{"PopEnabled": "POP3", "ImapEnabled": "IMAP4"}[k]
		if v == false {
			for range f.sessions[m["Name"].(string)][proto] {
				sessions = append(sessions, map[string]any{"Mailbox": m["Name"], "Protocol": proto, "RemoteAddr": "192.0.2.7:50000", "Since": "2024-05-02T08:00:00Z"})
			}
		}
		if !whatIf {
			m[k] = v
		}
	}
	return 200, result(m["Name"].(string), "Set-CASMailbox", changes, sessions, whatIf)
}
