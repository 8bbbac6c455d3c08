package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// client talks to the REST API of a test server.
type client struct {
	t     *testing.T
	base  string
	token string
}

func signIn(t *testing.T, e *testenv.Env, user, password string) *client {
	t.Helper()
	c := &client{t: t, base: e.URL()}
	status, body := c.do("POST", "/api/v1/session", map[string]string{"UserName": user, "Password": password})
	if status != 200 {
		t.Fatalf("sign in as %s: %d %s", user, status, body)
	}
	var r struct{ Token string }
	json.Unmarshal(body, &r)
	c.token = r.Token
	return c
}

func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (c *client) json(method, path string, body any, v any) int {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, status, out)
		}
	}
	return status
}

type errBody struct {
	Error struct {
		Code, Message, Parameter string
	} `json:"error"`
}

func errorOf(t *testing.T, body []byte) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e
}

// TestPermissionMatrix runs every operation as a member of each built-in role
// group and checks allowed or denied (the role table of internal/rbac).
// Writes run with whatIf=true, so the matrix is the same whatever order it
// runs in; TestDeniedChangesNothing checks real writes.
func TestPermissionMatrix(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	roles := []struct{ user, password string }{
		{"admin", testenv.AdminPassword}, {"rita", testenv.DemoPassword}, {"holly", testenv.DemoPassword}, {"victor", testenv.DemoPassword},
	}
	// allowed: Organization Management, Recipient Management, Help Desk, View-Only.
	ops := []struct {
		method, path string
		body         any
		allowed      [4]bool
		role         string
	}{
		{"GET", "/api/v1/mailboxes", nil, [4]bool{true, true, true, true}, ""},
		{"GET", "/api/v1/mailboxes/christa", nil, [4]bool{true, true, true, true}, ""},
		{"GET", "/api/v1/casmailboxes", nil, [4]bool{true, true, true, true}, ""},
		{"GET", "/api/v1/casmailboxes/christa", nil, [4]bool{true, true, true, true}, ""},
		{"PATCH", "/api/v1/casmailboxes/christa?whatIf=true", `{"PopEnabled":false}`, [4]bool{true, true, false, false}, "Mail Recipients"},
		{"POST", "/api/v1/mailboxes?whatIf=true", `{"Name":"Matrix User","Password":"Matrix-Pass-1"}`, [4]bool{true, true, false, false}, "Mail Recipient Creation"},
		{"PATCH", "/api/v1/mailboxes/ben?whatIf=true", `{"DisplayName":"Benjamin Andrews"}`, [4]bool{true, true, false, false}, "Mail Recipients"},
		{"PATCH", "/api/v1/mailboxes/ben?whatIf=true", `{"Password":"New-Password-1"}`, [4]bool{true, true, true, false}, "Reset Password"},
		{"DELETE", "/api/v1/mailboxes/ben?whatIf=true", nil, [4]bool{true, true, false, false}, "Mail Recipient Creation"},
		{"GET", "/api/v1/casmailboxplan", nil, [4]bool{true, true, false, true}, "View-Only Configuration"},
		{"PATCH", "/api/v1/casmailboxplan?whatIf=true", `{"PopEnabled":false}`, [4]bool{true, false, false, false}, "Organization Client Access"},
		{"GET", "/api/v1/organizationconfig", nil, [4]bool{true, true, false, true}, "View-Only Configuration"},
		{"PATCH", "/api/v1/organizationconfig?whatIf=true", `{"SecurityDefaultsEnabled":true}`, [4]bool{true, false, false, false}, "Organization Client Access"},
		{"GET", "/api/v1/rolegroups", nil, [4]bool{true, true, false, true}, "View-Only Configuration"},
		{"GET", "/api/v1/rolegroups/Help%20Desk/members", nil, [4]bool{true, true, false, true}, "View-Only Configuration"},
		{"POST", "/api/v1/rolegroups/Help%20Desk/members?whatIf=true", `{"Member":"ben"}`, [4]bool{true, false, false, false}, "Role Management"},
		{"DELETE", "/api/v1/rolegroups/Help%20Desk/members/holly?whatIf=true", nil, [4]bool{true, false, false, false}, "Role Management"},
		{"GET", "/api/v1/adminauditlog", nil, [4]bool{true, false, false, true}, "View-Only Audit Logs"},
		{"GET", "/api/v1/reports/emailappusage?period=7", nil, [4]bool{true, true, true, true}, ""},
		{"GET", "/api/v1/me", nil, [4]bool{true, true, true, true}, ""},
	}
	for i, r := range roles {
		c := signIn(t, e, r.user, r.password)
		for _, op := range ops {
			status, body := c.do(op.method, op.path, op.body)
			if op.allowed[i] {
				if status >= 400 {
					t.Errorf("%s: %s %s: got %d %s; want allowed", r.user, op.method, op.path, status, body)
				}
				continue
			}
			if status != http.StatusForbidden {
				t.Errorf("%s: %s %s: got %d; want 403", r.user, op.method, op.path, status)
				continue
			}
			eb := errorOf(t, body)
			if eb.Error.Code != "AccessDenied" || !strings.Contains(eb.Error.Message, "'"+op.role+"' role") {
				t.Errorf("%s: %s %s: denial must name the missing role %q: %s", r.user, op.method, op.path, op.role, eb.Error.Message)
			}
		}
		// Bulk changes refuse item by item.
		var bulk struct {
			Results []struct{ Error *struct{ Code string } }
			Failed  int
		}
		c.json("PATCH", "/api/v1/casmailboxes", `{"Items":[{"Identity":"christa","PopEnabled":true},{"Identity":"kim","ImapEnabled":true}],"WhatIf":true}`, &bulk)
		denied := i >= 2
		if denied != (bulk.Failed == 2) || (denied && bulk.Results[0].Error.Code != "AccessDenied") {
			t.Errorf("%s: bulk change: %+v", r.user, bulk)
		}
	}
}

