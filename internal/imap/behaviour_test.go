package imap_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
)

// rawClient is a line-level client for behaviour tests.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
	return c
}

func (c *rawClient) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a command and returns the lines up to its tagged response.
func (c *rawClient) cmd(tag, cmd string) []string {
	c.t.Helper()
	c.send(tag + " " + cmd)
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

// login reads the greeting and logs in.
func (c *rawClient) login(user string) {
	c.t.Helper()
	c.line()
	if got := c.cmd("l", "LOGIN "+user+" pw-"+user); !strings.HasPrefix(got[len(got)-1], "l OK") {
		c.t.Fatalf("login %s: %v", user, got)
	}
}

// closed reports whether the server closed the connection within d.
func (c *rawClient) closed(d time.Duration) bool {
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.r)
	return err == nil // EOF
}

func TestKick(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\r\n"), 400000) // ~30 MB
	e.deliver(t, append([]byte("Subject: big\r\n\r\n"), big...), "alice")

	t.Run("waiting", func(t *testing.T) {
		c := dialRaw(t, e.addr)
		c.login("alice")
		start := time.Now()
		e.login.kick(e.boxes["alice"], "Kicked for test")
		if got := c.line(); got != "* BYE Kicked for test" {
			t.Errorf("got %q; want the BYE", got)
		}
		if !c.closed(time.Second) {
			t.Errorf("connection open after BYE")
		}
		t.Logf("BYE %v after the kick", time.Since(start))
	})
	t.Run("after the running command", func(t *testing.T) {
		c := dialRaw(t, e.addr)
		c.login("alice")
		c.cmd("s", "SELECT INBOX")
		// A slow reader: ask for 30 MB and read nothing for a while.
		c.send("f FETCH 1 BODY.PEEK[]")
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		e.login.kick(e.boxes["alice"], "Kicked for test")
		// The command cannot finish in a second: the connection is cut.
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		time.Sleep(1500 * time.Millisecond)
		n, err := io.Copy(io.Discard, c.r)
		if err != nil {
			t.Errorf("connection not closed: %v after %d bytes", err, n)
		}
		if n >= int64(len(big)) {
			t.Errorf("the whole body was sent (%d bytes) despite the kick", n)
		}
		t.Logf("connection closed %v after the kick", time.Since(start))
	})
	t.Run("quick command finishes first", func(t *testing.T) {
		c := dialRaw(t, e.addr)
		c.login("alice")
		c.send("s SELECT INBOX")
		e.login.kick(e.boxes["alice"], "Kicked for test")
		var lines []string
		for {
			l := c.line()
			lines = append(lines, l)
			if strings.HasPrefix(l, "* BYE") {
				break
			}
		}
		// Either the BYE came before the command was read, or after its
		// tagged response; never in the middle.
		if len(lines) > 1 && !strings.HasPrefix(lines[len(lines)-2], "s OK") {
			t.Errorf("BYE in the middle of a response: %q", lines)
		}
	})
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, envOptions{opts: imap.Options{LoginTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}})
	before := dialRaw(t, e.addr)
	before.line()
	after := dialRaw(t, e.addr)
	after.login("alice")
	idle := dialRaw(t, e.addr)
	idle.login("bob")
	idle.send("i IDLE")
	idle.line()
	for name, c := range map[string]*rawClient{"before login": before, "after login": after, "in IDLE": idle} {
		if got := c.line(); got != "* BYE Autologout; idle for too long" {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

func TestConnectionLimits(t *testing.T) {
	e := newEnv(t, envOptions{opts: imap.Options{MaxConnsPerIP: 3, MaxConnsPerMailbox: 2}})
	var cs []*rawClient
	for i := 0; i < 3; i++ {
		c := dialRaw(t, e.addr)
		c.line()
		cs = append(cs, c)
	}
	over := dialRaw(t, e.addr)
	if got := over.line(); got != "* BYE [UNAVAILABLE] Too many connections from your address" {
		t.Errorf("4th connection from one IP: %q", got)
	}
	for i, c := range cs {
		got := c.cmd("l", "LOGIN alice pw-alice")
		want := "l OK"
		if i == 2 {
			want = "l NO [LIMIT] Too many connections to this mailbox"
		}
		if !strings.HasPrefix(got[len(got)-1], want) {
			t.Errorf("login %d: %q; want %q", i+1, got[len(got)-1], want)
		}
	}
	// A closed session frees its place.
	cs[0].cmd("o", "LOGOUT")
	time.Sleep(100 * time.Millisecond)
	if got := cs[2].cmd("l", "LOGIN alice pw-alice"); !strings.HasPrefix(got[len(got)-1], "l OK") {
		t.Errorf("login after a logout: %q", got)
	}
}

// panicBackend panics in Folders, to check that a panic ends only its
// connection.
type panicBackend struct{ imap.Backend }

func (b panicBackend) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	u, err := b.Backend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return panicUser{u}, nil
}

type panicUser struct{ imap.User }

func (panicUser) Folders(context.Context) ([]imap.FolderInfo, error) { panic("boom") }

func TestPanicEndsOnlyItsConnection(t *testing.T) {
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return panicBackend{b} }})
	victim, bystander := dialRaw(t, e.addr), dialRaw(t, e.addr)
	victim.login("alice")
	bystander.login("alice")
	victim.send("x LIST \"\" *")
	if got := victim.line(); got != "* BYE Internal server error" {
		t.Errorf("after panic: %q", got)
	}
	if !victim.closed(time.Second) {
		t.Errorf("connection open after panic")
	}
	if got := bystander.cmd("n", "NOOP"); got[len(got)-1] != "n OK NOOP completed" {
		t.Errorf("other session: %q", got)
	}
}

