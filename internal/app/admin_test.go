package app_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/app"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/shell"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// call sends a JSON request to the admin listener and returns the status
// and the decoded body.
func call(t *testing.T, hc *http.Client, base, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &v)
	return resp.StatusCode, v
}

func signIn(t *testing.T, hc *http.Client, base, user, password string) string {
	t.Helper()
	st, v := call(t, hc, base, "", "POST", "/api/v1/session", fmt.Sprintf(`{"UserName":%q,"Password":%q}`, user, password))
	if st != 200 {
		t.Fatalf("sign in as %s: got %d %v; want 200", user, st, v)
	}
	return v["Token"].(string)
}

// viewOnly creates a View-Only Organization Management admin and returns
// its token: the least privileged caller that may list mailboxes.
func viewOnly(t *testing.T, e *testenv.Env) string {
	t.Helper()
	base, hc := e.AdminURL(), http.DefaultClient
	admin := signIn(t, hc, base, "admin", testenv.AdminPassword)
	if st, v := call(t, hc, base, admin, "POST", "/api/v1/mailboxes",
		`{"Name":"Vera Viewer","Alias":"vera","PrimarySmtpAddress":"vera@contoso.com","Password":"Vera-Viewer-Pass-1"}`); st/100 != 2 {
		t.Fatalf("New-Mailbox: got %d %v", st, v)
	}
	if st, v := call(t, hc, base, admin, "POST", "/api/v1/rolegroups/View-Only%20Organization%20Management/members", `{"Member":"vera"}`); st/100 != 2 {
		t.Fatalf("Add-RoleGroupMember: got %d %v", st, v)
	}
	return signIn(t, hc, base, "vera@contoso.com", "Vera-Viewer-Pass-1")
}

// TestFilterLimits (issue 11, finding 4): whatever a -Filter or -Identity
// a View-Only admin sends, the answer is 200 or a 400 that says what is
// wrong, on both engines; never a 500, and never a statement the database
// takes long over.
func TestFilterLimits(t *testing.T) {
	or := func(n int) string { return strings.Repeat("Name -eq 'x' -or ", n-1) + "Name -like 'Chr*'" }
	tests := []struct {
		name  string
		param string // filter or identity
		value string
		want  int
		code  string // error code of a 400
		msg   string // part of its message
	}{
		{"64 -or terms", "filter", or(64), 200, "", ""},
		{"65 -or terms", "filter", or(65), 400, "InvalidFilter", "more than 64 comparisons"},
		{"2,000 -or terms", "filter", or(2000), 400, "InvalidFilter", "at most 4096 are allowed"},
		// Over 64 KB of request line and headers: refused before any handler.
		{"35,000 -or terms", "filter", or(35000), http.StatusRequestHeaderFieldsTooLarge, "", ""},
		{"65 -and terms", "filter", strings.Repeat("PopEnabled -eq $true -and ", 64) + "Name -like '*'", 400, "InvalidFilter", "more than 64 comparisons"},
		{"nested parentheses", "filter", strings.Repeat("(", 100) + "Name -eq 'x'" + strings.Repeat(")", 100), 200, "", ""},
		{"too deep parentheses", "filter", strings.Repeat("(", 101) + "Name -eq 'x'" + strings.Repeat(")", 101), 400, "InvalidFilter", "nested more than 100 levels"},
		{"-not chain", "filter", strings.Repeat("-not ", 100) + "Name -eq 'x'", 200, "", ""},
		{"-not and -or alternating", "filter", strings.Repeat("-not (Name -eq 'x' -or ", 49) + "Name -eq 'y'" + strings.Repeat(")", 49), 200, "", ""},
		{"64 nested -or", "filter", strings.Repeat("(Name -eq 'x' -or ", 63) + "Name -eq 'y'" + strings.Repeat(")", 63), 200, "", ""},
		{"long -like", "filter", "Name -like '" + strings.Repeat("a", 400) + "'", 400, "InvalidFilter", "at most 320 are allowed"},
		{"many wildcards", "filter", "EmailAddresses -like '" + strings.Repeat("*a", 9) + "'", 400, "InvalidFilter", "at most 8 are allowed"},
		{"64 patterns of 8 wildcards", "filter", strings.Repeat("Name -like '*a*b*c*d*e*f*g*h' -or ", 63) + "Name -like 'x'", 200, "", ""},
		{"wildcard identity", "identity", "chr*", 200, "", ""},
		{"wildcard identity, no match", "identity", "nobody*", 404, "NotFound", "couldn't be found"},
		{"identity of every mailbox", "identity", "*", 200, "", ""},
		{"long wildcard identity", "identity", strings.Repeat("*a", 200), 400, "InvalidParameter", "at most 320 are allowed"},
		{"identity of many wildcards", "identity", strings.Repeat("*a", 9), 400, "InvalidParameter", "at most 8 are allowed"},
		{"huge identity", "identity", strings.Repeat("a", 10000), 400, "InvalidParameter", "at most 320 are allowed"},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			token := viewOnly(t, e)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					for _, path := range []string{"/api/v1/mailboxes", "/api/v1/casmailboxes"} {
						st, v := call(t, http.DefaultClient, e.AdminURL(), token, "GET", path+"?"+tt.param+"="+url.QueryEscape(tt.value), "")
						if st != tt.want {
							t.Fatalf("GET %s: got %d %v; want %d", path, st, v, tt.want)
						}
						if tt.code == "" {
							continue
						}
						errv, _ := v["error"].(map[string]any)
						code, _ := errv["code"].(string)
						msg, _ := errv["message"].(string)
						if code != tt.code || !strings.Contains(msg, tt.msg) {
							t.Errorf("GET %s: got %s %q; want %s containing %q", path, code, msg, tt.code, tt.msg)
						}
						if len(msg) > 1000 {
							t.Errorf("GET %s: the message is %d bytes; want it short", path, len(msg))
						}
					}
				})
			}
			// A filter the service builds itself (the GUIDs of many
			// mailboxes) stays within each engine's expression depth.
			var ids store.Or
			for i := range 5000 {
				ids = append(ids, store.Cond{Field: store.FieldGUID, Op: store.OpEq, Value: fmt.Sprintf("guid-%d", i)})
			}
			if err := e.Store.View(ctx, func(tx store.Tx) error {
				_, _, err := tx.ListMailboxes(ctx, store.MailboxQuery{Filter: store.And{ids, store.Not{F: store.Not{F: ids}}}})
				return err
			}); err != nil {
				t.Errorf("5,000 GUIDs: %v", err)
			}
		})
	}
}

