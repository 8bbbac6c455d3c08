package imap_test

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
)

// zclient speaks IMAP over a real socket, compressed with raw deflate both
// ways after COMPRESS DEFLATE (RFC 4978), as a client with zlib would
// (windowBits -15, Z_SYNC_FLUSH after each command).
type zclient struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
	w  io.Writer
	fw *flate.Writer // nil until COMPRESS
}

func newZClient(t *testing.T, nc net.Conn) *zclient {
	t.Helper()
	t.Cleanup(func() { nc.Close() })
	c := &zclient{t: t, nc: nc, r: bufio.NewReader(nc), w: nc}
	c.expect("* OK")
	return c
}

// send writes data and flushes it to the server.
func (c *zclient) send(data string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.w, data); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	if c.fw != nil {
		if err := c.fw.Flush(); err != nil {
			c.t.Fatalf("flush: %v", err)
		}
	}
}

// line reads one response line, without its CRLF.
func (c *zclient) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read (got %q): %v", l, err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads lines up to one starting with prefix and returns them.
func (c *zclient) expect(prefix string) []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, prefix) {
			return lines
		}
		if len(lines) > 1000 {
			c.t.Fatalf("no line starting %q", prefix)
		}
	}
}

// cmd sends a command and returns the responses up to its tagged one.
func (c *zclient) cmd(tag, command string) []string {
	c.t.Helper()
	c.send(tag + " " + command + "\r\n")
	lines := c.expect(tag + " ")
	return lines
}

func (c *zclient) ok(tag, command string) []string {
	c.t.Helper()
	lines := c.cmd(tag, command)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, tag+" OK") {
		c.t.Fatalf("%s: got %q; want OK", command, lines)
	}
	return lines
}

// compress turns compression on: from the next byte, both directions.
func (c *zclient) compress(tag string) {
	c.t.Helper()
	c.ok(tag, "COMPRESS DEFLATE")
	// What the server sent after the OK is compressed, even if it is
	// already in c.r's buffer.
	c.r = bufio.NewReader(flate.NewReader(c.r))
	fw, err := flate.NewWriter(c.nc, flate.DefaultCompression)
	if err != nil {
		c.t.Fatal(err)
	}
	c.fw, c.w = fw, fw
}

// bigMessage is a message of about size bytes whose body is text that
// compresses somewhat (random words).
func bigMessage(size int) string {
	rnd := rand.New(rand.NewPCG(1, 2))
	words := []string{"mail", "gate", "house", "deflate", "IMAP", "compress", "window", "sync", "flush", "literal"}
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\r\n")
	for b.Len() < size {
		for i := 0; i < 10; i++ {
			b.WriteString(words[rnd.IntN(len(words))])
			b.WriteString(strconv.Itoa(rnd.IntN(1000)))
			b.WriteByte(' ')
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// fetchLiteral reads a FETCH response carrying one literal and returns the
// literal.
func (c *zclient) fetchLiteral(tag, command string) string {
	c.t.Helper()
	c.send(tag + " " + command + "\r\n")
	l := c.line()
	open := strings.LastIndexByte(l, '{')
	if !strings.HasPrefix(l, "* ") || open < 0 || !strings.HasSuffix(l, "}") {
		c.t.Fatalf("FETCH: got %q; want a literal", l)
	}
	n, err := strconv.Atoi(l[open+1 : len(l)-1])
	if err != nil {
		c.t.Fatalf("FETCH: %q: %v", l, err)
	}
	body := make([]byte, n)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatalf("FETCH literal: %v", err)
	}
	if rest := c.line(); rest != ")" {
		c.t.Fatalf("after the literal: %q; want )", rest)
	}
	if got := c.expect(tag + " "); !strings.HasPrefix(got[len(got)-1], tag+" OK") {
		c.t.Fatalf("FETCH: %q", got)
	}
	return string(body)
}

// TestCompress runs a session through COMPRESS DEFLATE over plaintext,
// STARTTLS and implicit TLS: refusal of a second COMPRESS, SELECT, APPEND
// with a synchronizing and a non-synchronizing literal, a 300 KB FETCH,
// pipelined commands, pauses long enough for the connection to hand its
// goroutine over, IDLE with an update pushed while idling, and a kick's
// BYE, all through the compressed streams.
func TestCompress(t *testing.T) {
	big := bigMessage(300 << 10)
	for _, mode := range []string{"plain", "starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.deliver(t, readMsg(t, "simple.eml"), "alice")
			e.deliver(t, []byte(big), "alice")
			addr := e.addr
			if mode == "tls" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go e.srv.Serve(tls.NewListener(l, testTLSConfig(t)))
				addr = l.Addr().String()
			}
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if mode == "tls" {
				nc = tls.Client(nc, insecureTLS())
			}
			c := newZClient(t, nc)
			if mode == "starttls" {
				c.ok("s", "STARTTLS")
				c.nc = tls.Client(nc, insecureTLS())
				c.r, c.w = bufio.NewReader(c.nc), c.nc
			}
			login := c.ok("a1", "LOGIN alice pw-alice")
			if !strings.Contains(login[len(login)-1], " COMPRESS=DEFLATE ") {
				t.Errorf("LOGIN: %q; want COMPRESS=DEFLATE among the capabilities", login)
			}
			if mode == "tls" {
				// COMPRESS is valid in the selected state too.
				c.ok("a2", "SELECT INBOX")
			}
			c.compress("a3")

			if got := c.cmd("a4", "COMPRESS DEFLATE"); got[0] != "a4 NO [COMPRESSIONACTIVE] DEFLATE compression is already active" {
				t.Errorf("second COMPRESS: %q", got)
			}
			if got := c.cmd("a5", "COMPRESS LZ4"); !strings.HasPrefix(got[0], "a5 BAD ") {
				t.Errorf("COMPRESS LZ4: %q; want BAD", got)
			}
			got := c.ok("a6", "SELECT INBOX")
			if !slicesContains(got, "* 2 EXISTS") {
				t.Errorf("SELECT: %q", got)
			}

			// APPEND, synchronizing literal: the continuation request
			// must reach the client, compressed and flushed.
			msg := bigMessage(100 << 10)
			c.send(fmt.Sprintf("a7 APPEND INBOX {%d}\r\n", len(msg)))
			if l := c.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("APPEND: got %q; want a continuation request", l)
			}
			c.send(msg + "\r\n")
			if got := c.expect("a7 "); !strings.HasPrefix(got[len(got)-1], "a7 OK [APPENDUID ") {
				t.Fatalf("APPEND: %q", got)
			}
			// LITERAL+: the literal follows in the same flush.
			small := "Subject: plus\r\n\r\nliteral plus\r\n"
			if got := c.ok("a8", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(small), small)); !strings.HasPrefix(got[len(got)-1], "a8 OK [APPENDUID ") {
				t.Fatalf("APPEND LITERAL+: %q", got)
			}

			// The 300 KB message, and the one just appended, come back
			// intact.
			if body := c.fetchLiteral("a9", "UID FETCH 2 BODY.PEEK[]"); body != big {
				t.Errorf("FETCH of %d bytes: got %d bytes, differing", len(big), len(body))
			}
			if body := c.fetchLiteral("a10", "UID FETCH 3 BODY.PEEK[]"); body != msg {
				t.Errorf("FETCH of the appended message: got %d bytes; want %d", len(body), len(msg))
			}

			// Pipelined commands in one flush, then a pause long enough
			// for the connection to give up its goroutine.
			c.send("b1 NOOP\r\nb2 NOOP\r\nb3 CHECK\r\n")
			for _, tag := range []string{"b1", "b2", "b3"} {
				if got := c.expect(tag + " "); !strings.HasPrefix(got[len(got)-1], tag+" OK") {
					t.Fatalf("pipelined %s: %q", tag, got)
				}
			}
			time.Sleep(100 * time.Millisecond)
			c.ok("b4", "NOOP")
			time.Sleep(100 * time.Millisecond)

			// IDLE: a delivery is pushed while idling, then DONE.
			c.send("i1 IDLE\r\n")
			if l := c.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: got %q; want a continuation request", l)
			}
			time.Sleep(50 * time.Millisecond)
			e.deliver(t, readMsg(t, "simple.eml"), "alice")
			if got := c.expect("* 5 EXISTS"); len(got) > 2 {
				t.Errorf("during IDLE: %q", got)
			}
			time.Sleep(50 * time.Millisecond)
			c.send("DONE\r\n")
			if got := c.expect("i1 "); got[len(got)-1] != "i1 OK IDLE terminated" {
				t.Errorf("DONE: %q", got)
			}

			// A kick while waiting: the BYE is compressed too.
			time.Sleep(50 * time.Millisecond)
			e.login.kick(e.boxes["alice"], "Kicked for the test")
			if l := c.line(); l != "* BYE Kicked for the test" {
				t.Errorf("after kick: %q", l)
			}
		})
	}
}

