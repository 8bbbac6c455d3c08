package admincenter

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err      error
		status   int
		title    string
		internal bool
	}{
		{&service.ForbiddenError{Caller: "holly", Cmdlet: "Set-CASMailbox", Role: rbac.MailRecipients}, 403, "Access denied", false},
		{fmt.Errorf("wrapped: %w", &service.NotFoundError{Identity: "x", Server: "s"}), 404, "Not found", false},
		{&service.AmbiguousError{Identity: "Chr*"}, 409, "More than one match", false},
		{&service.ValidationError{Parameter: "Alias", Message: "bad"}, 400, "Check the values", false},
		{&service.ConflictError{Message: "taken"}, 409, "Already in use", false},
		{&service.SignInError{Message: "no"}, 401, "Sign-in failed", false},
		{&service.SignInError{Message: "wait", RetryAfter: time.Minute}, 429, "Sign-in failed", false},
		{service.ErrUnauthenticated, 401, "Sign in", false},
		{errCSRF, 403, "The form has expired", false},
		{userError(400, "Select one mailbox", "..."), 400, "Select one mailbox", false},
		{fmt.Errorf("db: %w", context.Canceled), 503, "The request was interrupted", true},
		{errors.New("disk full"), 500, "Something went wrong", true},
	} {
		p := describe(tc.err)
		if p.Status != tc.status || p.Title != tc.title || p.Internal != tc.internal {
			t.Errorf("%v: got %d %q internal=%v; want %d %q internal=%v", tc.err, p.Status, p.Title, p.Internal, tc.status, tc.title, tc.internal)
		}
		if tc.internal && strings.Contains(p.Message, tc.err.Error()) {
			t.Errorf("%v: an internal error's text is shown: %q", tc.err, p.Message)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/admin/recipients/mailboxes?search=x", "/admin/recipients/mailboxes?search=x"},
		{"/admin/auditing/admin-audit-log", "/admin/auditing/admin-audit-log"},
		{"", mailboxesPath},
		{"//evil.example/admin/", mailboxesPath},
		{"https://evil.example/admin/", mailboxesPath},
		{"/\\evil.example", mailboxesPath},
		{"/admin/\r\nLocation: x", mailboxesPath},
		{"/admin/signin?next=/admin/", mailboxesPath},
		{"/adminx", mailboxesPath},
		{"/api/v1/", mailboxesPath},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := csrfToken("session-a"), csrfToken("session-b")
	if a == b || a == "" {
		t.Fatalf("tokens of two sessions: %q and %q", a, b)
	}
	if strings.Contains(a, "session-a") {
		t.Errorf("the token shows the session")
	}
	if !validCSRF("session-a", a) || validCSRF("session-a", b) || validCSRF("", csrfToken("")) || validCSRF("session-a", "") {
		t.Errorf("validCSRF accepts the wrong token or refuses the right one")
	}
}

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Christa Knapp", "Christa Knapp"},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"}, {"\tx", "'\tx"}, {"", ""},
	} {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestThousandsAndPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 100001: "100,001", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d): got %q; want %q", n, got, want)
		}
	}
	if got := plural(1, "mailbox", "mailboxes"); got != "1 mailbox" {
		t.Errorf("plural 1: %q", got)
	}
	if got := plural(1200, "mailbox", "mailboxes"); got != "1,200 mailboxes" {
		t.Errorf("plural 1200: %q", got)
	}
}

func TestNiceStep(t *testing.T) {
	for max, want := range map[int]int{1: 1, 5: 1, 6: 2, 10: 2, 11: 5, 23: 5, 50: 10, 51: 20, 99: 20, 101: 50, 1000: 200, 12345: 5000} {
		if got := niceStep(max); got != want {
			t.Errorf("niceStep(%d): got %d; want %d", max, got, want)
		}
	}
}

