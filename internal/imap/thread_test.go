package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The THREAD command's forms and errors are transcripts
// (testdata/transcripts/thread*.txt); the algorithms are unit-tested in
// thread_internal_test.go. These tests drive the server with a real client
// and over a larger mailbox.

// threadMessages are the messages of testdata/transcripts/thread.txt, in
// delivery order.
var threadMessages = []string{"thread-a1.eml", "thread-b1.eml", "thread-a2.eml", "thread-c1.eml",
	"thread-a3.eml", "thread-c2.eml", "thread-b2.eml", "thread-dup.eml", "thread-e1.eml", "thread-e2.eml"}

// TestThreadPythonImaplib threads with Python's imaplib (IMAP4.thread and
// IMAP4.uid("THREAD", ...)), including the errors it must tell apart.
func TestThreadPythonImaplib(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	for _, m := range threadMessages {
		e.deliver(t, readMsg(t, m), "alice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_thread.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib THREAD session failed: %v", err)
	}
}

// TestThreadMailbox threads a mailbox of 40 interleaved conversations of 20
// messages each over TCP: every conversation is a reply chain naming its
// last ancestors in References, and answers come in a different order
// than their sent dates. Each algorithm must return exactly the
// conversations, by sequence number and by UID.
func TestThreadMailbox(t *testing.T) {
	const convs, size = 40, 20
	e := newEnv(t, envOptions{})
	base := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	// Delivery j*convs+k+1 is message j of conversation k. Conversation k
	// starts at minute k (so the threads are in order k) and its message j
	// is sent at hour j.
	for j := 0; j < size; j++ {
		for k := 0; k < convs; k++ {
			var refs []string
			for i := max(0, j-5); i < j; i++ {
				refs = append(refs, fmt.Sprintf("<c%d.m%d@example.com>", k, i))
			}
			subject := fmt.Sprintf("conversation %d", k)
			if j > 0 {
				subject = "Re: " + subject
			}
			date := base.Add(time.Duration(j)*time.Hour + time.Duration(k)*time.Minute)
			raw := fmt.Sprintf("Date: %s\r\nFrom: p%d@example.com\r\nSubject: %s\r\nMessage-ID: <c%d.m%d@example.com>\r\n",
				date.Format(time.RFC1123Z), j, subject, k, j)
			if len(refs) > 0 {
				raw += "References: " + strings.Join(refs, "\r\n ") + "\r\n"
			}
			e.deliver(t, []byte(raw+"\r\nbody\r\n"), "alice")
		}
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	// Expunge conversation 0's first message so that UIDs and sequence
	// numbers differ: conversation 0 keeps its other messages as a chain.
	c.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
	c.cmd("x", "EXPUNGE")
	uidOf := func(seq int) int { return seq + 1 }
	seqOf := func(j, k int) int { return j*convs + k + 1 - 1 } // minus the expunged one
	want := func(alg string, uid bool) string {
		var b strings.Builder
		// Conversation 0 now starts an hour later than the others: it
		// comes last, except in REFS, which orders by the latest message.
		order := make([]int, 0, convs)
		if alg == "REFS" {
			order = append(order, 0)
		}
		for k := 1; k < convs; k++ {
			order = append(order, k)
		}
		if alg != "REFS" {
			order = append(order, 0)
		}
		for _, k := range order {
			var nums []string
			for j := 0; j < size; j++ {
				if j == 0 && k == 0 {
					continue
				}
				n := seqOf(j, k)
				if uid {
					n = uidOf(n)
				}
				nums = append(nums, strconv.Itoa(n))
			}
			if alg == "ORDEREDSUBJECT" {
				// The first message is the root; the others its children.
				b.WriteString("(" + nums[0] + " (" + strings.Join(nums[1:], ")(") + "))")
				continue
			}
			b.WriteString("(" + strings.Join(nums, " ") + ")")
		}
		return "* THREAD " + b.String()
	}
	for _, alg := range []string{"REFERENCES", "REFS", "ORDEREDSUBJECT"} {
		for _, uid := range []bool{false, true} {
			cmd := "THREAD " + alg + " UTF-8 ALL"
			if uid {
				cmd = "UID " + cmd
			}
			start := time.Now()
			got := c.cmd("t", cmd)
			t.Logf("%s: %v", cmd, time.Since(start).Round(time.Millisecond))
			if len(got) != 2 || !strings.HasPrefix(got[1], "t OK") {
				t.Fatalf("%s: got %q", cmd, got)
			}
			if w := want(alg, uid); got[0] != w {
				t.Errorf("%s:\ngot  %.300s\nwant %.300s", cmd, got[0], w)
			}
		}
	}
}

// BenchmarkThreadCommand is THREAD over TCP on a 100,000-message folder
// of 10-message conversations (IMAP_BENCH_MESSAGES changes the size): the
// store reads and the threading of each algorithm, and UID THREAD.
func BenchmarkThreadCommand(b *testing.B) {
	n := 100000
	if v := getenvInt("IMAP_BENCH_MESSAGES"); v > 0 {
		n = v
	}
	e := newEnv(b, envOptions{})
	start := time.Now()
	fillConversations(b, e, "alice", n)
	b.Logf("delivered %d messages in %v", n, time.Since(start).Round(time.Millisecond))
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 64<<10)
	// send sends a command and returns its untagged lines and its status
	// line; a large folder takes longer than dialRaw waits.
	send := func(tag, cmd string) []string {
		fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
		var out []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, strings.TrimRight(l, "\r\n"))
			if strings.HasPrefix(l, tag+" ") {
				return out
			}
		}
	}
	r.ReadString('\n')
	send("l", "LOGIN alice pw-alice")
	send("s", "SELECT INBOX")
	for _, cmd := range []string{"THREAD ORDEREDSUBJECT UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL",
		"THREAD REFS UTF-8 ALL", "UID THREAD REFERENCES UTF-8 ALL"} {
		name := strings.Fields(strings.TrimPrefix(cmd, "UID "))[1]
		if strings.HasPrefix(cmd, "UID ") {
			name = "UID-" + name
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				got := send("t", cmd)
				if len(got) != 2 || !strings.HasPrefix(got[1], "t OK") || strings.Count(got[0], "(") < n/10 {
					b.Fatalf("%s: got %.200q", cmd, got)
				}
			}
		})
	}
}

