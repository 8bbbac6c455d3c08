package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// client is a minimal line client for behaviour tests.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	if got := c.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("greeting %q; want +OK", got)
	}
	return c
}

// line reads one response line without its CRLF; "<closed>" at EOF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "<closed>"
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends a command and returns the first response line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return "<closed>"
	}
	return c.line()
}

// multi reads the rest of a multi-line response and undoes dot-stuffing.
func (c *client) multi() []byte {
	c.t.Helper()
	var out bytes.Buffer
	for {
		l, err := c.r.ReadSlice('\n')
		if err != nil {
			c.t.Fatalf("multi-line response cut: %v", err)
		}
		if string(l) == ".\r\n" {
			return out.Bytes()
		}
		if l[0] == '.' {
			l = l[1:]
		}
		out.Write(l)
	}
}

func (c *client) mustOK(line string) string {
	c.t.Helper()
	got := c.cmd(line)
	if !strings.HasPrefix(got, "+OK") {
		c.t.Fatalf("%s: got %q; want +OK", line, got)
	}
	return got
}

func (c *client) login(user, pass string) {
	c.t.Helper()
	c.mustOK("USER " + user)
	c.mustOK("PASS " + pass)
}

// waitFor polls cond until it holds; it fails the test after 10 seconds.
// It waits for the server goroutine to finish cleaning up, nothing more.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestQuitRemovesMarkedMessagesAtOnce(t *testing.T) {
	be := newMemBackend()
	_, addr := startServer(t, be, serverConfig{})
	c := dial(t, addr)
	c.login("alice", "secret")
	c.mustOK("DELE 1")
	c.mustOK("DELE 3")
	if _, dels, _ := be.state("alice"); len(dels) != 0 {
		t.Fatalf("Delete called before QUIT: %v", dels)
	}
	if got, want := c.cmd("QUIT"), "+OK Gatehouse POP3 server signing off (2 messages left)"; got != want {
		t.Fatalf("QUIT: got %q; want %q", got, want)
	}
	waitFor(t, "maildrop closed", func() bool { _, _, locked := be.state("alice"); return !locked })
	msgs, dels, _ := be.state("alice")
	if want := [][]int{{0, 2}}; fmt.Sprint(dels) != fmt.Sprint(want) {
		t.Errorf("Delete calls: got %v; want %v", dels, want)
	}
	var uids []string
	for _, m := range msgs {
		uids = append(uids, m.uid)
	}
	if want := []string{"1002", "1009"}; !slices.Equal(uids, want) {
		t.Errorf("messages left: got %v; want %v", uids, want)
	}
}

// TestNoDeletionWithoutQuit: RFC 1939 §6, only QUIT enters UPDATE.
func TestNoDeletionWithoutQuit(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, c *client, be *memBackend)
		// last is what the client reads after the end, when it reads.
		last string
	}{
		{"dropped connection", func(t *testing.T, c *client, be *memBackend) { c.conn.Close() }, ""},
		{"kick while idle", func(t *testing.T, c *client, be *memBackend) {
			be.kick("alice", "POP3 access was disabled by your administrator.")
		}, "-ERR [SYS/PERM] POP3 access was disabled by your administrator."},
		{"kick then QUIT", func(t *testing.T, c *client, be *memBackend) {
			be.kick("alice", "POP3 access was disabled by your administrator.")
			be.kick("alice", "a second kick is ignored")
			if got, want := c.cmd("QUIT"), "-ERR [SYS/PERM] POP3 access was disabled by your administrator."; got != want {
				t.Errorf("QUIT after kick: got %q; want %q", got, want)
			}
		}, "<closed>"},
		{"autologout", nil, "-ERR Autologout; idle for too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newMemBackend()
			cfg := serverConfig{}
			if tt.end == nil {
				cfg.opts = func(o *Options) { o.Timeouts.Idle = 300 * time.Millisecond }
			}
			_, addr := startServer(t, be, cfg)
			c := dial(t, addr)
			c.login("alice", "secret")
			c.mustOK("DELE 1")
			c.mustOK("DELE 2")
			if tt.end != nil {
				tt.end(t, c, be)
			}
			if tt.last != "" {
				if got := c.line(); got != tt.last {
					t.Errorf("after the end: got %q; want %q", got, tt.last)
				}
				if got := c.line(); got != "<closed>" {
					t.Errorf("then: got %q; want the connection closed", got)
				}
			}
			waitFor(t, "maildrop closed", func() bool { _, _, locked := be.state("alice"); return !locked })
			msgs, dels, _ := be.state("alice")
			if len(dels) != 0 || len(msgs) != len(fixtureMessages) {
				t.Errorf("got Delete calls %v and %d messages; want none and %d", dels, len(msgs), len(fixtureMessages))
			}
		})
	}
}

