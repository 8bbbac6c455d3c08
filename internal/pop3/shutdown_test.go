package pop3

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestShutdownLetsRetrFinish: a RETR under way when Shutdown starts is
// sent to its end within the grace, then the session gets the shutdown
// answer and is closed; a session waiting for a command gets it at once.
// Nothing is deleted.
func TestShutdownLetsRetrFinish(t *testing.T) {
	const want = "-ERR [SYS/TEMP] Server is shutting down; try again later"
	be := newMemBackend()
	body := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("z", 78)+"\r\n", 50_000) // 4 MB
	be.users["big"] = &memUser{password: "pw", msgs: []memMsg{{"2001", body}}}
	srv, addr := startServer(t, be, serverConfig{})
	idle, busy := dial(t, addr), dial(t, addr)
	idle.login("alice", "secret")
	busy.login("big", "pw")
	busy.mustOK("DELE 1")
	busy.mustOK("RSET")
	if got := busy.cmd("RETR 1"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR: got %q; want +OK", got)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	if got := idle.line(); got != want {
		t.Errorf("idle session: got %q; want %q", got, want)
	}
	// Shutdown has begun (the idle session heard of it); the message still
	// arrives whole.
	if got := busy.multi(); string(got) != body {
		t.Errorf("RETR during shutdown: got %d octets; want %d", len(got), len(body))
	}
	if got := busy.line(); got != want {
		t.Errorf("after RETR: got %q; want %q", got, want)
	}
	for name, c := range map[string]*client{"idle": idle, "busy": busy} {
		if got := c.line(); got != "<closed>" {
			t.Errorf("%s session after the shutdown answer: got %q; want the connection closed", name, got)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: got %v; want nil", err)
	}
	if _, dels, _ := be.state("big"); len(dels) != 0 {
		t.Errorf("Delete calls after shutdown: %v; want none", dels)
	}
}