// fillConversations delivers n messages in conversations of 10, each a
// reply to the one before, several at a time.
func fillConversations(b testing.TB, e *env, user string, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				conv, j := i/10, i%10
				var hdr strings.Builder
				fmt.Fprintf(&hdr, "From: s%d@example.com\r\nTo: %s@example.com\r\nDate: %s\r\nMessage-ID: <c%d.%d@example.com>\r\n",
					i, user, testDate.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), conv, j)
				if j == 0 {
					fmt.Fprintf(&hdr, "Subject: conversation %d\r\n", conv)
				} else {
					fmt.Fprintf(&hdr, "Subject: Re: conversation %d\r\nIn-Reply-To: <c%d.%d@example.com>\r\nReferences:", conv, conv, j-1)
					for k := 0; k < j; k++ {
						fmt.Fprintf(&hdr, " <c%d.%d@example.com>", conv, k)
					}
					hdr.WriteString("\r\n")
				}
				raw := []byte(hdr.String() + "\r\nBody.\r\n")
				m := message.Parse(raw)
				_, err := e.st.Deliver(ctx, []int64{e.boxes[user]}, store.NewMessage{
					InternalDate: testDate, Raw: raw, Structure: m.Marshal(),
					Summary: store.Summary{Subject: m.Subject(), From: m.From(), To: m.To(), SentDate: m.Date()},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}

// TestThreadWhileExpunging threads while other sessions append replies and
// expunge, with a store that lets expunged bodies go at once: every THREAD
// and UID THREAD must succeed with a well-formed answer that names each
// message at most once (a message whose content went meanwhile is left
// out, never an error).
func TestThreadWhileExpunging(t *testing.T) {
	e := newEnv(t, envOptions{bodyGrace: time.Millisecond})
	msg := func(k int) string {
		refs := ""
		if k > 0 {
			refs = fmt.Sprintf("References: <m%d@example.com> <m%d@example.com>\r\n", k/2, k-1)
		}
		return fmt.Sprintf("Subject: Re: topic %d\r\nMessage-ID: <m%d@example.com>\r\n%s\r\nbody %d\r\n", k%5, k, refs, k)
	}
	for k := 0; k < 30; k++ {
		e.deliver(t, []byte(msg(k)), "alice")
	}
	stop := make(chan struct{})
	var next atomic.Int64
	next.Store(30)
	var wg sync.WaitGroup
	writer := func() {
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
			m := msg(int(next.Add(1)))
			c.send(fmt.Sprintf("a APPEND INBOX {%d+}", len(m)))
			c.nc.Write([]byte(m + "\r\n"))
			for l := c.line(); !strings.HasPrefix(l, "a "); l = c.line() {
			}
			c.cmd("d", "STORE 1:2 +FLAGS.SILENT (\\Deleted)")
			c.cmd("e", "EXPUNGE")
		}
	}
	nums := regexp.MustCompile(`\d+`)
	var checked atomic.Int64
	reader := func() {
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
			cmd := []string{"THREAD REFERENCES UTF-8 ALL", "UID THREAD REFS UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL"}[i%3]
			lines := c.cmd("t", cmd)
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "t OK") {
				t.Errorf("%s: %s", cmd, last)
				return
			}
			for _, l := range lines {
				th, ok := strings.CutPrefix(l, "* THREAD")
				if !ok {
					continue
				}
				if strings.Count(th, "(") != strings.Count(th, ")") {
					t.Errorf("%s: unbalanced %q", cmd, l)
				}
				seen := map[string]bool{}
				for _, n := range nums.FindAllString(th, -1) {
					if seen[n] {
						t.Errorf("%s: %s twice in %q", cmd, n, l)
					}
					seen[n] = true
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
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	if checked.Load() == 0 {
		t.Fatal("no THREAD answer checked")
	}
	t.Logf("%d THREAD answers checked", checked.Load())
}

// TestThreadGoneContent: a message whose content is gone when THREAD reads
// its header (expunged by another session, its body let go) is left out of
// the threads, and the command says so with OK [EXPUNGEISSUED] (RFC 5530);
// the session goes on (here the content comes back, and the next THREAD is
// complete).
func TestThreadGoneContent(t *testing.T) {
	var gone sync.Map
	e := newEnv(t, envOptions{wrap: func(b imap.Backend) imap.Backend { return goneBackend{Backend: b, gone: &gone} }})
	for _, m := range []string{"thread-a1.eml", "thread-a2.eml", "thread-a3.eml"} {
		e.deliver(t, readMsg(t, m), "alice")
	}
	c := dialRaw(t, e.addr)
	c.login("alice")
	c.cmd("s", "SELECT INBOX")
	ids := e.bodyIDs(t)
	gone.Store(ids[0], true) // a1, the parent of the others
	for _, tc := range []struct{ cmd, want string }{
		{"THREAD REFERENCES UTF-8 ALL", "* THREAD ((3)(2))"},
		{"UID THREAD REFS UTF-8 ALL", "* THREAD ((3)(2))"},
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (1 (3)(2))"}, // reads no header
	} {
		got := c.cmd("t", tc.cmd)
		want := []string{tc.want, "t OK [EXPUNGEISSUED] Some messages were expunged"}
		if strings.Contains(tc.cmd, "ORDEREDSUBJECT") {
			want[1] = "t OK THREAD completed"
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q; want %q", tc.cmd, got, want)
		}
	}
	gone.Delete(ids[0])
	if got := c.cmd("t", "THREAD REFERENCES UTF-8 ALL"); !slices.Equal(got, []string{"* THREAD (1 (3)(2))", "t OK THREAD completed"}) {
		t.Errorf("THREAD afterwards: got %q", got)
	}
}