// TestSlowReader: a client that does not read its FETCH blocks nobody, and
// its session holds no store lock.
func TestSlowReader(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\r\n"), 200000)
	e.deliver(t, append([]byte("Subject: big\r\n\r\n"), big...), "alice")
	slow := dialRaw(t, e.addr)
	slow.login("alice")
	slow.cmd("s", "SELECT INBOX")
	slow.send("f FETCH 1 BODY[]") // also sets \Seen: a write
	time.Sleep(300 * time.Millisecond)

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialRaw(t, e.addr)
			c.login("alice")
			c.cmd("s", "SELECT INBOX")
			if got := c.cmd("t", "STORE 1 +FLAGS (\\Flagged)"); !strings.HasPrefix(got[len(got)-1], "t OK") {
				t.Errorf("STORE: %q", got)
			}
			if got := c.cmd("a", "APPEND INBOX {4+}\r\nabcd"); !strings.HasPrefix(got[len(got)-1], "a OK") {
				t.Errorf("APPEND: %q", got)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("other sessions blocked by a slow reader")
	}
	e.deliver(t, []byte("Subject: still delivered\r\n\r\nx\r\n"), "alice")
}

// TestIdleRecheck: a change whose event was lost still reaches an idling
// client, at the next periodic re-check.
func TestIdleRecheck(t *testing.T) {
	e := newEnv(t, envOptions{opts: imap.Options{IdleRecheck: 200 * time.Millisecond}})
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	c.send("i IDLE")
	c.line()
	e.deliverQuietly(t, []byte("Subject: x\r\n\r\nx\r\n"), false, "alice")
	if got := c.line(); got != "* 1 EXISTS" {
		t.Errorf("got %q; want * 1 EXISTS", got)
	}
}

// searchingBackend gives folders a SummarySearcher that scans Messages, and
// counts its calls.
type searchingBackend struct {
	imap.Backend
	calls *atomic.Int32
}

func (b searchingBackend) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	u, err := b.Backend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return searchingUser{u, b.calls}, nil
}

type searchingUser struct {
	imap.User
	calls *atomic.Int32
}

func (u searchingUser) Open(ctx context.Context, name string, changed func()) (imap.Folder, error) {
	f, err := u.User.Open(ctx, name, changed)
	if err != nil {
		return nil, err
	}
	return searchingFolder{f, u.calls}, nil
}

type searchingFolder struct {
	imap.Folder
	calls *atomic.Int32
}

func (f searchingFolder) SearchSummary(ctx context.Context, uids []imap.UIDRange, field, substr string) ([]uint32, error) {
	f.calls.Add(1)
	var out []uint32
	err := f.Messages(ctx, uids, imap.WantSummary, func(md *imap.MessageData) error {
		v := map[string]string{"subject": md.Subject, "from": md.From, "to": md.To, "cc": md.Cc}[field]
		if strings.Contains(strings.ToLower(v), substr) {
			out = append(out, md.UID)
		}
		return nil
	})
	return out, err
}

// TestSearchSummaryPrefilter: SEARCH SUBJECT asks the backend's summary
// search first, and the result is the same.
func TestSearchSummaryPrefilter(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return searchingBackend{b, &calls} }})
	for i := 0; i < 5; i++ {
		e.deliver(t, []byte(fmt.Sprintf("Subject: item %d%s\r\nFrom: x%d@example.com\r\n\r\nbody\r\n", i, map[bool]string{true: " needle"}[i%2 == 0], i)), "alice")
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	tests := []struct{ cmd, want string }{
		{"SEARCH SUBJECT NEEDLE", "* SEARCH 1 3 5"},
		{"SEARCH SUBJECT needle FROM x2", "* SEARCH 3"},
		{"SEARCH NOT SUBJECT needle", "* SEARCH 2 4"},
		{"SEARCH SUBJECT needle 4:5", "* SEARCH 5"},
	}
	for _, tt := range tests {
		if got := c.cmd("q", tt.cmd); got[0] != tt.want {
			t.Errorf("%s: %q; want %q", tt.cmd, got[0], tt.want)
		}
	}
	// One per SUBJECT key of the top-level conjunction; none under NOT.
	// FROM/TO/CC are matched on the parsed address lists (group names are
	// not in the summary columns).
	if got := calls.Load(); got != 3 {
		t.Errorf("summary searches: got %d; want 3", got)
	}
}