// TestDeniedChangesNothing makes real changes as Help Desk and View-Only
// admins and checks that nothing changed and that each denial is audited
// with Succeeded = false.
func TestDeniedChangesNothing(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	holly := signIn(t, e, "holly", testenv.DemoPassword)
	victor := signIn(t, e, "victor", testenv.DemoPassword)
	for _, c := range []*client{holly, victor} {
		if s, _ := c.do("PATCH", "/api/v1/casmailboxes/christa", `{"PopEnabled":false}`); s != 403 {
			t.Errorf("denied change: %d", s)
		}
		if s, _ := c.do("PATCH", "/api/v1/organizationconfig", `{"SecurityDefaultsEnabled":true}`); s != 403 {
			t.Errorf("denied change: %d", s)
		}
	}
	var cas struct{ PopEnabled bool }
	admin.json("GET", "/api/v1/casmailboxes/christa", nil, &cas)
	var org struct{ SecurityDefaultsEnabled bool }
	admin.json("GET", "/api/v1/organizationconfig", nil, &org)
	if !cas.PopEnabled || org.SecurityDefaultsEnabled {
		t.Fatalf("a denied change changed something: %+v %+v", cas, org)
	}
	var recs []struct {
		Caller, CmdletName, Error, Surface string
		Succeeded                          bool
	}
	admin.json("GET", "/api/v1/adminauditlog?isSuccess=false&cmdlets=Set-CASMailbox,Set-OrganizationConfig", nil, &recs)
	if len(recs) != 4 {
		t.Fatalf("denials audited: got %d records; want 4: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.Succeeded || !strings.Contains(r.Error, "Access denied") || r.Surface != "api" ||
			(r.Caller != "holly@contoso.com" && r.Caller != "victor@contoso.com") {
			t.Errorf("audit of a denial: %+v", r)
		}
	}
	// Help Desk may reset a password, and only that.
	if s, b := holly.do("PATCH", "/api/v1/mailboxes/ben", `{"Password":"Reset-By-Helpdesk-1"}`); s != 200 {
		t.Errorf("help desk password reset: %d %s", s, b)
	}
	if s, _ := holly.do("PATCH", "/api/v1/mailboxes/ben", `{"Password":"Reset-By-Helpdesk-2","DisplayName":"Ben"}`); s != 403 {
		t.Errorf("help desk reset plus a property change: %d; want 403", s)
	}
}

func TestBadInput(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	anon := &client{t: t, base: e.URL()}
	forged := &client{t: t, base: e.URL(), token: "forged-token-value"}
	for _, tc := range []struct {
		c            *client
		method, path string
		body         any
		status       int
		code         string
	}{
		{anon, "GET", "/api/v1/mailboxes", nil, 401, "Unauthenticated"},
		{forged, "GET", "/api/v1/mailboxes", nil, 401, "Unauthenticated"},
		{anon, "POST", "/api/v1/session", `{"UserName":"admin","Password":"wrong"}`, 401, "SignInFailed"},
		{anon, "POST", "/api/v1/session", `{"UserName":"nobody","Password":"wrong"}`, 401, "SignInFailed"},
		{anon, "POST", "/api/v1/session", `{"UserName":"christa","Password":"` + testenv.DemoPassword + `"}`, 401, "SignInFailed"},
		{anon, "POST", "/api/v1/session", `{"UserName":`, 400, "BadJSON"},
		{admin, "PATCH", "/api/v1/casmailboxes/christa", `{"PopEnabled":"maybe"}`, 400, "BadJSON"},
		{admin, "PATCH", "/api/v1/casmailboxes/christa", `{"PopEnable":false}`, 400, "UnknownProperty"},
		{admin, "PATCH", "/api/v1/casmailboxes/christa", `{}`, 400, "InvalidParameter"},
		{admin, "PATCH", "/api/v1/casmailboxes/christa", ``, 400, "BadJSON"},
		{admin, "PATCH", "/api/v1/casmailboxes/christa", `{"PopEnabled":false} {}`, 400, "BadJSON"},
		{admin, "PATCH", "/api/v1/casmailboxes/nobody", `{"PopEnabled":false}`, 404, "NotFound"},
		{admin, "PATCH", "/api/v1/casmailboxes/Christa*", `{"PopEnabled":false}`, 409, "AmbiguousIdentity"},
		{admin, "GET", "/api/v1/casmailboxes?filter=PopEnabled%20-eq", nil, 400, "InvalidFilter"},
		{admin, "GET", "/api/v1/casmailboxes?filter=Colour%20-eq%20'red'", nil, 400, "InvalidFilter"},
		{admin, "GET", "/api/v1/casmailboxes?filter=PopEnabled%20-like%20'x'", nil, 400, "InvalidFilter"},
		{admin, "GET", "/api/v1/casmailboxes?resultSize=lots", nil, 400, "InvalidParameter"},
		{admin, "GET", "/api/v1/casmailboxes?sort=Password", nil, 400, "InvalidParameter"},
		{admin, "GET", "/api/v1/adminauditlog?startDate=yesterday", nil, 400, "InvalidParameter"},
		{admin, "GET", "/api/v1/reports/emailappusage?period=14", nil, 400, "InvalidParameter"},
		{admin, "POST", "/api/v1/mailboxes", `{"Name":"Kim Akers","Password":"Some-Pass-1"}`, 409, "Conflict"},
		{admin, "POST", "/api/v1/mailboxes", `{"Name":"New One","Password":"short"}`, 400, "InvalidParameter"},
		{admin, "POST", "/api/v1/mailboxes", `{"Name":"New Two","PrimarySmtpAddress":"not an address","Password":"Long-Enough-1"}`, 400, "InvalidParameter"},
		{admin, "POST", "/api/v1/rolegroups/Help%20Desk/members", `{"Member":"holly"}`, 409, "Conflict"},
		{admin, "GET", "/api/v1/rolegroups/Nope", nil, 404, "NotFound"},
		{admin, "DELETE", "/api/v1/rolegroups/Organization%20Management/members/admin", nil, 400, "InvalidParameter"},
		{admin, "DELETE", "/api/v1/mailboxes/admin", nil, 400, "InvalidParameter"},
		{admin, "GET", "/api/v1/nothing", nil, 404, "NoSuchResource"},
		{admin, "PUT", "/api/v1/mailboxes", `{}`, 404, "NoSuchResource"},
	} {
		status, body := tc.c.do(tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s %s %v: got %d %s; want %d", tc.method, tc.path, tc.body, status, body, tc.status)
			continue
		}
		if eb := errorOf(t, body); eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s %s %v: got %+v; want code %s", tc.method, tc.path, tc.body, eb.Error, tc.code)
		}
	}
	// The Exchange texts.
	_, body := admin.do("PATCH", "/api/v1/casmailboxes/nobody", `{"PopEnabled":false}`)
	if m := errorOf(t, body).Error.Message; !strings.HasPrefix(m, "The operation couldn't be performed because object 'nobody' couldn't be found on '") {
		t.Errorf("not found text: %s", m)
	}
	// A signed-out token stops working.
	c := signIn(t, e, "admin", testenv.AdminPassword)
	if s, _ := c.do("DELETE", "/api/v1/session", nil); s != 204 {
		t.Errorf("sign out: %d", s)
	}
	if s, _ := c.do("GET", "/api/v1/me", nil); s != 401 {
		t.Errorf("after sign-out: %d; want 401", s)
	}
	// A password reset signs the mailbox's admin sessions out.
	rita := signIn(t, e, "rita", testenv.DemoPassword)
	if s, _ := admin.do("PATCH", "/api/v1/mailboxes/rita", `{"Password":"Rita-New-Pass-1"}`); s != 200 {
		t.Fatal("reset rita's password")
	}
	if s, _ := rita.do("GET", "/api/v1/me", nil); s != 401 {
		t.Errorf("session after password reset: %d; want 401", s)
	}
	// Cross-site requests with the cookie are refused.
	req, _ := http.NewRequest("PATCH", e.URL()+"/api/v1/casmailboxes/christa", strings.NewReader(`{"PopEnabled":false}`))
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: admin.token})
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-site cookie write: %d; want 403", resp.StatusCode)
	}
}

