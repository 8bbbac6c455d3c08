package backend_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// Tests of issue 11: the login throttle cannot be walked around (finding
// 2), and unauthenticated clients cannot make the server keep what they
// send (finding 3). Whole servers, real sockets, both engines.

func engines(t *testing.T, fn func(t *testing.T, o testenv.Options)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testenv.Options{Demo: true, Throttle: true}) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Options{Demo: true, Throttle: true, Postgres: true}) })
}

// lockUserAfter is the per-user lock of these tests; the per-address lock
// and the delays are out of reach, so that only the user's count matters.
const lockUserAfter = 6

func throttleConfig(c *config.Config) {
	c.Auth.ThrottleFree = 1000
	c.Auth.ThrottleLockAfter = 1000
	c.Auth.ThrottleLockUser = lockUserAfter
}

// line is a client of a line protocol (IMAP4, POP3).
type line struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *line {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	l := &line{t: t, c: c, r: bufio.NewReader(c)}
	l.read() // greeting
	return l
}

func (l *line) send(s string) {
	l.t.Helper()
	if _, err := io.WriteString(l.c, s+"\r\n"); err != nil {
		l.t.Fatal(err)
	}
}

func (l *line) read() string {
	l.t.Helper()
	s, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("read: %v (got %q)", err, s)
	}
	return strings.TrimRight(s, "\r\n")
}

// imapLogin sends LOGIN with the name as a quoted string (or a literal
// when it holds what a quoted string cannot) and returns the tagged answer.
func (l *line) imapLogin(user, pass string) string {
	l.t.Helper()
	u := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(user) + `"`
	if strings.ContainsAny(user, "\x00\r\n") || len(user) > 1000 {
		u = fmt.Sprintf("{%d+}\r\n%s", len(user), user)
	}
	l.send(fmt.Sprintf("a LOGIN %s %q", u, pass))
	return l.tagged("a")
}

func (l *line) tagged(tag string) string {
	l.t.Helper()
	for {
		s := l.read()
		if strings.HasPrefix(s, tag+" ") {
			return s
		}
	}
}

func (l *line) imapPlain(authz, user, pass string) string {
	l.t.Helper()
	l.send("b AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte(authz+"\x00"+user+"\x00"+pass)))
	return l.tagged("b")
}

func (l *line) popUserPass(user, pass string) string {
	l.t.Helper()
	l.send("USER " + user)
	if s := l.read(); !strings.HasPrefix(s, "+OK") {
		return s
	}
	l.send("PASS " + pass)
	return l.read()
}

func (l *line) popPlain(authz, user, pass string) string {
	l.t.Helper()
	l.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte(authz+"\x00"+user+"\x00"+pass)))
	return l.read()
}

