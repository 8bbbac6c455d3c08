package imap_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite the S: lines of transcripts from what the server sends")

// Transcripts under testdata/transcripts drive the real server over TCP and
// compare every line it sends. Directives, one per line:
//
//	# comment
//	O: nonloopback            server option (before anything else)
//	D: file user...           deliver testdata/msgs/file to the users' INBOX
//	K: user reason            kick the user's sessions
//	P: duration               pause
//	C: line / Cn: line        send a line on connection 1 / n (raw; a C: line
//	                          after one announcing a literal is its data)
//	S: line / Sn: line        expect a line from connection 1 / n
//	X: / Xn:                  expect connection n to be closed by the server
//
// An S: block right after a C: block is the response to it; elsewhere it is
// what the server sends unasked (e.g. during IDLE). Values that change from
// run to run (UIDVALIDITY) are replaced by placeholders. Run with -update
// to rewrite the expectations.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runTranscript(t, f)
		})
	}
}

type tline struct {
	kind string // "C", "S", "X", "O", "D", "K", "P", "#"
	conn int
	text string
}

func parseTranscript(t *testing.T, data string) []tline {
	var out []tline
	for i, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			out = append(out, tline{kind: "#", text: l})
			continue
		}
		colon := strings.IndexByte(l, ':')
		if colon < 1 {
			t.Fatalf("line %d: no directive: %q", i+1, l)
		}
		d := l[:colon]
		text := strings.TrimPrefix(l[colon+1:], " ")
		kind, num := d[:1], d[1:]
		n := 1
		if num != "" {
			var err error
			if n, err = strconv.Atoi(num); err != nil {
				t.Fatalf("line %d: bad directive %q", i+1, d)
			}
		}
		if !strings.Contains("CSXODKP", kind) {
			t.Fatalf("line %d: unknown directive %q", i+1, d)
		}
		out = append(out, tline{kind: kind, conn: n, text: text})
	}
	return out
}

