package account_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/shell"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/browser"
)

func TestMain(m *testing.M) { browser.Main(m) }

const christa = "christa@contoso.com"

func need(t *testing.T, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s is needed: %v", prog, err)
		}
		t.Skipf("%s is not installed (%v); the test signs in with the real client", prog, err)
	}
}

// shellRun runs cmdlets through the admin shell: REST API, service layer.
func shellRun(t *testing.T, env *testenv.Env, cmd string) {
	t.Helper()
	var out, errb bytes.Buffer
	args := []string{"--server", env.URL(), "--user", "admin", "--password", testenv.AdminPassword, "--history", "-", "-c", cmd}
	if code := shell.Main(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("shell %q: exit %d\n%s%s", cmd, code, out.String(), errb.String())
	}
}

// mailLogin signs in over IMAP4 or POP3 with Python's imaplib or poplib
// and returns "OK" or the server's refusal.
func mailLogin(t *testing.T, env *testenv.Env, proto, user, password string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(env.Addr(proto))
	script := `import imaplib, poplib, sys
proto, host, port, user, pw = sys.argv[1:]
try:
    if proto == "imap":
        c = imaplib.IMAP4(host, int(port)); c.login(user, pw); c.logout()
    else:
        c = poplib.POP3(host, int(port)); c.user(user); c.pass_(pw); c.quit()
    print("OK")
except Exception as e:
    print("REFUSED", e)
`
	out, err := exec.Command("python3", "-c", script, proto, host, port, user, password).CombinedOutput()
	if err != nil {
		t.Fatalf("python %s login: %v\n%s", proto, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestAccountBrowser: a user signs in to /account in Chromium, sees their
// mail apps, sees POP3 turn Disabled with the reason after an administrator
// disables it, sees their refused sign-ins, and changes their password,
// after which IMAP4 takes the new one and refuses the old.
func TestAccountBrowser(t *testing.T) {
	need(t, "python3")
	env := testenv.Start(t, testenv.Options{Demo: true})
	axe := browser.AxeSource(t)
	base := env.URL()
	b := browser.NewTab(t)

	b.Open(base + "/account")
	if got := b.Text("h1"); got != "Sign in to your account" {
		t.Fatalf("heading: got %q; want the sign-in page (at %s)", got, b.Location())
	}
	b.Axe(axe, "sign-in page")

	// A wrong password: the page says so, without saying whether the user
	// exists.
	b.AllowConsole("status of 401")
	b.Type("username", christa)
	b.Type("password", "Wrong-Password-1")
	b.ClickLoads("form.form button[type=submit]")
	if got := b.Text("#problem"); got != "The user name or password is incorrect." {
		t.Errorf("wrong password: got %q", got)
	}
	b.Axe(axe, "sign-in page with a refusal")

	browser.Eval[bool](b, `document.getElementById("username").value = ""; document.getElementById("password").value = ""; true`)
	b.Type("username", christa)
	b.Type("password", testenv.DemoPassword)
	b.ClickLoads("form.form button[type=submit]")
	if got := b.Text("h1"); got != "Your account" {
		t.Fatalf("after sign-in: heading %q at %s", got, b.Location())
	}
	state := func(proto string) string {
		return b.Text(`tr[data-protocol="` + proto + `"] td.state`)
	}
	for _, p := range []string{"pop3", "imap4", "smtp"} {
		if got := state(p); got != "Enabled" {
			t.Errorf("%s: got %q; want Enabled", p, got)
		}
	}
	if got := b.Text("table.settings tbody"); !strings.Contains(got, "IMAP4") || !strings.Contains(got, "POP3") ||
		!strings.Contains(got, "Authenticated SMTP") || !strings.Contains(got, "SSL/TLS") {
		t.Errorf("connection settings: got %q", got)
	}
	if href := browser.Eval[string](b, `(document.querySelector("a[href*='mobileconfig']")||{}).href||""`); !strings.HasSuffix(href,
		"/autoconfig/apple.mobileconfig?emailaddress=christa%40contoso.com") {
		t.Errorf("Apple profile link: got %q", href)
	}
	b.Axe(axe, "account page")

	shellRun(t, env, `Set-CASMailbox -Identity christa -PopEnabled $false`)
	if got := mailLogin(t, env, "pop3", christa, testenv.DemoPassword); !strings.Contains(got, "POP3 access is disabled") {
		t.Errorf("POP3 login after disable: got %q", got)
	}
	if got := mailLogin(t, env, "imap", christa, "Wrong-Password-2"); !strings.Contains(got, "AUTHENTICATIONFAILED") {
		t.Errorf("IMAP login with a wrong password: got %q", got)
	}
	// The login records are written in batches; the page reads what is
	// written.
	env.Recorder.Flush()
	b.Open(base + "/account/")
	if got := state("pop3"); got != "Disabled" {
		t.Errorf("POP3 after Set-CASMailbox -PopEnabled $false: got %q; want Disabled", got)
	}
	if got := b.Text(`tr[data-protocol="pop3"] td:last-child`); !strings.Contains(got, "Disabled by your administrator.") {
		t.Errorf("POP3 reason: got %q", got)
	}
	if got := state("imap4"); got != "Enabled" {
		t.Errorf("IMAP4: got %q; want Enabled", got)
	}
	if got := b.Text("table.settings tbody"); strings.Contains(got, "POP3") {
		t.Errorf("connection settings still offer POP3: %q", got)
	}
	signIns := b.Text("table.signins tbody")
	for _, want := range []string{"Protocol disabled", "POP3 access is disabled for this mailbox", "Invalid credentials", "IMAP4"} {
		if !strings.Contains(signIns, want) {
			t.Errorf("recent sign-ins: %q lacks %q", signIns, want)
		}
	}

	shellRun(t, env, `Set-OrganizationConfig -SecurityDefaultsEnabled $true`)
	b.Open(base + "/account/")
	for _, p := range []string{"pop3", "imap4", "smtp"} {
		if got := b.Text(`tr[data-protocol="` + p + `"] td:last-child`); !strings.Contains(got, "security defaults") {
			t.Errorf("%s under security defaults: got %q", p, got)
		}
	}
	b.Axe(axe, "account page, everything blocked")
	shellRun(t, env, `Set-OrganizationConfig -SecurityDefaultsEnabled $false`)

	// The password change: the policy first, then a good one.
	newPassword := "New-Christa-Pass-9"
	b.Open(base + "/account/password")
	b.Axe(axe, "password page")
	b.AllowConsole("status of 400")
	b.Type("current", testenv.DemoPassword)
	b.Type("new", "short1A")
	b.Type("confirm", "short1A")
	browser.Eval[bool](b, `document.querySelectorAll("input[minlength]").forEach(e => e.removeAttribute("minlength")); true`)
	b.ClickLoads("form.form button[type=submit]")
	if got := b.Text("#problem"); !strings.Contains(got, "password policy") {
		t.Errorf("short password: got %q", got)
	}
	// An IMAP4 session open with the old password, as a phone's would be.
	conn, err := net.Dial("tcp", env.Addr("imap"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	readLine := func() string {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("IMAP read: %v (after %q)", err, l)
		}
		return l
	}
	readLine() // greeting
	fmt.Fprintf(conn, "a LOGIN %s %s\r\n", christa, testenv.DemoPassword)
	l := readLine()
	for !strings.HasPrefix(l, "a ") {
		l = readLine()
	}
	if !strings.HasPrefix(l, "a OK") {
		t.Fatalf("IMAP4 LOGIN with the old password before the change: %q", l)
	}
	b.Type("current", testenv.DemoPassword)
	b.Type("new", newPassword)
	b.Type("confirm", newPassword)
	b.ClickLoads("form.form button[type=submit]")
	if got := b.Text("p.notice"); !strings.Contains(got, "Your password was changed") {
		t.Errorf("after the change: notice %q at %s", got, b.Location())
	}
	// The open session is closed, as after an administrator's reset.
	if l := readLine(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("open IMAP4 session after the change: got %q; want * BYE", l)
	}
	if got := mailLogin(t, env, "imap", christa, newPassword); got != "OK" {
		t.Errorf("IMAP4 with the new password: %s", got)
	}
	if got := mailLogin(t, env, "imap", christa, testenv.DemoPassword); !strings.Contains(got, "AUTHENTICATIONFAILED") {
		t.Errorf("IMAP4 with the old password: %s", got)
	}
	// Audited as self-service.
	_, admin, err := env.Service.SignIn(context.Background(), "admin", testenv.AdminPassword, service.SurfaceShell, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := env.Service.SearchAdminAuditLog(context.Background(), admin, service.AuditSearch{Cmdlets: []string{"Set-Mailbox"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Surface == service.SurfaceAccount && r.Caller == christa && r.Succeeded {
			found = true
		}
	}
	if !found {
		t.Errorf("no successful Set-Mailbox by %s on the account surface in %+v", christa, recs)
	}

	// CSRF: a form whose token was tampered with is refused and changes
	// nothing.
	b.Open(base + "/account/password")
	b.AllowConsole("status of 403")
	b.Type("current", newPassword)
	b.Type("new", "Other-Pass-Word-7")
	b.Type("confirm", "Other-Pass-Word-7")
	browser.Eval[bool](b, `document.querySelector("form.form input[name=csrf]").value = "forged"; true`)
	b.ClickLoads("form.form button[type=submit]")
	if got := b.Text("#problem"); !strings.Contains(got, "Nothing was changed") {
		t.Errorf("forged CSRF token: got %q", got)
	}
	b.Axe(axe, "form refused page")
	if got := mailLogin(t, env, "imap", christa, newPassword); got != "OK" {
		t.Errorf("after the refused change, IMAP4 with the password: %s", got)
	}
}

// TestAccountHTTP checks what a browser does not show: the sign-in
// throttle, cross-site requests, and that /account and administrator
// sessions do not stand in for each other.
func TestAccountHTTP(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Demo: true})
	base := env.URL()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	post := func(path string, form url.Values, hdr ...string) (int, string, *http.Response) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res
	}
	if code, _ := get("/account/"); code != http.StatusSeeOther {
		t.Fatalf("signed out: got %d; want 303 to the sign-in page", code)
	}
	_, page := get("/account/signin")
	tok := csrfRE.FindStringSubmatch(page)
	if tok == nil {
		t.Fatalf("no CSRF token on the sign-in page:\n%s", page)
	}
	// Without the token, and from another site with it: refused.
	if code, _, _ := post("/account/signin", url.Values{"username": {christa}, "password": {testenv.DemoPassword}}); code != 403 {
		t.Errorf("sign-in without CSRF token: got %d; want 403", code)
	}
	if code, _, _ := post("/account/signin", url.Values{"csrf": {tok[1]}, "username": {christa}, "password": {testenv.DemoPassword}},
		"Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site sign-in: got %d; want 403", code)
	}
	code, _, res := post("/account/signin", url.Values{"csrf": {tok[1]}, "username": {christa}, "password": {testenv.DemoPassword}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign-in: got %d; want 303", code)
	}
	var accountToken string
	for _, ck := range res.Cookies() {
		if ck.Name == "gatehouse_account" {
			accountToken = ck.Value
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/account" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/account", ck)
			}
		}
	}
	code, page = get("/account/")
	if code != 200 || !strings.Contains(page, "Your account") {
		t.Fatalf("account page: %d", code)
	}
	res2, _ := c.Get(base + "/account/")
	if csp := res2.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP: %q", csp)
	}
	res2.Body.Close()
	// The /account session is no administrator's, even for an admin.
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+accountToken)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
		t.Errorf("account token on the REST API: got %v %v; want 401", r.StatusCode, err)
	}
	// An administrator's token is no /account session.
	adminToken, _, err := env.Service.SignIn(context.Background(), "admin", testenv.AdminPassword, service.SurfaceAPI, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", base+"/account/", nil)
	req.AddCookie(&http.Cookie{Name: "gatehouse_account", Value: adminToken})
	if r, err := (&http.Client{CheckRedirect: c.CheckRedirect}).Do(req); err != nil || r.StatusCode != http.StatusSeeOther {
		t.Errorf("admin token as /account cookie: got %v %v; want 303 to sign-in", r.StatusCode, err)
	}
	// An administrator may use /account for their own mailbox.
	if _, u, err := env.Service.AccountSignIn(context.Background(), "admin", testenv.AdminPassword, "127.0.0.1"); err != nil || !u.Administrator {
		t.Errorf("admin on /account: %+v %v", u, err)
	}
	// A POST of a signed-in user without the token: refused.
	if code, body, _ := post("/account/password", url.Values{"current": {testenv.DemoPassword}, "new": {"Xx-123456789"}, "confirm": {"Xx-123456789"}}); code != 403 ||
		!strings.Contains(body, "Nothing was changed") {
		t.Errorf("password change without CSRF: got %d", code)
	}
	// Sign-out ends the session in the service.
	_, page = get("/account/")
	tok = csrfRE.FindStringSubmatch(page)
	if code, _, _ := post("/account/signout", url.Values{"csrf": {tok[1]}}); code != http.StatusSeeOther {
		t.Errorf("sign-out: got %d", code)
	}
	if _, err := env.Service.AccountAuthenticate(context.Background(), accountToken, "127.0.0.1"); err == nil {
		t.Errorf("the session still works after sign-out")
	}
}