func signIn(t *testing.T, e *testenv.Env, user, pass string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"UserName": user, "Password": pass})
	resp, err := http.Post(e.URL()+"/api/v1/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestThrottleOneCounterPerMailbox: wrong passwords for kim, each under
// another spelling of her name (alias, display name with a stray space,
// UPN in capitals, unicode case, SASL PLAIN with an authzid) and over
// another surface (IMAP4 LOGIN and AUTHENTICATE, POP3 USER/PASS and AUTH,
// the admin sign-in), interleaved with good logins of christa from the
// same address, all count against kim: after lockUserAfter of them, kim's
// right password is refused everywhere, christa still logs in, and the
// attempts refused at the lock are recorded once.
func TestThrottleOneCounterPerMailbox(t *testing.T) {
	engines(t, func(t *testing.T, o testenv.Options) {
		o.Configure = throttleConfig
		e := testenv.Start(t, o)
		im := dial(t, e.Addr("imap"))
		pop := dial(t, e.Addr("pop3"))
		good := func() {
			t.Helper()
			c := dial(t, e.Addr("imap"))
			if got := c.imapLogin("christa", testenv.DemoPassword); !strings.HasPrefix(got, "a OK") {
				t.Fatalf("christa's login: got %q; want a OK", got)
			}
			c.send("z LOGOUT")
			c.c.Close()
		}
		wrong := []struct {
			how  string
			try  func() string
			want string
		}{
			{"IMAP4 LOGIN alias", func() string { return im.imapLogin("kim", "nope") }, "a NO [AUTHENTICATIONFAILED]"},
			{"IMAP4 LOGIN display name, stray spaces", func() string { return im.imapLogin(" Kim Akers \t", "nope") }, "a NO [AUTHENTICATIONFAILED]"},
			{"POP3 USER UPN in capitals", func() string { return pop.popUserPass("KIM@CONTOSO.COM", "nope") }, "-ERR [AUTH]"},
			{"IMAP4 AUTHENTICATE PLAIN, authzid, unicode case", func() string { return im.imapPlain("KİM", "KİM", "nope") }, "b NO [AUTHENTICATIONFAILED]"},
			{"POP3 AUTH PLAIN, authzid", func() string { return pop.popPlain("kim@contoso.com", "kim@contoso.com", "nope") }, "-ERR [AUTH]"},
			{"admin sign-in", func() string {
				code, body := signIn(t, e, "kim@contoso.com ", "nope")
				return fmt.Sprint(code, " ", body)
			}, "401 "},
		}
		if len(wrong) != lockUserAfter {
			t.Fatalf("got %d wrong attempts; want lockUserAfter = %d", len(wrong), lockUserAfter)
		}
		for _, w := range wrong {
			if got := w.try(); !strings.HasPrefix(got, w.want) {
				t.Errorf("%s: got %q; want %q...", w.how, got, w.want)
			}
			good()
		}
		// Kim's right password, under any spelling and surface, now meets
		// her lock.
		locked := []struct {
			how  string
			try  func() string
			want string
		}{
			{"IMAP4 LOGIN", func() string { return dial(t, e.Addr("imap")).imapLogin("kim", testenv.DemoPassword) }, "a NO [UNAVAILABLE] Too many failed login attempts"},
			{"IMAP4 AUTHENTICATE PLAIN", func() string {
				return dial(t, e.Addr("imap")).imapPlain("", "Kim Akers", testenv.DemoPassword)
			}, "b NO [UNAVAILABLE] Too many failed login attempts"},
			{"POP3 USER/PASS", func() string { return dial(t, e.Addr("pop3")).popUserPass("kim@contoso.com", testenv.DemoPassword) }, "-ERR [SYS/TEMP] Too many failed login attempts"},
			{"POP3 AUTH PLAIN", func() string { return dial(t, e.Addr("pop3")).popPlain("", " KIM ", testenv.DemoPassword) }, "-ERR [SYS/TEMP] Too many failed login attempts"},
			{"admin sign-in", func() string {
				code, body := signIn(t, e, "KIM", testenv.DemoPassword)
				return fmt.Sprint(code, " ", body)
			}, "429 "},
		}
		for _, l := range locked {
			if got := l.try(); !strings.HasPrefix(got, l.want) {
				t.Errorf("kim's right password, %s: got %q; want %q...", l.how, got, l.want)
			}
		}
		if _, body := signIn(t, e, "KIM", testenv.DemoPassword); !strings.Contains(body, "Too many failed sign-ins") {
			t.Errorf("admin sign-in at kim's lock: got %s; want Too many failed sign-ins", body)
		}
		good()
		for range 20 {
			dial(t, e.Addr("imap")).imapLogin("kim", testenv.DemoPassword)
		}
		e.Recorder.Flush()
		db := openDB(t, e)
		var failed, throttled int
		row := db.QueryRow(`SELECT
			(SELECT count(*) FROM login_records WHERE result = 'failed'),
			(SELECT count(*) FROM login_records WHERE result = 'throttled')`)
		if err := row.Scan(&failed, &throttled); err != nil {
			t.Fatal(err)
		}
		// The admin sign-in keeps no login record; the protocols' 5
		// failures do, and of the 25 attempts at the lock only the first.
		if failed != lockUserAfter-1 || throttled != 1 {
			t.Errorf("login records: got %d failed, %d throttled; want %d, 1", failed, throttled, lockUserAfter-1)
		}
	})
}

// TestAdminSignInGenericFailure: every refusal at the admin sign-in reads
// the same, a right password of a mailbox that administers nothing
// included.
func TestAdminSignInGenericFailure(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	const want = "The user name or password is incorrect."
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "admin", "nope"},
		{"no such user", "nobody", "nope"},
		{"right password, no role group", "christa@contoso.com", testenv.DemoPassword},
		{"right password, no role group, alias", " Christa ", testenv.DemoPassword},
		{"oversize name", strings.Repeat("a", 100_000), "nope"},
		{"NUL in the name", "admin\x00", testenv.AdminPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := signIn(t, e, tc.user, tc.pass)
			if code != http.StatusUnauthorized || !strings.Contains(body, want) || strings.Contains(body, "role group") {
				t.Errorf("got %d %.200s; want 401 with %q", code, body, want)
			}
		})
	}
}

