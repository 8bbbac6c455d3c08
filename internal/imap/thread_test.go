package imap_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestThreadMailbox threads a mailbox of 60 interleaved conversations of 25
// messages each over TCP: every conversation is a reply chain naming its
// last ancestors in References, and answers come in a different order
// than their sent dates. Each algorithm must return exactly the
// conversations, by sequence number and by UID.
func TestThreadMailbox(t *testing.T) {
	const convs, size = 60, 25
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