// startAdmin starts a server (no demo) with its admin listener configured
// by conf.
func startAdmin(t *testing.T, conf func(*config.Config)) *testenv.Env {
	t.Helper()
	return testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Listen = config.Listen{Admin: "127.0.0.1:0"}
		if conf != nil {
			conf(c)
		}
	}})
}

// pinned returns an HTTPS client that trusts the server's certificate.
func pinned(t *testing.T, e *testenv.Env) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(e.Config.Data, "tls-cert.pem"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("certificate: %v", err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestAdminTLS (issue 11, finding 5): with admin.tls on, the admin listener
// speaks HTTPS with the mail certificate, answers plain HTTP with 400, sends
// HSTS on every surface and Secure cookies, and the banner prints the URL
// and the fingerprint of the self-signed certificate; on loopback with
// auto it stays plain HTTP (the README's curl examples); a non-loopback
// address without TLS is refused unless allow_insecure says so.
func TestAdminTLS(t *testing.T) {
	e := startAdmin(t, func(c *config.Config) { c.Admin.TLS = "on" })
	base := e.AdminURL()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("AdminURL: got %s; want https://127.0.0.1:port", base)
	}
	pem, _ := os.ReadFile(filepath.Join(e.Config.Data, "tls-cert.pem"))
	der, err := pemDecode(pem)
	if err != nil {
		t.Fatal(err)
	}
	fp := app.Fingerprint(der)
	for _, want := range []string{"Admin center      " + base + "/admin", "SHA-256 fingerprint " + fp,
		"gatehouse shell --server " + base + " --fingerprint " + fp + " --user admin"} {
		if !strings.Contains(e.Out, want) {
			t.Errorf("banner: got\n%s\nwant it to contain %q", e.Out, want)
		}
	}
	hc := pinned(t, e)
	var resp *http.Response
	for _, path := range []string{"/healthz", "/api/v1/openapi.json", "/admin/", "/metrics"} {
		resp, err = hc.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("GET %s: Strict-Transport-Security got %q; want max-age=31536000", path, got)
		}
	}
	resp, err = hc.Post(base+"/api/v1/session", "application/json", strings.NewReader(fmt.Sprintf(`{"UserName":"admin","Password":%q}`, testenv.AdminPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) == 0 {
		t.Fatal("sign-in set no cookie")
	}
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s: got Secure false; want true", c.Name)
		}
	}
	// Plain HTTP to the TLS port carries nothing of value: net/http answers 400.
	resp, err = http.Get("http://" + strings.TrimPrefix(base, "https://") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("plain HTTP to the TLS listener: got %d; want 400", resp.StatusCode)
	}

	loop := startAdmin(t, nil)
	if u := loop.AdminURL(); !strings.HasPrefix(u, "http://127.0.0.1:") || strings.Contains(loop.Out, "fingerprint") {
		t.Errorf("loopback, auto: got %s and banner\n%s\nwant plain http and no fingerprint", u, loop.Out)
	}
}