func TestNoChangeWhatIfAndAudit(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	var r struct {
		NoChange   bool
		Warning    string
		WhatIfText string
		Changes    []struct{ Name, OldValue, NewValue string }
	}
	admin.json("PATCH", "/api/v1/casmailboxes/christa", `{"PopEnabled":true}`, &r)
	if !r.NoChange || r.Warning != "The command completed successfully but no settings of 'Christa Knapp' have been modified." {
		t.Errorf("no-op: %+v", r)
	}
	admin.json("PATCH", "/api/v1/casmailboxes/christa?whatIf=true", `{"PopEnabled":false}`, &r)
	if r.NoChange || !strings.HasPrefix(r.WhatIfText, `What if: Performing the operation "Set-CASMailbox" on target "Christa Knapp". PopEnabled: True -> False.`) {
		t.Errorf("what if: %+v", r)
	}
	var cas struct{ PopEnabled bool }
	admin.json("GET", "/api/v1/casmailboxes/christa", nil, &cas)
	if !cas.PopEnabled {
		t.Fatal("WhatIf changed something")
	}
	admin.json("PATCH", "/api/v1/casmailboxes/CHRISTA%40contoso.com", `{"PopEnabled":false}`, &r)
	var recs []struct {
		CmdletName, ObjectModified, Caller, ClientIP, Surface string
		Succeeded                                             bool
		CmdletParameters                                      []struct{ Name, Value string }
		ModifiedProperties                                    []struct{ Name, OldValue, NewValue string }
	}
	admin.json("GET", "/api/v1/adminauditlog?cmdlets=Set-CASMailbox", nil, &recs)
	if len(recs) != 1 {
		t.Fatalf("audit: the no-op and the WhatIf write nothing; got %d records: %+v", len(recs), recs)
	}
	got := recs[0]
	if got.ObjectModified != "Christa Knapp" || got.Caller != "admin@contoso.com" || got.ClientIP != "127.0.0.1" || !got.Succeeded ||
		len(got.ModifiedProperties) != 1 || got.ModifiedProperties[0] != (struct{ Name, OldValue, NewValue string }{"PopEnabled", "True", "False"}) {
		t.Errorf("audit record: %+v", got)
	}
}

