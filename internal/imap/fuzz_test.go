package imap_test

import (
	"bufio"
	"bytes"
	"fmt"
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

// FuzzEveryTagAnswered sends up to 20 arbitrary command lines, each with
// its own tag, pipelined; every tag must get its tagged response. Lines
// that legitimately end or suspend the exchange (literals, LOGOUT, IDLE,
// AUTHENTICATE, STARTTLS) are left out.
func FuzzEveryTagAnswered(f *testing.F) {
	f.Add([]byte("NOOP\nSELECT INBOX\nFETCH 1:* (FLAGS BODY.PEEK[HEADER])\nSEARCH OR 1 2 SUBJECT x\n\nUID STORE 1 +FLAGS (\\Seen)"))
	f.Add([]byte("LIST \"\" *\nSTATUS INBOX (MESSAGES)\nCREATE a/b\nRENAME a c\n( ) [ ] %*\"\\"))
	e := newEnv(f, envOptions{opts: optsForFuzz()})
	e.deliver(f, readMsgTB(f, "multipart.eml"), "alice")
	f.Fuzz(func(t *testing.T, input []byte) {
		var b bytes.Buffer
		b.WriteString("p0 LOGIN alice pw-alice\r\n")
		var tags []string
		for i, line := range strings.Split(string(input), "\n") {
			if i == 20 {
				break
			}
			line = strings.Map(func(r rune) rune {
				if r == '{' || r == '\r' || r == '\n' {
					return -1
				}
				return r
			}, line)
			up := strings.ToUpper(line)
			if strings.Contains(up, "LOGOUT") || strings.Contains(up, "IDLE") || strings.Contains(up, "AUTHENTICATE") || strings.Contains(up, "STARTTLS") {
				continue
			}
			tag := fmt.Sprintf("z%d", i)
			tags = append(tags, tag)
			b.WriteString(tag + " " + line + "\r\n")
		}
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		answered := map[string]bool{}
		r := bufio.NewReader(nc)
		for len(answered) < len(tags) {
			l, err := r.ReadString('\n')
			if err != nil {
				var missing []string
				for _, tag := range tags {
					if !answered[tag] {
						missing = append(missing, tag)
					}
				}
				t.Fatalf("tags %v not answered (%v) for input %q", missing, err, b.String())
			}
			if tag, _, ok := strings.Cut(l, " "); ok && strings.HasPrefix(tag, "z") {
				answered[tag] = true
			}
			if strings.Contains(l, "Internal server error") {
				t.Fatalf("server failed on %q", b.String())
			}
		}
	})
}