// TestPlaintextRefusalsAreRecorded: USER and AUTH PLAIN refused for want
// of TLS reach the backend's record once per attempt, without a password.
func TestPlaintextRefusalsAreRecorded(t *testing.T) {
	be := newMemBackend()
	_, addr := startServer(t, be, serverConfig{tls: true, remote: true})
	c := dial(t, addr)
	for _, line := range []string{"USER alice", "PASS secret", "AUTH PLAIN AGJvYgBodW50ZXIy", "AUTH PLAIN"} {
		if got := c.cmd(line); !strings.HasPrefix(got, "-ERR [AUTH] ") {
			t.Fatalf("%s: %q; want -ERR [AUTH]", line, got)
		}
	}
	c.mustOK("QUIT")
	be.mu.Lock()
	defer be.mu.Unlock()
	var users []string
	for _, r := range be.refused {
		if r.Password != "" || r.TLS {
			t.Errorf("refusal %+v carries a password or TLS", r)
		}
		users = append(users, r.Username)
	}
	if want := []string{"alice", "bob", ""}; !slices.Equal(users, want) {
		t.Errorf("refusals recorded for %q; want %q", users, want)
	}
}

func TestOneSessionPerMaildrop(t *testing.T) {
	be := newMemBackend()
	_, addr := startServer(t, be, serverConfig{})
	c1 := dial(t, addr)
	c1.login("alice", "secret")
	c2 := dial(t, addr)
	c2.mustOK("USER alice")
	if got, want := c2.cmd("PASS secret"), "-ERR [IN-USE] Another POP3 session is using this mailbox"; got != want {
		t.Fatalf("second session: got %q; want %q", got, want)
	}
	c1.mustOK("QUIT")
	waitFor(t, "maildrop closed", func() bool { _, _, locked := be.state("alice"); return !locked })
	c2.mustOK("USER alice")
	c2.mustOK("PASS secret")
}

// panicBackend panics inside a command.
type panicBackend struct{ *memBackend }

func (b panicBackend) Login(ctx context.Context, req LoginRequest) (Maildrop, error) {
	md, err := b.memBackend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return panicMaildrop{md}, nil
}

type panicMaildrop struct{ Maildrop }

func (panicMaildrop) ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error) {
	panic("boom")
}

func TestPanicIsRecovered(t *testing.T) {
	be := newMemBackend()
	_, addr := startServer(t, panicBackend{be}, serverConfig{})
	c := dial(t, addr)
	c.login("alice", "secret")
	c.mustOK("DELE 2")
	if got, want := c.cmd("RETR 1"), "-ERR [SYS/TEMP] Internal server error"; got != want {
		t.Fatalf("RETR: got %q; want %q", got, want)
	}
	if got := c.line(); got != "<closed>" {
		t.Fatalf("after the panic: got %q; want the connection closed", got)
	}
	waitFor(t, "maildrop closed", func() bool { _, _, locked := be.state("alice"); return !locked })
	if _, dels, _ := be.state("alice"); len(dels) != 0 {
		t.Errorf("Delete calls after a panic: %v; want none", dels)
	}
	// The server goes on serving.
	c2 := dial(t, addr)
	c2.login("alice", "secret")
	c2.mustOK("STAT")
}

