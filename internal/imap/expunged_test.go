package imap_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// goneBackend makes the content of chosen messages unreadable, as when
// another session expunged them and the store let their bodies go after
// this session read their metadata; with readsBefore > 0 that many reads
// of a chosen body succeed first (a body that goes in the middle of a
// stream).
type goneBackend struct {
	imap.Backend
	gone        *sync.Map // body ID → true
	readsBefore int64
	reads       *atomic.Int64
}

func (b goneBackend) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	u, err := b.Backend.Login(ctx, req)
	if err != nil {
		return nil, err
	}
	return goneUser{u, b}, nil
}

type goneUser struct {
	imap.User
	b goneBackend
}

func (u goneUser) Open(ctx context.Context, name string, changed func()) (imap.Folder, error) {
	f, err := u.User.Open(ctx, name, changed)
	if err != nil {
		return nil, err
	}
	return goneFolder{f, u.b}, nil
}

type goneFolder struct {
	imap.Folder
	b goneBackend
}

func (f goneFolder) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	if _, ok := f.b.gone.Load(bodyID); ok && (f.b.reads == nil || f.b.reads.Add(1) > f.b.readsBefore) {
		return 0, fmt.Errorf("body %d: %w", bodyID, imap.ErrExpunged)
	}
	return f.Folder.ReadBody(ctx, bodyID, off, p)
}

// bodyIDs returns the body IDs of alice's INBOX messages in UID order.
func (e *env) bodyIDs(t *testing.T) []int64 {
	t.Helper()
	ctx := context.Background()
	f, err := e.st.FolderByName(ctx, e.boxes["alice"], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	err = e.st.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, 0, func(m store.MessageMeta) error {
		ids = append(ids, m.BodyID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestFetchNeverPadsAGoneBody: a message whose content is gone by the time
// its FETCH response would be written is left out (OK [EXPUNGEISSUED]),
// whatever the path: small (read with the metadata), medium (over the
// prefix), several sections, BINARY, a long range. Nothing of it is sent,
// and certainly no filler.
func TestFetchNeverPadsAGoneBody(t *testing.T) {
	var gone sync.Map
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return goneBackend{Backend: b, gone: &gone} }})
	sizes := []int{200, 100 << 10, 200, 300 << 10, 200}
	for i, n := range sizes {
		e.deliver(t, []byte(fmt.Sprintf("Subject: m%d\r\nTo: a@example.com\r\n\r\n%s\r\n", i+1, strings.Repeat("x", n))), "alice")
	}
	ids := e.bodyIDs(t)
	gone.Store(ids[1], true) // medium
	gone.Store(ids[3], true) // larger
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	for _, items := range []string{
		"(UID BODY.PEEK[])",
		"(UID BODY.PEEK[HEADER.FIELDS (Subject To)] ENVELOPE)",
		"(UID RFC822.SIZE BODY.PEEK[TEXT] BODY.PEEK[HEADER])",
		"(UID BINARY.PEEK[1] BINARY.SIZE[1])",
	} {
		for _, set := range []string{"1:5", "1:*", "2", "4"} {
			t.Run(set+" "+items, func(t *testing.T) {
				lines := fetchLiterals(t, c, "FETCH "+set+" "+items)
				tagged := lines[len(lines)-1]
				// A header section may still be served for a gone message
				// when it came with the metadata (one read of the store),
				// and then it must be the message's own.
				headerOnly := strings.Contains(items, "HEADER.FIELDS")
				for _, l := range lines[:len(lines)-1] {
					gone := strings.Contains(l, "UID 2 ") || strings.Contains(l, "UID 4 ")
					if gone && !headerOnly {
						t.Errorf("response for a message whose content is gone: %.80q", l)
					}
					if headerOnly && !regexp.MustCompile(`\{\d+\}Subject: m(\d)\r\nTo: a@example\.com\r\n\r\n ENVELOPE \((?:NIL|"[^"]*") "m(\d)"`).MatchString(l) {
						t.Errorf("header section not the message's own: %.120q", l)
					}
					if strings.Contains(l, "    ") {
						t.Errorf("filler in a response: %.80q", l)
					}
				}
				if !headerOnly && tagged != "f OK [EXPUNGEISSUED] Some messages were expunged" {
					t.Errorf("tagged: got %q; want OK [EXPUNGEISSUED]", tagged)
				}
			})
		}
	}
	// The session goes on; the messages still there are served whole.
	lines := fetchLiterals(t, c, "FETCH 5 (BODY.PEEK[TEXT])")
	if len(lines) != 2 || !strings.Contains(lines[0], strings.Repeat("x", 200)) || lines[1] != "f OK FETCH completed" {
		t.Errorf("FETCH of a present message afterwards: %.200q", lines)
	}
}

// TestFetchGoneMidStream: a message over the in-memory limit whose content
// goes after its literal began cannot be completed; the connection is
// closed rather than the literal filled.
func TestFetchGoneMidStream(t *testing.T) {
	var gone sync.Map
	var reads atomic.Int64
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend {
		return goneBackend{Backend: b, gone: &gone, readsBefore: 2, reads: &reads}
	}})
	big := strings.Repeat("0123456789abcdef", (3<<20)/16)
	e.deliver(t, []byte("Subject: big\r\n\r\n"+big+"\r\n"), "alice")
	gone.Store(e.bodyIDs(t)[0], true)
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	c.send("f FETCH 1 (BODY.PEEK[])")
	head := c.line()
	m := regexp.MustCompile(`\{(\d+)\}$`).FindStringSubmatch(head)
	if m == nil {
		t.Fatalf("FETCH: got %q; want a literal", head)
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	want, _ := strconv.Atoi(m[1])
	if len(got) >= want {
		t.Fatalf("got %d octets of a %d-octet literal; want the connection closed before its end", len(got), want)
	}
	if !bytes.Equal(got, []byte("Subject: big\r\n\r\n" + big)[:len(got)]) {
		t.Errorf("the octets sent are not the message's")
	}
}

