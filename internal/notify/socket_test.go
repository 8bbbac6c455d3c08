package notify_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
)

// socketPath is a socket file in a fresh directory: a unix socket's path
// must stay short (108 bytes), so not under t.TempDir's long names.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gh-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, notify.SocketName)
}

// received subscribes to a mailbox's events on hub.
func received(hub *notify.Local, mailboxID int64) chan notify.Event {
	ch := make(chan notify.Event, 16)
	hub.Subscribe(mailboxID, func(e notify.Event) { ch <- e })
	return ch
}

// next waits for the next event; the limit only keeps a broken listener
// from hanging the test.
func next(t *testing.T, ch chan notify.Event, what string) notify.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no event came", what)
		return notify.Event{}
	}
}

// TestSocketDelivers hands a folder change from another connection to the
// server's hub: made with mode 0600, it publishes FolderChanged events
// of a mailbox and refuses, without dropping the connection, lines that
// are not such an event; a second server on the same file is refused.
func TestSocketDelivers(t *testing.T) {
	path := socketPath(t)
	hub := notify.NewLocal()
	l, err := notify.ListenSocket(path, hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file mode %v; want a socket with 0600", fi.Mode())
	}
	if _, err := notify.ListenSocket(path, notify.NewLocal(), nil); err == nil || !strings.Contains(err.Error(), "another running server listens there") {
		t.Errorf("a second listener on the same file: got %v; want refused", err)
	}

	got := received(hub, 7)
	other := received(hub, 8)
	h, err := notify.DialSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := notify.Event{Kind: notify.FolderChanged, MailboxID: 7, FolderID: 3, ModSeq: 41}
	if err := h.Publish(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if e := next(t, got, "a folder change"); e != want {
		t.Errorf("got %+v; want %+v", e, want)
	}

	// Lines that are not a mailbox's folder change are refused; the
	// connection goes on, and the next good event arrives, alone.
	raw, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "not json\n")
	fmt.Fprintf(raw, `{"k":%d,"m":7}`+"\n", notify.AccessChanged)
	fmt.Fprintf(raw, `{"k":%d,"m":0,"f":3}`+"\n", notify.FolderChanged)
	fmt.Fprintf(raw, `{"k":%d,"m":8,"f":5}`+"\n", notify.FolderChanged)
	if e := next(t, other, "the good line after the refused ones"); e.MailboxID != 8 || e.FolderID != 5 {
		t.Errorf("got %+v; want mailbox 8's folder 5", e)
	}
	select {
	case e := <-got:
		t.Errorf("a refused line was published: %+v", e)
	default:
	}
}

// TestSocketPeerGoesAway: a client that goes away mid-line or after its
// events costs nothing (the server keeps taking events from others), a
// server that stops ends its clients' connections instead of waiting for
// them, removes its socket file, and a client then gets an error, not a
// hang.
func TestSocketPeerGoesAway(t *testing.T) {
	path := socketPath(t)
	hub := notify.NewLocal()
	l, err := notify.ListenSocket(path, hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := received(hub, 9)
	for _, partial := range []string{`{"k":1,"m":9,"f"`, `{"k":1,"m":9,"f":1}` + "\n"} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(partial))
		c.Close()
	}
	if e := next(t, got, "the event of the client that went away after it"); e.FolderID != 1 {
		t.Errorf("got %+v; want folder 1", e)
	}
	h, err := notify.DialSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Publish(context.Background(), notify.Event{Kind: notify.FolderChanged, MailboxID: 9, FolderID: 2}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, got, "an event after the others went away"); e.FolderID != 2 {
		t.Errorf("got %+v; want folder 2", e)
	}
	// Close with a client still connected returns.
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for a connected client")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("after Close the socket file: %v; want it removed", err)
	}
	var perr error
	for i := 0; i < 3 && perr == nil; i++ {
		perr = h.Publish(context.Background(), notify.Event{Kind: notify.FolderChanged, MailboxID: 9, FolderID: 3})
	}
	if perr == nil {
		t.Error("Publish to a server that went away: no error; want one")
	}
	if _, err := notify.DialSocket(path); err == nil {
		t.Error("DialSocket with no server: no error; want one")
	}
}

// TestSocketStaleFile kills (SIGKILL) a process that listens on the
// socket, so that its socket file stays behind with nobody listening; a
// new server replaces it and delivers.
func TestSocketStaleFile(t *testing.T) {
	if p := os.Getenv("GATEHOUSE_NOTIFY_HELPER"); p != "" {
		if _, err := notify.ListenSocket(p, notify.NewLocal(), nil); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("listening")
		select {}
	}
	path := socketPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSocketStaleFile$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_NOTIFY_HELPER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "listening\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the helper process said %q", line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the killed process's socket file: %v; want it left behind", err)
	}
	if _, err := notify.DialSocket(path); err == nil {
		t.Fatal("the stale socket file accepts connections; want nobody listening")
	}
	hub := notify.NewLocal()
	l, err := notify.ListenSocket(path, hub, nil)
	if err != nil {
		t.Fatalf("listening over the stale file: %v", err)
	}
	defer l.Close()
	got := received(hub, 4)
	h, err := notify.DialSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Publish(context.Background(), notify.Event{Kind: notify.FolderChanged, MailboxID: 4, FolderID: 1}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, got, "an event after the stale file was replaced"); e.MailboxID != 4 {
		t.Errorf("got %+v; want mailbox 4", e)
	}
}
