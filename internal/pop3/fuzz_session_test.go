package pop3

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// panicLog records log records that report a recovered panic.
type panicLog struct {
	mu     sync.Mutex
	panics []string
}

func (h *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.mu.Lock()
		h.panics = append(h.panics, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *panicLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicLog) WithGroup(string) slog.Handler      { return h }

// FuzzSession sends arbitrary input, before or after a login, followed by
// QUIT, and checks that the server neither panics nor hangs, and that what
// it sends is CRLF lines.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"STAT\r\nLIST\r\nRETR 1\r\nTOP 3 0\r\nDELE 2\r\nRSET\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH PLAIN =\r\n",
		"UIDL 99999999999999\r\nLIST 0\r\nTOP 1 -1\r\n",
		"\x00\xff\r\n\n\r\r\n" + strings.Repeat("A", 700) + "\r\n",
		"STLS\r\nCAPA\r\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	logs := &panicLog{}
	be := newMemBackend()
	_, addr := startServer(f, be, serverConfig{tls: true, opts: func(o *Options) {
		o.Logger = slog.New(logs)
		o.Timeouts.Linger = 10 * time.Millisecond
		// After STLS the server waits for a handshake that never comes.
		o.Timeouts.Handshake = 200 * time.Millisecond
	}})
	f.Fuzz(func(t *testing.T, input []byte, login bool) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		var in bytes.Buffer
		if login {
			// A run may find the maildrop still locked by the previous
			// one ([IN-USE]); that is an answer like any other here.
			in.WriteString("USER alice\r\nPASS secret\r\n")
		}
		in.Write(input)
		in.WriteString("\r\nQUIT\r\nQUIT\r\nQUIT\r\n")
		go conn.Write(in.Bytes())
		out, err := io.ReadAll(conn)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("reading the answers: %v (the server hung?)", err)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Errorf("output does not end in CRLF: %q", out[max(0, len(out)-80):])
		}
		logs.mu.Lock()
		defer logs.mu.Unlock()
		if len(logs.panics) > 0 {
			t.Fatalf("server panicked: %v", logs.panics)
		}
	})
}
