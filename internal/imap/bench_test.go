package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// fillInbox delivers n small messages to a user's INBOX, several at a time
// so that the store groups commits. Every 1000th has "needle" in its
// subject.
func fillInbox(b testing.TB, e *env, user string, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				subj := fmt.Sprintf("message %d", i)
				if i%1000 == 0 {
					subj += " needle"
				}
				raw := []byte(fmt.Sprintf("From: Sender %d <s%d@example.com>\r\nTo: %s@example.com\r\nSubject: %s\r\nDate: Mon, 4 Mar 2024 10:00:00 +0000\r\nMessage-ID: <%d@example.com>\r\n\r\nBody of message %d.\r\n", i, i, user, subj, i, i))
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

// BenchmarkLargeFolderSession is the 100,000-message session of
// docs/ARCHITECTURE.md, Performance targets:
// LOGIN, SELECT, FETCH 1:* (UID FLAGS), UID SEARCH SUBJECT, FETCH of 11
// bodies, LOGOUT. Set IMAP_BENCH_MESSAGES to change the size.
func BenchmarkLargeFolderSession(b *testing.B) {
	n := 100000
	if v := getenvInt("IMAP_BENCH_MESSAGES"); v > 0 {
		n = v
	}
	e := newEnv(b, envOptions{})
	start := time.Now()
	fillInbox(b, e, "alice", n)
	b.Logf("delivered %d messages in %v", n, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	for b.Loop() {
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReaderSize(nc, 64<<10)
		until := func(tag string) int {
			lines := 0
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				lines++
				if strings.HasPrefix(l, tag+" ") {
					if !strings.HasPrefix(l, tag+" OK") {
						b.Fatalf("%s", l)
					}
					return lines
				}
			}
		}
		r.ReadString('\n')
		var steps []string
		t0 := time.Now()
		step := func(tag, cmd string) int {
			fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
			lines := until(tag)
			steps = append(steps, fmt.Sprintf("%s %v", strings.Fields(cmd)[0], time.Since(t0).Round(time.Millisecond)))
			t0 = time.Now()
			return lines
		}
		step("a", "LOGIN alice pw-alice")
		step("b", "SELECT INBOX")
		if got := step("c", "FETCH 1:* (UID FLAGS)"); got != n+1 {
			b.Fatalf("FETCH returned %d lines; want %d", got, n+1)
		}
		step("d", "UID SEARCH SUBJECT needle")
		step("e", "UID FETCH 1:11 BODY.PEEK[]")
		step("f", "LOGOUT")
		nc.Close()
		if testing.Verbose() {
			b.Logf("%s", strings.Join(steps, ", "))
		}
	}
}

func getenvInt(name string) int {
	var n int
	fmt.Sscan(strings.TrimSpace(getenv(name)), &n)
	return n
}

func getenv(name string) string { return os.Getenv(name) }
