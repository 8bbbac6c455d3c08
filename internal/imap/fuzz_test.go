package imap_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzSession sends arbitrary input to a logged-in session with a message
// selected. The server must never fail internally (a recovered panic
// answers "Internal server error"), and must end the connection soon after
// the client stops sending (no hang, no loop).
func FuzzSession(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/transcripts/*.txt")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		for _, l := range strings.Split(string(data), "\n") {
			if c, ok := strings.CutPrefix(l, "C: "); ok {
				b.WriteString(c + "\r\n")
			}
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte("a FETCH 1:* (BODY[1.2.HEADER.FIELDS (a b)]<0.10> BINARY[2] ENVELOPE)\r\n"))
	f.Add([]byte("a SEARCH OR NOT (1 UID 2:*) HEADER x {3+}\r\nabc SINCE 1-Jan-2000\r\n"))
	f.Add([]byte("a APPEND INBOX (\\Seen) \" 1-Jan-2020 00:00:00 +0000\" ~{5+}\r\nab\x00cd\r\n"))
	e := newEnv(f, envOptions{opts: optsForFuzz()})
	e.deliver(f, readMsgTB(f, "multipart.eml"), "alice")
	e.deliver(f, readMsgTB(f, "simple.eml"), "alice")
	f.Fuzz(func(t *testing.T, input []byte) {
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		start := time.Now()
		prefix := "p1 LOGIN alice pw-alice\r\np2 SELECT INBOX\r\n"
		done := make(chan []byte)
		go func() {
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			out, _ := io.ReadAll(nc)
			done <- out
		}()
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte(prefix))
		nc.Write(input)
		nc.Write([]byte("\r\nz1 NOOP\r\n"))
		nc.(*net.TCPConn).CloseWrite()
		select {
		case out := <-done:
			if bytes.Contains(out, []byte("Internal server error")) || bytes.Contains(out, []byte("SERVERBUG")) {
				t.Fatalf("server failed on %q:\n%s", input, out)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("session took %v on %q:\n%s", d, input, out)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("server did not end the session after the input %q", input)
		}
	})
}

func readMsgTB(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/msgs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}