func TestListState(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  listState
		url   string
	}{
		{"", listState{Page: 1}, "/admin/recipients/mailboxes"},
		{"search=+Chr+&sort=PopEnabled&desc=1&page=3", listState{Search: "Chr", Sort: "PopEnabled", Desc: true, Page: 3},
			"/admin/recipients/mailboxes?desc=1&page=3&search=Chr&sort=PopEnabled"},
		{"sort=PasswordHash&page=-2", listState{Page: 1}, "/admin/recipients/mailboxes"},
		{"page=99999999999", listState{Page: 1}, "/admin/recipients/mailboxes"},
	} {
		q, _ := url.ParseQuery(tc.query)
		got := listStateFrom(q)
		if got != tc.want {
			t.Errorf("%q: got %+v; want %+v", tc.query, got, tc.want)
		}
		if u := got.url(); u != tc.url {
			t.Errorf("%q: url got %q; want %q", tc.query, u, tc.url)
		}
	}
	long := listStateFrom(url.Values{"search": {strings.Repeat("é", 300)}})
	if n := len([]rune(long.Search)); n != 256 {
		t.Errorf("a long search: got %d runes; want 256", n)
	}
	if got := selection(url.Values{"id": {"a", " a ", "", "b", "a"}}); strings.Join(got, ",") != "a,b" {
		t.Errorf("selection: got %v; want a, b", got)
	}
}

// TestFlashRoundTrip carries a message through a cookie, and keeps a long
// one under the size browsers accept.
func TestFlashRoundTrip(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/admin/x", nil)
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("Changed: mailbox number %d with a long name", i))
	}
	rec := httptest.NewRecorder()
	setFlash(rec, req, flash{Kind: "success", Text: "Bulk Edit: POP3 disabled for 2,000 mailboxes.", Lines: lines})
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || len(cookies[0].Value) > maxFlash || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("flash cookie: %+v", cookies)
	}
	next := httptest.NewRequest(http.MethodGet, "/admin/y", nil)
	next.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	f := takeFlash(rec, next)
	if f == nil || f.Text != "Bulk Edit: POP3 disabled for 2,000 mailboxes." || !strings.HasPrefix(f.Lines[len(f.Lines)-1], "... and ") {
		t.Fatalf("flash after the round trip: %+v", f)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("the flash cookie isn't cleared after it is shown: %+v", c)
	}
	// A forged cookie with another kind shows as a plain message.
	bad := httptest.NewRequest(http.MethodGet, "/admin/y", nil)
	bad.AddCookie(&http.Cookie{Name: flashCookie, Value: "not base64 !!"})
	if f := takeFlash(httptest.NewRecorder(), bad); f != nil {
		t.Errorf("a broken flash cookie: got %+v; want none", f)
	}
}

func TestUsageChartIsWellFormed(t *testing.T) {
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 7, 180} {
		rep := service.EmailAppUsageReport{Period: n}
		for i := range n {
			rep.Daily = append(rep.Daily, service.DailyActiveUsers{Date: day.AddDate(0, 0, i), PopUsers: i % 4, ImapUsers: i * 3})
		}
		svg := string(usageChart(rep))
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%d days: not well-formed: %v\n%s", n, err, svg)
			}
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
			t.Errorf("%d days: the chart has inline style or script", n)
		}
		if want := strings.Count(svg, "<polyline"); n > 0 && want != 2 {
			t.Errorf("%d days: got %d lines; want 2", n, want)
		}
	}
}

func TestDenyReason(t *testing.T) {
	c := &service.Caller{Groups: []string{"Help Desk"}}
	got := denyReason(c, string(rbac.MailRecipients))
	want := "You can't change this: your role groups (Help Desk) don't include the Mail Recipients role. It comes with: Organization Management, Recipient Management."
	if got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestBoolParam(t *testing.T) {
	for _, tc := range []struct {
		in       string
		def, out bool
	}{{"true", false, true}, {"1", false, true}, {"on", false, true}, {"false", true, false}, {"0", true, false}, {"", true, true}, {"yes", false, false}} {
		if got := boolParam(tc.in, tc.def); got != tc.out {
			t.Errorf("boolParam(%q, %v): got %v; want %v", tc.in, tc.def, got, tc.out)
		}
	}
}

// TestTemplatesParse renders every page template with empty data, so that
// a template that refers to a missing field fails here and not in front
// of an administrator.
func TestTemplatesParse(t *testing.T) {
	p := mustParsePages(newAssets())
	want := []string{"advancedsearch", "apppasswords", "auditlog", "authpolicies", "bulk", "bulkjob", "edit", "emailapps", "error", "keyboard", "mailboxes", "migration", "migrationnew", "migrationuser", "newmailbox", "password", "permissions",
		"plan", "queue", "queueremove", "quota", "remove", "report", "securitydefaults", "securitydefaultsconfirm", "signin"}
	for _, name := range want {
		if _, ok := p.set[name]; !ok {
			t.Errorf("no page template %s", name)
		}
	}
	if len(p.set) != len(want) {
		t.Errorf("page templates: got %d; want %d", len(p.set), len(want))
	}
}