// TestAccountThrottle: /account sign-ins share the throttle of IMAP4,
// POP3 and the admin center: guesses here lock the user everywhere.
func TestAccountThrottle(t *testing.T) {
	need(t, "python3")
	env := testenv.Start(t, testenv.Options{Demo: true, Throttle: true, Configure: func(c *config.Config) {
		// Lock the user after 5 failures, with no slowing down before.
		c.Auth.ThrottleFree, c.Auth.ThrottleLockUser = 10, 5
	}})
	ctx := context.Background()
	var lastErr error
	for i := 0; i < env.Config.Auth.ThrottleLockUser+1; i++ {
		// Different addresses, so that the per-user lock is what trips.
		_, _, lastErr = env.Service.AccountSignIn(ctx, christa, "Wrong-Password-1", "192.0.2."+strconv.Itoa(i%200+1))
		var se *service.SignInError
		if errors.As(lastErr, &se) && se.RetryAfter > 0 {
			break
		}
	}
	var se *service.SignInError
	if !errors.As(lastErr, &se) || se.RetryAfter == 0 {
		t.Fatalf("no lock after %d wrong passwords: %v", env.Config.Auth.ThrottleLockUser+1, lastErr)
	}
	// The right password is refused now, on /account and in the admin
	// center's sign-in alike.
	if _, _, err := env.Service.AccountSignIn(ctx, christa, testenv.DemoPassword, "198.51.100.1"); !errors.As(err, &se) || se.RetryAfter == 0 {
		t.Errorf("right password while locked: %v", err)
	}
	if got := mailLogin(t, env, "imap", christa, testenv.DemoPassword); got == "OK" {
		t.Errorf("IMAP4 with the right password while /account guesses locked the user: %s", got)
	}
}

