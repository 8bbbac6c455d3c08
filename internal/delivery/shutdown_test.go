package delivery_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

const shutdown421 = "421 4.3.2 Service shutting down, try again later"

// lineConn is an SMTP/LMTP client at the level of lines.
type lineConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &lineConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	if got := c.line(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting: got %q; want 220", got)
	}
	return c
}

// line reads one line; "<closed>" at EOF.
func (c *lineConn) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		if l != "" {
			c.t.Fatalf("read: %v after %q", err, l)
		}
		return "<closed>"
	}
	return strings.TrimRight(l, "\r\n")
}

// reply sends a command and returns the last line of its reply.
func (c *lineConn) reply(cmd string) string {
	c.t.Helper()
	fmt.Fprintf(c.nc, "%s\r\n", cmd)
	for {
		l := c.line()
		if len(l) < 4 || l[3] != '-' {
			return l
		}
	}
}

func (c *lineConn) expect(cmd, prefix string) {
	c.t.Helper()
	if got := c.reply(cmd); !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("%s: got %q; want %s...", cmd, got, prefix)
	}
}

// startTLS upgrades the connection after STARTTLS.
func (c *lineConn) startTLS() {
	c.t.Helper()
	c.expect("STARTTLS", "220 ")
	tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.nc, c.r = tc, bufio.NewReader(tc)
}

// openData starts a transaction to christa and sends the first half of msg.
func (c *lineConn) openData(hello, msg string) {
	c.t.Helper()
	c.expect(hello+" client.example.org", "250 ")
	c.expect("MAIL FROM:<sender@example.org>", "250 ")
	c.expect("RCPT TO:<christa@contoso.com>", "250 ")
	c.expect("DATA", "354 ")
	io.WriteString(c.nc, msg[:len(msg)/2])
}

func shutdownEnv(t *testing.T, grace time.Duration) *testenv.Env {
	return testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.ShutdownGrace = config.Duration(grace)
	}})
}

// shutdownAsync runs the whole server's Shutdown and returns its result.
func shutdownAsync(e *testenv.Env) <-chan error {
	done := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		done <- e.Shutdown(sctx)
	}()
	return done
}

// TestShutdownTellsIdleSessions: SMTP and LMTP sessions with no
// transaction (before and after EHLO, also under STARTTLS) get 421 4.3.2 at
// once and are closed; a DATA under way may finish, is stored and answered
// 250, and then gets its 421.
func TestShutdownTellsIdleSessions(t *testing.T) {
	for _, proto := range []string{"smtp", "lmtp"} {
		t.Run(proto, func(t *testing.T) {
			hello := map[string]string{"smtp": "EHLO", "lmtp": "LHLO"}[proto]
			e := shutdownEnv(t, 10*time.Second)
			addr := e.Addr(proto)
			_, before := inbox(t, e, "christa@contoso.com")
			fresh := dialLines(t, addr)
			greeted := dialLines(t, addr)
			greeted.expect(hello+" client.example.org", "250 ")
			secure := dialLines(t, addr)
			secure.expect(hello+" client.example.org", "250 ")
			secure.startTLS()
			secure.expect(hello+" client.example.org", "250 ")
			sending := dialLines(t, addr)
			msg := "Subject: finished during shutdown\r\n\r\n" + strings.Repeat("line of text\r\n", 20_000)
			sending.openData(hello, msg)

			done := shutdownAsync(e)
			for name, c := range map[string]*lineConn{"before " + hello: fresh, "after " + hello: greeted, "STARTTLS": secure} {
				if got := c.line(); got != shutdown421 {
					t.Errorf("%s: got %q; want %q", name, got, shutdown421)
				}
				if got := c.line(); got != "<closed>" {
					t.Errorf("%s after 421: got %q; want the connection closed", name, got)
				}
			}
			// Shutdown has begun; the transfer under way still completes.
			io.WriteString(sending.nc, msg[len(msg)/2:]+".\r\n")
			if got := sending.line(); !strings.HasPrefix(got, "250 ") {
				t.Errorf("DATA finished during shutdown: got %q; want 250", got)
			}
			if got := sending.line(); got != shutdown421 {
				t.Errorf("after DATA: got %q; want %q", got, shutdown421)
			}
			if err := <-done; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if got := storedAfter(t, e); got != len(before)+1 {
				t.Errorf("INBOX: got %d messages; want %d", got, len(before)+1)
			}
			if log := e.Log.String(); strings.Contains(log, "level=ERROR") {
				t.Errorf("ERROR logged in a normal shutdown:\n%s", log)
			}
		})
	}
}

// TestShutdownRefusesUnfinishedData: a DATA still under way when the grace
// ends is answered 421 4.3.2 (per recipient over LMTP), nothing is stored,
// and the connection is closed.
func TestShutdownRefusesUnfinishedData(t *testing.T) {
	for _, tc := range []struct{ proto, hello, want string }{
		{"smtp", "EHLO", shutdown421},
		{"lmtp", "LHLO", "421 4.3.2 <christa@contoso.com> Service shutting down, try again later"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			e := shutdownEnv(t, 300*time.Millisecond)
			_, before := inbox(t, e, "christa@contoso.com")
			c := dialLines(t, e.Addr(tc.proto))
			c.openData(tc.hello, "Subject: never finished\r\n\r\n"+strings.Repeat("x\r\n", 100_000))
			done := shutdownAsync(e)
			if got := c.line(); got != tc.want {
				t.Errorf("DATA cut by shutdown: got %q; want %q", got, tc.want)
			}
			if got := c.line(); got != "<closed>" {
				t.Errorf("after 421: got %q; want the connection closed", got)
			}
			if err := <-done; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if got := storedAfter(t, e); got != len(before) {
				t.Errorf("INBOX: got %d messages; want %d (nothing of the cut message stored)", got, len(before))
			}
			if log := e.Log.String(); strings.Contains(log, "level=ERROR") {
				t.Errorf("ERROR logged in a normal shutdown:\n%s", log)
			}
		})
	}
}

// storedAfter counts christa's INBOX in the data directory of a server
// that was shut down, by starting another on it.
func storedAfter(t *testing.T, e *testenv.Env) int {
	t.Helper()
	cfg := e.Config
	cfg.Demo = false
	cfg.Listen = config.Listen{}
	e2 := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { *c = cfg }})
	_, msgs := inbox(t, e2, "christa@contoso.com")
	return len(msgs)
}