func pemDecode(b []byte) ([]byte, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("no PEM")
	}
	return block.Bytes, nil
}

// TestAdminAddressRefused: a non-loopback admin address without TLS does
// not start unless allow_insecure is set.
func TestAdminAddressRefused(t *testing.T) {
	tests := []struct {
		addr, mode string
		allow      bool
		wantErr    string
	}{
		{"0.0.0.0:47991", "off", false, "is not a loopback address"},
		{"192.0.2.1:47991", "off", false, "--allow-insecure-admin"},
		{":47991", "off", false, "is not a loopback address"},
		{"127.0.0.1:47991", "off", false, ""},
		{"localhost:47991", "off", false, ""},
		{"0.0.0.0:47991", "off", true, ""},
		{"0.0.0.0:47991", "auto", false, ""},
		{"0.0.0.0:47991", "sometimes", false, "is not auto, on or off"},
	}
	for _, tt := range tests {
		t.Run(tt.addr+" "+tt.mode, func(t *testing.T) {
			c := config.Default()
			c.Listen.Admin, c.Admin.TLS, c.Admin.AllowInsecure = tt.addr, tt.mode, tt.allow
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v; want an error containing %q", err, tt.wantErr)
			}
			if tt.wantErr != "" {
				// Start refuses it too, before binding anything.
				c.Data = t.TempDir()
				if _, err := app.Start(ctx, app.Options{Config: c}); err == nil {
					t.Error("Start: got no error")
				}
			}
		})
	}
}

// closedBy reads from c until the server closes it; it fails the test if
// that has not happened within a generous bound (not a latency assertion:
// without a timeout the server would wait for ever).
func closedBy(t *testing.T, c net.Conn, trickle func() error) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for trickle() == nil {
			time.Sleep(1500 * time.Millisecond)
		}
	}()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a trickling connection open for 60 s")
	}
	c.Close()
	<-done
}

