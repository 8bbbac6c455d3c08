package imap_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

const shutdownBye = "* BYE [UNAVAILABLE] Server shutting down, try again later"

// inboxCount returns how many messages user's INBOX holds.
func (e *env) inboxCount(t *testing.T, user string) uint32 {
	t.Helper()
	f, err := e.st.FolderByName(context.Background(), e.boxes[user], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return f.Messages
}

// shutdownAsync starts Shutdown with the given grace and returns its result
// channel.
func (e *env) shutdownAsync(grace time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	return done
}

// TestShutdownTellsEverySession: sessions waiting for a command, idling or
// not yet logged in get the BYE at once; an APPEND whose literal is being
// sent finishes within the grace, is stored and answered, and then gets
// the BYE; no new connection is accepted.
func TestShutdownTellsEverySession(t *testing.T) {
	e := newEnv(t, envOptions{})
	before := e.inboxCount(t, "alice")
	idling, waiting, fresh, appending := dialRaw(t, e.addr), dialRaw(t, e.addr), dialRaw(t, e.addr), dialRaw(t, e.addr)
	idling.login("alice")
	idling.cmd("s", "SELECT INBOX")
	idling.send("i IDLE")
	if got := idling.line(); got != "+ idling" {
		t.Fatalf("IDLE: got %q; want + idling", got)
	}
	waiting.login("alice")
	fresh.line()
	appending.login("alice")
	msg := "Subject: in flight\r\n\r\n" + strings.Repeat("x", 100_000) + "\r\n"
	appending.send(fmt.Sprintf("a APPEND INBOX {%d}", len(msg)))
	if got := appending.line(); !strings.HasPrefix(got, "+ ") {
		t.Fatalf("APPEND: got %q; want a continuation", got)
	}
	appending.nc.Write([]byte(msg[:len(msg)/2]))

	done := e.shutdownAsync(10 * time.Second)
	for _, tc := range []struct {
		name string
		c    *rawClient
	}{{"idling", idling}, {"waiting", waiting}, {"not logged in", fresh}} {
		if got := tc.c.line(); got != shutdownBye {
			t.Errorf("%s: got %q; want %q", tc.name, got, shutdownBye)
		}
		if !tc.c.closed(2 * time.Second) {
			t.Errorf("%s: connection still open after BYE", tc.name)
		}
	}
	// The listener is closed before anyone is told.
	if nc, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		nc.Close()
		t.Errorf("still accepting connections during shutdown")
	}

	// The APPEND under way may finish: the rest of its literal is read.
	appending.nc.Write([]byte(msg[len(msg)/2:] + "\r\n"))
	if got := appending.line(); !strings.HasPrefix(got, "a OK [APPENDUID ") {
		t.Errorf("APPEND finished during shutdown: got %q; want a OK [APPENDUID ...]", got)
	}
	if got := appending.line(); got != shutdownBye {
		t.Errorf("after APPEND: got %q; want %q", got, shutdownBye)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: got %v; want nil (every session ended within the grace)", err)
	}
	if got := e.inboxCount(t, "alice"); got != before+1 {
		t.Errorf("INBOX after shutdown: got %d messages; want %d", got, before+1)
	}
}

// TestShutdownInterruptsAppend: an APPEND whose literal does not arrive
// within the grace is answered NO [UNAVAILABLE], followed by the BYE, and
// nothing is stored.
func TestShutdownInterruptsAppend(t *testing.T) {
	e := newEnv(t, envOptions{})
	before := e.inboxCount(t, "alice")
	c := dialRaw(t, e.addr)
	c.login("alice")
	msg := "Subject: cut\r\n\r\n" + strings.Repeat("y", 1<<20) + "\r\n"
	c.send(fmt.Sprintf("a APPEND INBOX {%d}", len(msg)))
	if got := c.line(); !strings.HasPrefix(got, "+ ") {
		t.Fatalf("APPEND: got %q; want a continuation", got)
	}
	c.nc.Write([]byte(msg[:len(msg)/3]))

	done := e.shutdownAsync(300 * time.Millisecond)
	want := []string{"a NO [UNAVAILABLE] Server shutting down before the command completed", shutdownBye}
	for i, w := range want {
		if got := c.line(); got != w {
			t.Errorf("line %d: got %q; want %q", i+1, got, w)
		}
	}
	if !c.closed(2 * time.Second) {
		t.Errorf("connection still open after BYE")
	}
	if err := <-done; err != context.DeadlineExceeded {
		t.Errorf("Shutdown: got %v; want %v (a command was interrupted)", err, context.DeadlineExceeded)
	}
	if got := e.inboxCount(t, "alice"); got != before {
		t.Errorf("INBOX after interrupted APPEND: got %d messages; want %d", got, before)
	}
}