// TestOpenAPIMatchesServer checks that every operation of the document is
// served (none answers "no such resource") and that what GET operations
// return has the properties the document lists.
func TestOpenAPIMatchesServer(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	admin := signIn(t, e, "admin", testenv.AdminPassword)
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage
				Required   []string
			}
		}
	}
	if s := admin.json("GET", "/api/v1/openapi.json", nil, &doc); s != 200 {
		t.Fatalf("openapi.json: %d", s)
	}
	if len(doc.Paths) < 15 {
		t.Fatalf("only %d paths documented", len(doc.Paths))
	}
	fill := strings.NewReplacer("{identity}", "christa", "{name}", "Help%20Desk", "{member}", "holly")
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			m := strings.ToUpper(method)
			p := fill.Replace(path)
			if m != "GET" {
				p += "?whatIf=true"
			}
			body := ""
			if m == "POST" || m == "PATCH" {
				body = "{}"
			}
			status, out := admin.do(m, p, body)
			if status == 404 && strings.Contains(string(out), "NoSuchResource") || status == 405 {
				t.Errorf("%s %s is documented but not served: %d", m, path, status)
			}
			if m != "GET" || status != 200 || path == "/api/v1/openapi.json" {
				continue
			}
			var op struct {
				Responses map[string]struct {
					Content map[string]struct {
						Schema struct {
							Ref   string `json:"$ref"`
							Items struct {
								Ref string `json:"$ref"`
							}
						}
					}
				}
			}
			json.Unmarshal(raw, &op)
			sch := op.Responses["200"].Content["application/json"].Schema
			ref, isArray := sch.Ref, false
			if ref == "" {
				ref, isArray = sch.Items.Ref, true
			}
			name := ref[strings.LastIndex(ref, "/")+1:]
			props, required := doc.Components.Schemas[name].Properties, doc.Components.Schemas[name].Required
			var obj map[string]json.RawMessage
			if isArray {
				var arr []map[string]json.RawMessage
				json.Unmarshal(out, &arr)
				if len(arr) == 0 {
					continue
				}
				obj = arr[0]
			} else {
				json.Unmarshal(out, &obj)
			}
			for k := range obj {
				if _, ok := props[k]; !ok {
					t.Errorf("GET %s returns %s, which schema %s does not list", path, k, name)
				}
			}
			for _, k := range required {
				if _, ok := obj[k]; !ok {
					t.Errorf("GET %s: schema %s lists %s, which the server does not return", path, name, k)
				}
			}
		}
	}
}

// TestAnswerIndentation checks that answers are indented for people and
// compact for the admin shell's client, and the same JSON either way.
func TestAnswerIndentation(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	c := signIn(t, e, "admin", testenv.AdminPassword)
	get := func(shell bool) []byte {
		req, _ := http.NewRequest("GET", c.base+"/api/v1/casmailboxes/christa", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		if shell {
			req.Header.Set("X-Gatehouse-Surface", "shell")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET casmailboxes/christa (shell %v): %d %s", shell, resp.StatusCode, out)
		}
		return out
	}
	people, shell := get(false), get(true)
	if !bytes.Contains(people, []byte("\n  \"")) {
		t.Errorf("answer without the shell header is not indented: %s", people)
	}
	if bytes.Count(bytes.TrimSpace(shell), []byte("\n")) != 0 {
		t.Errorf("answer to the shell is indented: %s", shell)
	}
	var a, b map[string]any
	if err := json.Unmarshal(people, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(shell, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("the two answers differ:\n%s\n%s", ja, jb)
	}
}