// TestOversizeNamesCapped: a name of any size, over any protocol, is kept
// at most 256 octets long; a NUL or invalid UTF-8 in it neither fails the
// login with a server error nor keeps the login records from being written
// (PostgreSQL refuses NUL in text).
func TestOversizeNamesCapped(t *testing.T) {
	engines(t, func(t *testing.T, o testenv.Options) {
		o.Throttle = false
		e := testenv.Start(t, o)
		huge := strings.Repeat("k", 1_000_001)
		tries := []struct {
			how  string
			try  func() string
			want string
		}{
			{"IMAP4 LOGIN 1 MB literal", func() string { return dial(t, e.Addr("imap")).imapLogin(huge, "x") }, "a NO [AUTHENTICATIONFAILED]"},
			{"IMAP4 LOGIN NUL", func() string { return dial(t, e.Addr("imap")).imapLogin("christa\x00", "x") }, "a NO [AUTHENTICATIONFAILED]"},
			{"IMAP4 AUTHENTICATE PLAIN 40 kB", func() string {
				return dial(t, e.Addr("imap")).imapPlain("", strings.Repeat("é", 20_000), "x")
			}, "b NO [AUTHENTICATIONFAILED]"},
			{"IMAP4 AUTHENTICATE PLAIN invalid UTF-8", func() string {
				return dial(t, e.Addr("imap")).imapPlain("", "chr\xffista", "x")
			}, "b NO [AUTHENTICATIONFAILED]"},
			{"POP3 USER 500 octets", func() string { return dial(t, e.Addr("pop3")).popUserPass(strings.Repeat("k", 500), "x") }, "-ERR [AUTH]"},
			{"POP3 AUTH PLAIN 300 octets", func() string {
				return dial(t, e.Addr("pop3")).popPlain("", strings.Repeat("k", 300), "x")
			}, "-ERR [AUTH]"},
			{"POP3 AUTH PLAIN NUL-free control characters", func() string {
				return dial(t, e.Addr("pop3")).popPlain("", "christa\x01\x7f", "x")
			}, "-ERR [AUTH]"},
		}
		for _, tc := range tries {
			if got := tc.try(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s: got %.100q; want %q...", tc.how, got, tc.want)
			}
		}
		// A good login after them is recorded too: nothing blocks the
		// records behind the odd ones.
		if got := dial(t, e.Addr("imap")).imapLogin("christa", testenv.DemoPassword); !strings.HasPrefix(got, "a OK") {
			t.Fatalf("christa: got %q; want a OK", got)
		}
		e.Recorder.Flush()
		if n := e.Recorder.Pending(); n != 0 {
			t.Errorf("login records pending after a flush: got %d; want 0", n)
		}
		var n, longest, success int
		db := openDB(t, e)
		if err := db.QueryRow(`SELECT count(*), coalesce(max(length(CAST(username AS BLOB))), 0),
			(SELECT count(*) FROM login_records WHERE result = 'success') FROM login_records`).Scan(&n, &longest, &success); err != nil {
			// PostgreSQL: octet_length.
			if err := db.QueryRow(`SELECT count(*), coalesce(max(octet_length(username)), 0),
				(SELECT count(*) FROM login_records WHERE result = 'success') FROM login_records`).Scan(&n, &longest, &success); err != nil {
				t.Fatal(err)
			}
		}
		if n != len(tries)+1 || longest > 256 || success != 1 {
			t.Errorf("login records: got %d, longest name %d octets, %d successes; want %d, at most 256, 1", n, longest, success, len(tries)+1)
		}
		if strings.Contains(e.Log.String(), huge[:1000]) {
			t.Errorf("the server log holds the 1 MB name")
		}
	})
}