// fetchLiterals sends a FETCH tagged f and returns the responses, each
// with its literals inlined.
func fetchLiterals(t *testing.T, c *rawClient, cmd string) []string {
	t.Helper()
	c.send("f " + cmd)
	var out []string
	lit := regexp.MustCompile(`~?\{(\d+)\}$`)
	for {
		l := c.line()
		for {
			m := lit.FindStringSubmatch(l)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				t.Fatalf("literal: %v", err)
			}
			l += string(buf) + c.line()
		}
		out = append(out, l)
		if strings.HasPrefix(l, "f ") {
			return out
		}
	}
}

// TestFetchWhileExpunging is the reproduction of the all-space bodies and
// empty header sections: sessions append and expunge in one mailbox while
// others fetch header fields, envelopes and whole bodies; the store's grace
// is short, so bodies are swept while fetchers still have them in view.
// Every section received must be the message's own.
func TestFetchWhileExpunging(t *testing.T) {
	e := newEnv(t, envOptions{bodyGrace: time.Millisecond})
	body := func(k int) string {
		// Sizes around the prefix and the in-memory limit.
		n := []int{300, 70 << 10, 5 << 10, 1<<20 + 300}[k%4]
		return strings.Repeat(fmt.Sprintf("%07d ", k), n/8)
	}
	msg := func(k int) string {
		return fmt.Sprintf("Subject: m%d\r\nTo: t%d@example.com\r\n\r\n%s\r\n", k, k, body(k))
	}
	for k := 0; k < 20; k++ {
		e.deliver(t, []byte(msg(k)), "alice")
	}
	stop := make(chan struct{})
	var next atomic.Int64
	next.Store(20)
	var wg sync.WaitGroup
	var writes atomic.Int64
	writer := func() {
		defer wg.Done()
		c := dialRaw(t, e.addr)
		c.login("alice")
		c.cmd("s", "SELECT INBOX")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := int(next.Add(1))
			m := msg(k)
			c.send(fmt.Sprintf("a APPEND INBOX {%d+}", len(m)))
			c.nc.Write([]byte(m + "\r\n"))
			for l := c.line(); !strings.HasPrefix(l, "a "); l = c.line() {
			}
			c.cmd("d", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
			c.cmd("e", "EXPUNGE")
			writes.Add(1)
		}
	}
	subject := regexp.MustCompile(`^\* \d+ FETCH \(UID \d+ BODY\[HEADER\.FIELDS \((?i:subject to)\)\] \{\d+\}Subject: m(\d+)\r\nTo: t(\d+)@example\.com\r\n\r\n BODY\[TEXT\] \{\d+\}`)
	var checked atomic.Int64
	reader := func() {
		defer wg.Done()
		c := dialRaw(t, e.addr)
		c.login("alice")
		c.cmd("s", "SELECT INBOX")
		for {
			select {
			case <-stop:
				return
			default:
			}
			lines := fetchLiterals(t, c, "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Subject To)] BODY.PEEK[TEXT])")
			for _, l := range lines[:len(lines)-1] {
				if !strings.Contains(l, " FETCH (UID") || !strings.Contains(l, "BODY[") {
					continue // EXISTS, EXPUNGE, flag changes made by others
				}
				m := subject.FindStringSubmatch(l)
				if m == nil {
					t.Errorf("response with a wrong header section: %.120q", l)
					continue
				}
				k, _ := strconv.Atoi(m[1])
				if m[2] != m[1] || !strings.HasSuffix(l, body(k)+"\r\n)") {
					t.Errorf("response for m%d with a body that is not its own: %.120q ... %.60q", k, l, l[max(len(l)-60, 0):])
				}
				checked.Add(1)
			}
			c.cmd("n", "NOOP")
		}
	}
	for i := 0; i < 2; i++ {
		wg.Add(2)
		go writer()
		go reader()
	}
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	if checked.Load() == 0 || writes.Load() == 0 {
		t.Fatalf("nothing happened: %d responses checked, %d write rounds", checked.Load(), writes.Load())
	}
	t.Logf("%d FETCH responses checked against %d append+expunge rounds", checked.Load(), writes.Load())
}