// failingMaildrop fails reads and deletions.
type failingMaildrop struct {
	Maildrop
	failAt int64
}

func (m failingMaildrop) ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error) {
	if off >= m.failAt {
		return 0, errors.New("disk gone")
	}
	if rest := m.failAt - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	return m.Maildrop.ReadBody(ctx, i, off, p)
}

func (m failingMaildrop) Delete(ctx context.Context, idx []int) error {
	return errors.New("database locked")
}

type failingBackend struct {
	*memBackend
	failAt int64
}

func (b failingBackend) Login(ctx context.Context, req LoginRequest) (Maildrop, error) {
	md, err := b.memBackend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return failingMaildrop{md, b.failAt}, nil
}

func TestBackendFailures(t *testing.T) {
	t.Run("first read fails", func(t *testing.T) {
		_, addr := startServer(t, failingBackend{newMemBackend(), 0}, serverConfig{})
		c := dial(t, addr)
		c.login("alice", "secret")
		if got, want := c.cmd("RETR 1"), "-ERR [SYS/TEMP] Internal server error; try again later"; got != want {
			t.Errorf("RETR: got %q; want %q", got, want)
		}
		c.mustOK("NOOP")
	})
	t.Run("read fails in the middle", func(t *testing.T) {
		_, addr := startServer(t, failingBackend{newMemBackend(), 10}, serverConfig{})
		c := dial(t, addr)
		c.login("alice", "secret")
		c.mustOK("RETR 1")
		// The server cannot say -ERR inside a message; it closes, and
		// the client sees no terminating line.
		all, _ := io.ReadAll(c.r)
		if got, want := string(all), fixtureMessages[0].body[:10]; got != want {
			t.Errorf("got %q then close; want %q then close", got, want)
		}
	})
	t.Run("QUIT cannot delete", func(t *testing.T) {
		be := newMemBackend()
		_, addr := startServer(t, failingBackend{be, 1 << 30}, serverConfig{})
		c := dial(t, addr)
		c.login("alice", "secret")
		c.mustOK("DELE 1")
		if got, want := c.cmd("QUIT"), "-ERR [SYS/TEMP] Some deleted messages were not removed"; got != want {
			t.Errorf("QUIT: got %q; want %q", got, want)
		}
		if got := c.line(); got != "<closed>" {
			t.Errorf("after QUIT: got %q; want the connection closed", got)
		}
	})
}

func TestShutdownEndsIdleSessions(t *testing.T) {
	be := newMemBackend()
	srv, addr := startServer(t, be, serverConfig{})
	c := dial(t, addr)
	c.login("alice", "secret")
	c.mustOK("DELE 1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got, want := c.line(), "-ERR [SYS/TEMP] Server is shutting down; try again later"; got != want {
		t.Errorf("idle session at shutdown: got %q; want %q", got, want)
	}
	if _, dels, locked := be.state("alice"); len(dels) != 0 || locked {
		t.Errorf("after Shutdown: Delete calls %v, locked %v; want none, false", dels, locked)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("the listener still accepts after Shutdown")
	}
}

func TestLineLengthLimit(t *testing.T) {
	_, addr := startServer(t, newMemBackend(), serverConfig{})
	c := dial(t, addr)
	// 512 octets with CRLF is the limit.
	ok := "NOOP" + strings.Repeat(" ", maxLine-2-4)
	if got, want := c.cmd(ok), "-ERR NOOP is valid only after login"; got != want {
		t.Errorf("%d-octet line: got %q; want %q", len(ok)+2, got, want)
	}
	if got, want := c.cmd(ok+" "), "-ERR Line too long (limit 512 octets)"; got != want {
		t.Errorf("%d-octet line: got %q; want %q", len(ok)+3, got, want)
	}
	if got, want := c.cmd(strings.Repeat("x", 100000)), "-ERR Line too long (limit 512 octets)"; got != want {
		t.Errorf("100000-octet line: got %q; want %q", got, want)
	}
	c.mustOK("CAPA")
}

