package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wire is a line client of any of the text protocols.
type wire struct {
	t    *testing.T
	name string
	nc   net.Conn
	r    *bufio.Reader
	// last is every line read after the signal.
	last []string
}

func dialWire(t *testing.T, name, addr string) *wire {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &wire{t: t, name: name, nc: nc, r: bufio.NewReader(nc)}
	w.line() // greeting
	return w
}

func (w *wire) line() string {
	w.t.Helper()
	w.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := w.r.ReadString('\n')
	if err != nil {
		if l != "" {
			return strings.TrimRight(l, "\r\n") + " <cut>"
		}
		return "<closed>"
	}
	return strings.TrimRight(l, "\r\n")
}

func (w *wire) send(s string) {
	w.t.Helper()
	if _, err := io.WriteString(w.nc, s); err != nil {
		w.t.Fatalf("%s: write: %v", w.name, err)
	}
}

// until sends cmd and reads lines until one starts with prefix.
func (w *wire) until(cmd, prefix string) string {
	w.t.Helper()
	if cmd != "" {
		w.send(cmd + "\r\n")
	}
	for {
		l := w.line()
		if strings.HasPrefix(l, prefix) {
			return l
		}
		if l == "<closed>" {
			w.t.Fatalf("%s: %q: connection closed; want %s", w.name, cmd, prefix)
		}
	}
}

// rest reads what the server sends until it closes the connection.
func (w *wire) rest() []string {
	w.t.Helper()
	var out []string
	for {
		l := w.line()
		if l == "<closed>" {
			return out
		}
		out = append(out, l)
	}
}

// TestSIGTERM runs the real binary with a connection of every protocol
// open, idle or busy, sends SIGTERM and checks what each client was told,
// what was stored, that the process exits within the grace (plus the short
// answer window) and that it logged no error.
func TestSIGTERM(t *testing.T) {
	const grace = 3 * time.Second
	s := start(t, "--data", t.TempDir(), "--demo", "--admin-password", "x-Admin-Pass-1", "--shutdown-grace", grace.String(),
		"--imap", "127.0.0.1:0", "--imaps", "", "--pop3", "127.0.0.1:0", "--pop3s", "",
		"--smtp", "127.0.0.1:0", "--lmtp", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--submission", "", "--submissions", "")
	const user, pass = "christa@contoso.com", "Contoso-Demo-2026"

	// A big message for the POP3 RETR under way.
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 70)+"\r\n", 40_000)
	lm := dialWire(t, "lmtp", s.addrs["LMTP"])
	lm.until("LHLO test", "250 ")
	lm.until("MAIL FROM:<a@example.org>", "250 ")
	lm.until("RCPT TO:<"+user+">", "250 ")
	lm.until("DATA", "354 ")
	lm.send(big + ".\r\n")
	lm.until("", "250 ")
	lm.until("QUIT", "221 ")

	imapLogin := func(name string) *wire {
		w := dialWire(t, name, s.addrs["IMAP4"])
		w.until("a LOGIN "+user+" "+pass, "a OK")
		return w
	}
	imapIdle := imapLogin("IMAP idle")
	imapIDLE := imapLogin("IMAP IDLE")
	imapIDLE.until("s SELECT INBOX", "s OK")
	imapIDLE.until("i IDLE", "+ ")
	imapAppend := imapLogin("IMAP mid-APPEND")
	imapAppend.until(fmt.Sprintf("p APPEND INBOX {%d}", 1<<20), "+ ")
	imapAppend.send("Subject: cut\r\n\r\n" + strings.Repeat("c", 1000))

	popIdle := dialWire(t, "POP3 idle", s.addrs["POP3"])
	popIdle.until("USER ben@contoso.com", "+OK") // one POP3 session per mailbox
	popIdle.until("PASS "+pass, "+OK")
	popRetr := dialWire(t, "POP3 mid-RETR", s.addrs["POP3"])
	popRetr.until("USER "+user, "+OK")
	popRetr.until("PASS "+pass, "+OK")
	stat := strings.Fields(popRetr.until("STAT", "+OK"))
	popRetr.until("RETR "+stat[1], "+OK") // the big message is the last

	smtpIdle := dialWire(t, "SMTP idle", s.addrs["SMTP"])
	smtpIdle.until("EHLO test", "250 ")
	lmtpIdle := dialWire(t, "LMTP idle", s.addrs["LMTP"])
	lmtpIdle.until("LHLO test", "250 ")
	smtpData := dialWire(t, "SMTP mid-DATA", s.addrs["SMTP"])
	smtpData.until("EHLO test", "250 ")
	smtpData.until("MAIL FROM:<a@example.org>", "250 ")
	smtpData.until("RCPT TO:<"+user+">", "250 ")
	smtpData.until("DATA", "354 ")
	smtpData.send("Subject: finished during shutdown\r\n\r\nfirst half\r\n")

	// An admin client with a keep-alive connection.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	resp, err := hc.Get("http://" + s.addrs["Admin"] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	sent := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()

	// Clients waiting for a command are told at once.
	const (
		imapBye = "* BYE [UNAVAILABLE] Server shutting down, try again later"
		popErr  = "-ERR [SYS/TEMP] Server is shutting down; try again later"
		smtp421 = "421 4.3.2 Service shutting down, try again later"
	)
	for _, tc := range []struct {
		w    *wire
		want []string
	}{
		{imapIdle, []string{imapBye}},
		{imapIDLE, []string{imapBye}},
		{popIdle, []string{popErr}},
		{smtpIdle, []string{smtp421}},
		{lmtpIdle, []string{smtp421}},
	} {
		if got := tc.w.rest(); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q; want %q", tc.w.name, got, tc.want)
		}
	}
	// The server is stopping now; the SMTP transfer under way may finish.
	smtpData.send("second half\r\n.\r\n")
	if got := smtpData.rest(); len(got) != 2 || !strings.HasPrefix(got[0], "250 ") || got[1] != smtp421 {
		t.Errorf("SMTP mid-DATA finished during shutdown: got %q; want 250 ..., %q", got, smtp421)
	}
	// The RETR under way is sent whole, then the session ends.
	lines := popRetr.rest()
	if n := len(lines); n < 40_000 || lines[n-2] != "." || lines[n-1] != popErr {
		t.Errorf("POP3 mid-RETR: %d lines ending %q; want the whole message, \".\", then %q", n, lines[max(0, n-2):], popErr)
	}
	// The APPEND whose literal never comes is refused when the grace ends.
	if got, want := imapAppend.rest(), []string{"p NO [UNAVAILABLE] Server shutting down before the command completed", imapBye}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("IMAP mid-APPEND: got %q; want %q", got, want)
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v; want status 0\n%s", err, s.errb)
		}
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("still running %v after SIGTERM (grace %v)", time.Since(sent), grace)
	}
	if took := time.Since(sent); took > grace+3*time.Second {
		t.Errorf("exit took %v; want within the grace %v and the answer window", took, grace)
	}
	// The admin listener is gone.
	if _, err := hc.Get("http://" + s.addrs["Admin"] + "/healthz"); err == nil {
		t.Errorf("admin listener still answers after exit")
	}
	for _, l := range strings.Split(s.errb.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("ERROR logged in a normal shutdown: %s", l)
		}
	}
	if !strings.Contains(s.errb.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", s.errb)
	}
}