func slicesContains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestCompressAfterOtherInput: COMPRESS after a command that needed the
// reader's big buffer, then a series of commands.
func TestCompressAfterOtherInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newZClient(t, nc)
	c.ok("a1", "LOGIN alice pw-alice")
	// A long command before COMPRESS leaves the server's reader on its
	// big buffer; COMPRESS must start clean after it.
	c.ok("a2", "ID ("+strings.Repeat(`"k" "v" `, 20)+`"name" "z")`)
	c.compress("a3")
	for i := range 20 {
		c.ok(fmt.Sprintf("n%d", i), "NOOP")
	}
	c.ok("z", "LOGOUT")
}

// countingConn counts the octets the client reads off the wire.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCompressorsCapped: when every compressor slot is taken (sessions
// whose clients stopped reading hold theirs), a COMPRESS session goes on in
// stored deflate blocks, correct and uncompressed, instead of allocating
// another 1.2 MB compressor; once a slot is free again it compresses.
func TestCompressorsCapped(t *testing.T) {
	big := bigMessage(300 << 10)
	e := newEnv(t, envOptions{opts: imap.Options{MaxCompressors: 1}})
	e.deliver(t, []byte(big), "alice")
	release := imap.HoldCompressors(e.srv)
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: nc}
	c := newZClient(t, cc)
	c.ok("a1", "LOGIN alice pw-alice")
	c.ok("a2", "SELECT INBOX")
	c.compress("a3")
	before := cc.n
	if got := c.fetchLiteral("a4", "FETCH 1 BODY.PEEK[]"); got != big {
		t.Fatalf("FETCH through stored blocks: %d octets, want the %d of the message", len(got), len(big))
	}
	if stored := cc.n - before; stored < int64(len(big)) {
		t.Errorf("%d octets on the wire for a %d-octet message: compressed although no compressor was free", stored, len(big))
	}
	release()
	before = cc.n
	if got := c.fetchLiteral("a5", "FETCH 1 BODY.PEEK[]"); got != big {
		t.Fatalf("FETCH after the release: %d octets, want %d", len(got), len(big))
	}
	if compressed := cc.n - before; compressed > int64(len(big))*3/4 {
		t.Errorf("%d octets on the wire for a %d-octet message with a compressor free", compressed, len(big))
	}
	c.ok("a6", "LOGOUT")
}