// bigBackend serves one large message that is not held as one string in
// the maildrop: it is generated for each read.
type bigBackend struct{ size int64 }

func (b bigBackend) Login(ctx context.Context, req LoginRequest) (Maildrop, error) {
	return bigMaildrop(b), nil
}

type bigMaildrop struct{ size int64 }

// bigByte is octet i of the big message: lines of 8-bit data, every
// third one starting with a dot.
func bigByte(i int64) byte {
	if i < 22 {
		return "Subject: big message\r\n"[i]
	}
	if i == 22 || i == 23 {
		return "\r\n"[i-22]
	}
	j := (i - 24) % 80
	line := (i - 24) / 80
	switch {
	case j == 78:
		return '\r'
	case j == 79:
		return '\n'
	case j == 0 && line%3 == 0:
		return '.'
	}
	return byte(128 + (i % 100))
}

func (m bigMaildrop) Messages() []Message {
	return []Message{{Size: m.size, UID: "big"}}
}

func (m bigMaildrop) ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error) {
	n := 0
	for ; n < len(p) && off+int64(n) < m.size; n++ {
		p[n] = bigByte(off + int64(n))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (bigMaildrop) Delete(ctx context.Context, msgs []int) error { return nil }
func (bigMaildrop) Close()                                       {}

func TestLargeMessage(t *testing.T) {
	const size = 10<<20 + 24 // 10 MB of lines after the header
	_, addr := startServer(t, bigBackend{size}, serverConfig{})
	c := dial(t, addr)
	c.login("u", "p")
	if got, want := c.cmd("LIST 1"), fmt.Sprintf("+OK 1 %d", size); got != want {
		t.Fatalf("LIST: got %q; want %q", got, want)
	}
	if got, want := c.cmd("RETR 1"), fmt.Sprintf("+OK %d octets", size); got != want {
		t.Fatalf("RETR: got %q; want %q", got, want)
	}
	body := c.multi()
	if int64(len(body)) != size {
		t.Fatalf("got %d octets; want %d", len(body), size)
	}
	for i := range body {
		if body[i] != bigByte(int64(i)) {
			t.Fatalf("octet %d: got %#x; want %#x", i, body[i], bigByte(int64(i)))
		}
	}
	c.mustOK("QUIT")
}

// TestManyConnections checks that sessions do not interfere.
func TestManyConnections(t *testing.T) {
	be := newMemBackend()
	for i := range 20 {
		be.users[fmt.Sprint("user", i)] = &memUser{password: "pw", msgs: slices.Clone(fixtureMessages)}
	}
	_, addr := startServer(t, be, serverConfig{})
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			// Everything pipelined in one write.
			fmt.Fprintf(conn, "USER user%d\r\nPASS pw\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nQUIT\r\n", i)
			all, err := io.ReadAll(conn)
			if err != nil {
				errs <- err
				return
			}
			if n := strings.Count(string(all), "+OK"); n != 8 {
				errs <- fmt.Errorf("user%d: got %d +OK; want 8:\n%s", i, n, all)
				return
			}
			errs <- nil
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSTLSDropsPlaintextPipelinedAfterIt: commands sent in plaintext after
// STLS, before the handshake, are not executed (RFC 2595 §4; the
// STARTTLS command injection of CVE-2011-0411).
func TestSTLSDropsPlaintextPipelinedAfterIt(t *testing.T) {
	_, addr := startServer(t, newMemBackend(), serverConfig{tls: true})
	c := dial(t, addr)
	if _, err := io.WriteString(c.conn, "STLS\r\nUSER alice\r\nPASS secret\r\n"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.line(), "+OK Begin TLS negotiation"; got != want {
		t.Fatalf("STLS: got %q; want %q", got, want)
	}
	if c.r.Buffered() != 0 {
		t.Fatalf("the server answered the injected commands before the handshake")
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	// Were USER and PASS run, STAT would succeed.
	if got, want := c.cmd("STAT"), "-ERR STAT is valid only after login"; got != want {
		t.Errorf("STAT: got %q; want %q", got, want)
	}
}