// tconn is one client connection of a transcript.
type tconn struct {
	nc      net.Conn
	r       *bufio.Reader
	lines   chan string
	errs    chan error
	lastTag string // tag of the last command started
	literal int    // literal bytes still to be sent
	inCmd   bool   // a command is incomplete (its literal follows)
	cont    bool   // the server's last line was a continuation request
	// uv is the UIDVALIDITY the server last announced on any connection of
	// the transcript, which a C: line may name as <V> (QRESYNC).
	uv *atomic.Value
	// names stands for the transcript's object ids and save dates
	// (transcript_names_test.go).
	names *transcriptNames
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\+?\}$`)

// scan follows what the client sends, to know which tagged response ends
// the exchange: commands, literals, and lines that answer a continuation
// request (AUTHENTICATE data, IDLE's DONE).
func (c *tconn) scan(b []byte) {
	for len(b) > 0 {
		if c.literal > 0 {
			k := min(c.literal, len(b))
			b = b[k:]
			c.literal -= k
			continue
		}
		line, rest, _ := bytes.Cut(b, []byte("\r\n"))
		b = rest
		switch {
		case c.inCmd:
		case c.cont:
			// An answer to a continuation request, not a command.
			c.cont = false
			continue
		default:
			tag, _, _ := bytes.Cut(line, []byte(" "))
			c.lastTag = string(tag)
		}
		if m := literalRE.FindSubmatch(line); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			c.literal, c.inCmd = n, true
		} else {
			c.inCmd = false
		}
	}
}

func (c *tconn) readLoop() {
	for {
		l, err := c.r.ReadString('\n')
		if l != "" {
			c.lines <- strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		}
		if err != nil {
			c.errs <- err
			close(c.lines)
			return
		}
	}
}

var dynamic = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`UIDVALIDITY \d+`), "UIDVALIDITY <V>"},
	{regexp.MustCompile(`COPYUID \d+`), "COPYUID <V>"},
	{regexp.MustCompile(`APPENDUID \d+`), "APPENDUID <V>"},
	// The extension list changes with every extension added; it is checked
	// once, in TestCapabilityList.
	{regexp.MustCompile(`(CAPABILITY IMAP4rev1 IMAP4rev2) LITERAL\+ [^\]\r\n]*?( COMPRESS=DEFLATE| APPENDLIMIT=)`), "$1 <EXTENSIONS>$2"},
}

var uidValidityRE = regexp.MustCompile(`UIDVALIDITY (\d+)`)

func normalize(l string) string {
	for _, d := range dynamic {
		l = d.re.ReplaceAllString(l, d.repl)
	}
	return l
}

// read returns lines until the stop condition: the tagged response of tag,
// a continuation request, the connection's end, or (tag "") n lines, or
// silence when n < 0.
func (c *tconn) read(tag string, n int) (lines []string, closed bool) {
	timeout := 5 * time.Second
	for {
		if tag == "" && n >= 0 && len(lines) == n {
			return lines, false
		}
		wait := timeout
		if tag == "" && n < 0 {
			wait = 700 * time.Millisecond
		}
		select {
		case l, ok := <-c.lines:
			if !ok {
				return lines, true
			}
			if m := uidValidityRE.FindStringSubmatch(l); m != nil {
				c.uv.Store(m[1])
			}
			l = c.names.name(normalize(l))
			lines = append(lines, l)
			if tag != "" && (strings.HasPrefix(l, tag+" ") || l == "+" || strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "* BAD ")) {
				return lines, false
			}
		case <-time.After(wait):
			return lines, false
		}
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := parseTranscript(t, string(data))
	var eo envOptions
	// With "O: escapes", <LF> and <CR> in C: lines send a bare line feed or
	// carriage return (a transcript line cannot hold them otherwise).
	escapes := false
	quotas := map[string]store.MailboxQuota{}
	for _, l := range lines {
		if l.kind == "O" {
			switch {
			case l.text == "nonloopback":
				eo.nonLoopback = true
			case strings.HasPrefix(l.text, "maxline="):
				eo.opts.MaxLineLength, _ = strconv.Atoi(strings.TrimPrefix(l.text, "maxline="))
			case strings.HasPrefix(l.text, "appendlimit="):
				n, _ := strconv.Atoi(strings.TrimPrefix(l.text, "appendlimit="))
				eo.opts.AppendLimit = int64(n)
			case strings.HasPrefix(l.text, "appendbatch="):
				n, _ := strconv.Atoi(strings.TrimPrefix(l.text, "appendbatch="))
				eo.opts.AppendBatchLimit = int64(n)
			case strings.HasPrefix(l.text, "maxcommand="):
				n, _ := strconv.Atoi(strings.TrimPrefix(l.text, "maxcommand="))
				eo.opts.MaxCommandSize = int64(n)
			case l.text == "notls":
				eo.opts.TLSConfig = nil
			case l.text == "escapes":
				escapes = true
			case strings.HasPrefix(l.text, "quota="):
				// quota=user:octets sets the user's ProhibitSendReceiveQuota.
				user, n, _ := strings.Cut(strings.TrimPrefix(l.text, "quota="), ":")
				q := quotas[user]
				q.ProhibitSendReceive, _ = strconv.ParseInt(n, 10, 64)
				quotas[user] = q
			case strings.HasPrefix(l.text, "warnquota="):
				// warnquota=user:octets sets the user's IssueWarningQuota.
				user, n, _ := strings.Cut(strings.TrimPrefix(l.text, "warnquota="), ":")
				q := quotas[user]
				q.IssueWarning, _ = strconv.ParseInt(n, 10, 64)
				quotas[user] = q
			default:
				t.Fatalf("unknown option %q", l.text)
			}
		}
	}
	e := newEnv(t, eo)
	for user, q := range quotas {
		e.setQuota(t, user, q)
	}
	conns := map[int]*tconn{}
	var uv atomic.Value // shared by the transcript's connections
	names := newTranscriptNames()
	connect := func(n int) (*tconn, bool) {
		if c := conns[n]; c != nil {
			return c, false
		}
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		c := &tconn{nc: nc, r: bufio.NewReader(nc), lines: make(chan string, 10000), errs: make(chan error, 1), uv: &uv, names: names}
		go c.readLoop()
		conns[n] = c
		return c, true
	}
	var out []string // the transcript as it should be (for -update)
	var failures []string
	i := 0
	for i < len(lines) {
		l := lines[i]
		switch l.kind {
		case "#", "O":
			out = append(out, raw(l))
			i++
		case "D":
			f := strings.Fields(l.text)
			msg, err := os.ReadFile(filepath.Join("testdata/msgs", f[0]))
			if err != nil {
				t.Fatal(err)
			}
			e.deliver(t, msg, f[1:]...)
			out = append(out, raw(l))
			i++
		case "K":
			user, reason, _ := strings.Cut(l.text, " ")
			e.login.kick(e.boxes[user], reason)
			out = append(out, raw(l))
			i++
		case "P":
			d, err := time.ParseDuration(l.text)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(d)
			out = append(out, raw(l))
			i++
		case "C":
			c, fresh := connect(l.conn)
			if fresh {
				c.read("", 1) // greeting
			}
			var sent bytes.Buffer
			j := i
			for ; j < len(lines) && lines[j].kind == "C" && lines[j].conn == l.conn; j++ {
				out = append(out, raw(lines[j]))
				text := lines[j].text
				if v, ok := uv.Load().(string); ok {
					text = strings.ReplaceAll(text, "<V>", v)
				}
				if escapes {
					text = strings.NewReplacer("<LF>", "\n", "<CR>", "\r").Replace(text)
				}
				text = names.unname(text)
				sent.WriteString(text + "\r\n")
			}
			c.scan(sent.Bytes())
			tag := c.lastTag
			c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.nc.Write(sent.Bytes()); err != nil && !errors.Is(err, net.ErrClosed) {
				failures = append(failures, fmt.Sprintf("line %d: write: %v", i+1, err))
			}
			i = j
			// The expected response block.
			var want []string
			for ; j < len(lines) && lines[j].kind == "S" && lines[j].conn == l.conn; j++ {
				want = append(want, lines[j].text)
			}
			t0 := time.Now()
			got, _ := c.read(tag, -1)
			if d := time.Since(t0); d > 2*time.Second {
				t.Logf("line %d: waited %v for the response to %q", i+1, d.Round(time.Second), firstLine(sent.String()))
			}
			c.cont = len(got) > 0 && strings.HasPrefix(got[len(got)-1], "+")
			if len(got) > 0 && strings.HasPrefix(got[len(got)-1], tag+" ") {
				// Answered: a refused literal is never sent.
				c.inCmd, c.literal = false, 0
			}
			if *update {
				for _, g := range got {
					out = append(out, dir("S", l.conn)+g)
				}
			} else if !equal(got, want) {
				failures = append(failures, fmt.Sprintf("line %d: after %q:\ngot:\n\t%s\nwant:\n\t%s", i+1, firstLine(sent.String()),
					strings.Join(got, "\n\t"), strings.Join(want, "\n\t")))
			}
			i = j
		case "S":
			c, fresh := connect(l.conn)
			j := i
			var want []string
			for ; j < len(lines) && lines[j].kind == "S" && lines[j].conn == l.conn; j++ {
				want = append(want, lines[j].text)
			}
			n := len(want)
			if *update {
				n = -1
			}
			_ = fresh
			got, _ := c.read("", n)
			if *update {
				for _, g := range got {
					out = append(out, dir("S", l.conn)+g)
				}
			} else if !equal(got, want) {
				failures = append(failures, fmt.Sprintf("line %d: unsolicited:\ngot:\n\t%s\nwant:\n\t%s", i+1,
					strings.Join(got, "\n\t"), strings.Join(want, "\n\t")))
			}
			i = j
		case "X":
			c, _ := connect(l.conn)
			got, closed := c.read("", -1)
			out = append(out, raw(l))
			if !closed || len(got) > 0 {
				failures = append(failures, fmt.Sprintf("line %d: want connection %d closed; got closed=%v after %q", i+1, l.conn, closed, got))
			}
			i++
		}
	}
	if *update {
		if err := os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func dir(kind string, n int) string {
	if n == 1 {
		return kind + ": "
	}
	return kind + strconv.Itoa(n) + ": "
}

func raw(l tline) string {
	if l.kind == "#" {
		return l.text
	}
	return dir(l.kind, l.conn) + l.text
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