// TestAccountAppPasswords: a user makes an app password on /account (its
// secret shown once, on a no-store answer), signs in to IMAP4 with it,
// sees its last use, and revokes it, after which it is refused; a POST
// without the CSRF token changes nothing.
func TestAccountAppPasswords(t *testing.T) {
	need(t, "python3")
	env := testenv.Start(t, testenv.Options{Demo: true})
	base := env.URL()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrf := func(page string) string {
		t.Helper()
		m := csrfRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token:\n%s", page)
		}
		return m[1]
	}
	_, page := do("GET", "/account/signin", nil)
	if res, _ := do("POST", "/account/signin", url.Values{"csrf": {csrf(page)}, "username": {christa}, "password": {testenv.DemoPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	_, page = do("GET", "/account/", nil)
	if !strings.Contains(page, "You have no app passwords.") {
		t.Fatalf("home before: want no app passwords:\n%s", page)
	}
	if res, _ := do("POST", "/account/apppasswords", url.Values{"name": {"Phone"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("create without CSRF: got %d; want 403", res.StatusCode)
	}
	res, made := do("POST", "/account/apppasswords", url.Values{"csrf": {csrf(page)}, "name": {"Phone"}})
	secret := regexp.MustCompile(`<code id="apppw-secret">([a-z]+)</code>`).FindStringSubmatch(made)
	if res.StatusCode != 200 || secret == nil {
		t.Fatalf("create: %d, no secret shown:\n%s", res.StatusCode, made)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the answer with the secret: Cache-Control %q; want no-store", cc)
	}
	// A second one of the same name is refused with a reason.
	if res, body := do("POST", "/account/apppasswords", url.Values{"csrf": {csrf(page)}, "name": {"Phone"}}); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Nothing was changed") {
		t.Errorf("same name again: got %d:\n%s", res.StatusCode, body)
	}
	if got := mailLogin(t, env, "imap", christa, secret[1]); got != "OK" {
		t.Fatalf("IMAP4 with the app password: %s", got)
	}
	// The last use is written with the login record, after the sign-in.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, page = do("GET", "/account/", nil)
		if strings.Contains(page, "(IMAP4 from ") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(page, `<th scope="row">Phone</th>`) || !strings.Contains(page, "(IMAP4 from ") || strings.Contains(page, secret[1]) {
		t.Errorf("home after use: want Phone listed with its last IMAP4 use and never the secret:\n%s", page)
	}
	res, _ = do("POST", "/account/apppasswords/revoke", url.Values{"csrf": {csrf(page)}, "name": {"Phone"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	_, page = do("GET", "/account/?revoked=1", nil)
	if !strings.Contains(page, "You have no app passwords.") || !strings.Contains(page, "was revoked") {
		t.Errorf("home after revoke:\n%s", page)
	}
	if got := mailLogin(t, env, "imap", christa, secret[1]); !strings.HasPrefix(got, "REFUSED") {
		t.Errorf("IMAP4 with the revoked app password: %s; want refused", got)
	}
}