// openDB opens the test server's database directly, to count what it keeps.
func openDB(t *testing.T, e *testenv.Env) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", filepath.Join(e.Config.Data, "gatehouse.db")
	if e.DB != "" {
		driver, dsn = "pgx", e.DB
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestConnectionLimitsEveryListener: each listener refuses connections over
// its per-address and total limits with its protocol's temporary failure,
// and a client that does not log in (POP3) or send mail (SMTP, LMTP) is
// let go after the short pre-login wait.
func TestConnectionLimitsEveryListener(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.IMAP.MaxConnsPerIP, c.IMAP.MaxConns = 3, 5
		c.POP3.MaxConnsPerIP, c.POP3.MaxConns = 3, 5
		c.Delivery.MaxConnsPerIP, c.Delivery.MaxConns = 3, 5
		// Long enough not to end the connections this test holds.
		c.POP3.PreAuthTimeout = config.Duration(time.Minute)
		c.Delivery.IdleTimeout = config.Duration(time.Minute)
	}})
	for _, tc := range []struct {
		listener            string
		greeting            string
		perAddress, inTotal string
	}{
		{"imap", "* OK", "* BYE [UNAVAILABLE] Too many connections from your address", "* BYE [UNAVAILABLE] Too many connections, try again later"},
		{"pop3", "+OK", "-ERR [SYS/TEMP] Too many connections from your address; try again later", "-ERR [SYS/TEMP] Too many connections; try again later"},
		{"smtp", "220 ", "421 4.7.0 Too many connections from your address, try again later", "421 4.7.0 Too many connections, try again later"},
		{"lmtp", "220 ", "421 4.7.0 Too many connections from your address, try again later", "421 4.7.0 Too many connections, try again later"},
	} {
		t.Run(tc.listener, func(t *testing.T) {
			from := func(ip string) string {
				t.Helper()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
				c, err := d.Dial("tcp", e.Addr(tc.listener))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(time.Minute))
				s, _ := bufio.NewReader(c).ReadString('\n')
				return strings.TrimRight(s, "\r\n")
			}
			for _, step := range []struct {
				ip, want string
			}{
				{"127.0.0.1", tc.greeting},
				{"127.0.0.1", tc.greeting},
				{"127.0.0.1", tc.greeting},
				{"127.0.0.1", tc.perAddress},
				{"127.0.0.2", tc.greeting},
				{"127.0.0.2", tc.greeting},
				{"127.0.0.3", tc.inTotal},
				{"127.0.0.2", tc.inTotal},
			} {
				if got := from(step.ip); !strings.HasPrefix(got, step.want) {
					t.Errorf("from %s: got %q; want %q...", step.ip, got, step.want)
				}
			}
		})
	}
}

// TestPreLoginTimeout: POP3 before login and SMTP/LMTP outside a mail
// transaction end an idle connection after their own short timeout (set
// here to 100 ms; the idle timeouts after login stay long).
func TestPreLoginTimeout(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.POP3.PreAuthTimeout = config.Duration(100 * time.Millisecond)
		c.Delivery.IdleTimeout = config.Duration(100 * time.Millisecond)
	}})
	for _, tc := range []struct{ listener, want string }{
		{"pop3", "-ERR Autologout"},
		{"smtp", "421 4.4.2"},
		{"lmtp", "421 4.4.2"},
	} {
		t.Run(tc.listener, func(t *testing.T) {
			c := dial(t, e.Addr(tc.listener))
			if got := c.read(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("after idling: got %q; want %q...", got, tc.want)
			}
			if _, err := c.r.ReadByte(); err != io.EOF {
				t.Errorf("then: got %v; want EOF", err)
			}
		})
	}
}