// TestAdminSlowloris (issue 11, finding 5): headers or a body trickled
// slower than admin.read_header_timeout allows are cut off: the server
// closes the connection, over plain HTTP and over TLS.
func TestAdminSlowloris(t *testing.T) {
	for _, mode := range []string{"off", "on"} {
		e := startAdmin(t, func(c *config.Config) {
			c.Admin.TLS = mode
			c.Admin.ReadHeaderTimeout = config.Duration(time.Second)
			c.Admin.ReadTimeout = config.Duration(30 * time.Second)
		})
		dial := func(t *testing.T) net.Conn {
			addr := e.Addrs["admin"]
			var c net.Conn
			var err error
			if mode == "on" {
				c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
			} else {
				c, err = net.Dial("tcp", addr)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		t.Run("headers/tls="+mode, func(t *testing.T) {
			c := dial(t)
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
			closedBy(t, c, func() error { _, err := io.WriteString(c, "X: y\r\n"); return err })
		})
		t.Run("body/tls="+mode, func(t *testing.T) {
			c := dial(t)
			io.WriteString(c, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
			closedBy(t, c, func() error { _, err := io.WriteString(c, " "); return err })
		})
		t.Run("a prompt client still works/tls="+mode, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			st, v := call(t, hc, e.AdminURL(), "", "POST", "/api/v1/session", fmt.Sprintf(`{"UserName":"admin","Password":%q}`, testenv.AdminPassword))
			if st != 200 {
				t.Errorf("sign-in: got %d %v; want 200", st, v)
			}
		})
	}
}

// TestAdminConnectionCap (issue 11, finding 5): one address holds at most
// admin.max_connections_per_ip connections; one more is answered 503 and
// closed, and a slot freed is usable again.
func TestAdminConnectionCap(t *testing.T) {
	e := startAdmin(t, func(c *config.Config) { c.Admin.MaxConnsPerIP = 3 })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", e.Addrs["admin"])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("connection %d: got %q; want 200", len(held)+1, line)
		}
		held = append(held, c)
	}
	resp, err := http.Get(e.AdminURL() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("4th connection: got %d; want 503", resp.StatusCode)
		}
	}
	held[0].Close()
	var st int
	for range 50 { // the server notices the close asynchronously
		if resp, err := http.Get(e.AdminURL() + "/healthz"); err == nil {
			st = resp.StatusCode
			resp.Body.Close()
			if st == 200 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st != 200 {
		t.Errorf("after a slot was freed: got %d; want 200", st)
	}
	for _, c := range held[1:] {
		c.Close()
	}
}

// TestShellTLS (issue 11, findings 5 and 7): gatehouse shell's Go entry
// point against an HTTPS admin listener with its self-signed certificate:
// refused without trust (the message shows the fingerprint to compare),
// working with --fingerprint or --ca-file, refused with a wrong pin;
// plain http:// to the TLS port and to a remote host are refused with a
// message saying what to do; the password may come from a file.
func TestShellTLS(t *testing.T) {
	for _, k := range []string{"GATEHOUSE_SERVER", "GATEHOUSE_USER", "GATEHOUSE_PASSWORD", "GATEHOUSE_PASSWORD_FILE", "GATEHOUSE_CA_FILE", "GATEHOUSE_FINGERPRINT"} {
		t.Setenv(k, "")
	}
	e := startAdmin(t, func(c *config.Config) { c.Admin.TLS = "on" })
	base := e.AdminURL()
	fp := e.AdminFingerprint
	if fp == "" {
		t.Fatal("no fingerprint for the self-signed certificate")
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(testenv.AdminPassword+"\n"), 0o600)
	wrong := "00" + fp[2:]
	if fp[:2] == "00" {
		wrong = "11" + fp[2:]
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout (success) or stderr
	}{
		{"no trust", []string{"--server", base, "--password-file", pwFile}, 1, "SHA-256 fingerprint " + fp},
		{"pinned", []string{"--server", base, "--fingerprint", fp, "--password-file", pwFile}, 0, "admin"},
		{"pinned, openssl form", []string{"--server", base, "--fingerprint", "sha256 Fingerprint=" + fp, "--password-file", pwFile}, 0, "admin"},
		{"pinned, no colons", []string{"--server", base, "--fingerprint", strings.ReplaceAll(strings.ToLower(fp), ":", ""), "--password-file", pwFile}, 0, "admin"},
		{"CA file", []string{"--server", base, "--ca-file", filepath.Join(e.Config.Data, "tls-cert.pem"), "--password-file", pwFile}, 0, "admin"},
		{"wrong pin", []string{"--server", base, "--fingerprint", wrong, "--password", "x"}, 1, "is not the one pinned"},
		{"bad pin", []string{"--server", base, "--fingerprint", "abc", "--password", "x"}, 2, "is not a SHA-256 fingerprint"},
		{"http to the TLS port", []string{"--server", "http://" + e.Addrs["admin"], "--password", "x"}, 1, "speaks HTTPS: use https://"},
		{"http to a remote host", []string{"--server", "http://192.0.2.1:47993", "--password", "x"}, 2, "refusing to send a password in clear text"},
		{"missing password file", []string{"--server", base, "--password-file", filepath.Join(t.TempDir(), "none")}, 2, "--password-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"--user", "admin", "--history", "-"}, tt.args...)
			args = append(args, "-c", "Get-Mailbox admin | Select-Object Name")
			code := shell.Main(ctx, args, strings.NewReader(""), &out, &errb)
			if code != tt.wantCode {
				t.Fatalf("exit: got %d; want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out.String(), errb.String())
			}
			got := errb.String()
			if tt.wantCode == 0 {
				got = out.String()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q; want it to contain %q", got, tt.want)
			}
		})
	}
}

// TestDataPrivate (issue 11, finding 7): a data directory created
// group- and world-readable before the first start is made 0700 with a
// warning, and the database files are created 0600.
func TestDataPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // whatever the umask
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Data = dir
		c.Listen = config.Listen{Admin: "127.0.0.1:0"}
	}})
	if !strings.Contains(e.Log.String(), "data is readable by other users") {
		t.Errorf("log: no warning about the data directory:\n%s", e.Log.String())
	}
	for _, f := range []struct {
		name string
		want os.FileMode
	}{{"", 0o700}, {"gatehouse.db", 0o600}, {"gatehouse.db-wal", 0o600}, {"gatehouse.db-shm", 0o600}, {"tls-key.pem", 0o600}} {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != f.want {
			t.Errorf("%s: got mode %04o; want %04o", filepath.Join(dir, f.name), got, f.want)
		}
	}
}
