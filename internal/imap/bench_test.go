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

// BenchmarkLargeFolder is the large-mailbox scale figure of
// docs/performance.md: one logged-in session on an INBOX of n messages,
// each command a sub-benchmark: SELECT INBOX, UID FETCH of the last 50
// messages (UID FLAGS ENVELOPE), UID SEARCH SUBJECT over the whole folder.
// IMAP_BENCH_SIZES lists the sizes (default 1000,10000,100000):
//
//	IMAP_BENCH_SIZES=10000,100000,1000000 go test -run X -bench '^BenchmarkLargeFolder$' -benchtime 20x ./internal/imap/
func BenchmarkLargeFolder(b *testing.B) {
	sizes := []int{1000, 10000, 100000}
	if v := strings.TrimSpace(getenv("IMAP_BENCH_SIZES")); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n < 50 {
				b.Fatalf("IMAP_BENCH_SIZES: %q is not a size of 50 or more", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			e := newEnv(b, envOptions{})
			start := time.Now()
			fillInbox(b, e, "alice", n)
			b.Logf("delivered %d messages in %v", n, time.Since(start).Round(time.Millisecond))
			nc, err := net.Dial("tcp", e.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			r := bufio.NewReaderSize(nc, 64<<10)
			// run sends one command and reads to its tagged OK; it
			// returns the untagged lines it read.
			run := func(cmd string) int {
				fmt.Fprintf(nc, "t %s\r\n", cmd)
				lines := 0
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if strings.HasPrefix(l, "t ") {
						if !strings.HasPrefix(l, "t OK") {
							b.Fatalf("%s: %s", cmd, l)
						}
						return lines
					}
					lines++
				}
			}
			r.ReadString('\n')
			run("LOGIN alice pw-alice")
			run("SELECT INBOX")
			b.Run("SELECT", func(b *testing.B) {
				for b.Loop() {
					run("SELECT INBOX")
				}
			})
			b.Run("UID-FETCH-last-50", func(b *testing.B) {
				cmd := fmt.Sprintf("UID FETCH %d:* (UID FLAGS ENVELOPE)", n-49)
				for b.Loop() {
					if got := run(cmd); got != 50 {
						b.Fatalf("%s: %d lines, want 50", cmd, got)
					}
				}
			})
			b.Run("UID-SEARCH-SUBJECT", func(b *testing.B) {
				want := (n + 999) / 1000
				for b.Loop() {
					fmt.Fprintf(nc, "t UID SEARCH SUBJECT needle\r\n")
					l, err := r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if got := len(strings.Fields(l)) - 2; !strings.HasPrefix(l, "* SEARCH") || got != want {
						b.Fatalf("SEARCH: %q: %d hits, want %d", l, got, want)
					}
					if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "t OK") {
						b.Fatalf("SEARCH: %q %v", l, err)
					}
				}
			})
		})
	}
}

func getenvInt(name string) int {
	var n int
	fmt.Sscan(strings.TrimSpace(getenv(name)), &n)
	return n
}

func getenv(name string) string { return os.Getenv(name) }
