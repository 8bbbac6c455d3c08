package admincenter_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// startEnv starts a test server. Before it stops, its queued login records
// are written: the server's shutdown closes the store before the login
// recorder, and a write after that can hang (reported to the lead), so the
// tests, which log in over POP3 and IMAP4, leave nothing queued.
func startEnv(t testing.TB, o testenv.Options) *testenv.Env {
	t.Helper()
	env := testenv.Start(t, o)
	t.Cleanup(env.Recorder.Flush)
	return env
}

// callerOf signs a user in through the service directly, for checks that
// read state behind the admin center's back.
func callerOf(t testing.TB, env *testenv.Env, user, password string) service.Caller {
	t.Helper()
	_, c, err := env.Service.SignIn(context.Background(), user, password, service.SurfaceShell, "127.0.0.1")
	if err != nil {
		t.Fatalf("sign in %s through the service: %v", user, err)
	}
	return c
}

func adminCaller(t testing.TB, env *testenv.Env) service.Caller {
	return callerOf(t, env, "admin", testenv.AdminPassword)
}

// guidOf returns a mailbox's GUID.
func guidOf(t testing.TB, env *testenv.Env, name string) string {
	t.Helper()
	m, err := env.Service.GetMailbox(context.Background(), adminCaller(t, env), name)
	if err != nil {
		t.Fatalf("get mailbox %s: %v", name, err)
	}
	return m.Guid
}

// casOf returns a mailbox's CAS settings as the service has them.
func casOf(t testing.TB, env *testenv.Env, name string) service.CASMailbox {
	t.Helper()
	m, err := env.Service.GetCASMailbox(context.Background(), adminCaller(t, env), name)
	if err != nil {
		t.Fatalf("get CAS mailbox %s: %v", name, err)
	}
	return m
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed unless asked, and the CSRF token of the last page read.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func newClient(t testing.TB, env *testenv.Env) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: env.URL(), http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a request got.
type response struct {
	status   int
	header   http.Header
	body     string
	location string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: string(b), location: res.Header.Get("Location")}
	if m := csrfField.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// follow GETs path and follows redirects inside the admin center.
func (c *client) follow(path string) response {
	c.t.Helper()
	for range 10 {
		r := c.get(path)
		if r.status != http.StatusSeeOther && r.status != http.StatusFound {
			return r
		}
		path = r.location
	}
	c.t.Fatalf("too many redirects from %s", path)
	return response{}
}

// post sends a form with the CSRF token of the last page read (unless the
// form has one).
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	given := form
	form = url.Values{}
	for k, v := range given {
		form[k] = v
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signIn signs in through the sign-in form.
func (c *client) signIn(user, password string) {
	c.t.Helper()
	c.get("/admin/signin")
	r := c.post("/admin/signin", url.Values{"username": {user}, "password": {password}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: got status %d; want 303\n%s", user, r.status, r.body)
	}
	// Read a page, for the session's CSRF token.
	c.get("/admin/recipients/mailboxes")
}

// signedIn returns a client signed in as user.
func signedIn(t testing.TB, env *testenv.Env, user, password string) *client {
	t.Helper()
	c := newClient(t, env)
	c.signIn(user, password)
	return c
}
