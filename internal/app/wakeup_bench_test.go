package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

func envSet(name string) bool { return os.Getenv(name) != "" }

// BenchmarkIdleWakeup is the IDLE wake-up figure of docs/ARCHITECTURE.md,
// Performance targets: the time from an LMTP delivery's 250 to the
// "* n EXISTS" an IMAP session sitting in IDLE on that INBOX reads, through
// the whole server: go test -run X -bench IdleWakeup ./internal/app/
// (GATEHOUSE_BENCH_PG=1 runs it on PostgreSQL). A wake-up that reaches the
// client before the 250 counts as 0. GATEHOUSE_BENCH_INBOX_SIZES (for
// example 10000,100000,1000000) runs it once per size on an INBOX filled
// with that many messages first (docs/performance.md, scale figures).
func BenchmarkIdleWakeup(b *testing.B) {
	v := strings.TrimSpace(os.Getenv("GATEHOUSE_BENCH_INBOX_SIZES"))
	if v == "" {
		benchIdleWakeup(b, 0)
		return
	}
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			b.Fatalf("GATEHOUSE_BENCH_INBOX_SIZES: %q is not a size", f)
		}
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) { benchIdleWakeup(b, n) })
	}
}

// fillDemoInbox delivers n small messages to christa's INBOX through the
// store, several at a time so that the store groups commits.
func fillDemoInbox(b *testing.B, e *testenv.Env, n int) {
	ctx := context.Background()
	var box store.Mailbox
	err := e.Store.View(ctx, func(tx store.Tx) error {
		var err error
		box, err = tx.MailboxByAddress(ctx, "christa@contoso.com")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				raw := []byte(fmt.Sprintf("From: s%d@example.org\r\nSubject: filler %d\r\nMessage-ID: <%d@example.org>\r\n\r\nfiller %d\r\n", i, i, i, i))
				m := message.Parse(raw)
				if _, err := e.Store.Deliver(ctx, []int64{box.ID}, store.NewMessage{Raw: raw, Structure: m.Marshal(),
					Summary: store.Summary{Subject: m.Subject(), From: m.From(), SentDate: m.Date()}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("delivered %d messages in %v", n, time.Since(start).Round(time.Millisecond))
}

func benchIdleWakeup(b *testing.B, fill int) {
	e := testenv.Start(b, testenv.Options{Demo: true, Postgres: envSet("GATEHOUSE_BENCH_PG")})
	if fill > 0 {
		fillDemoInbox(b, e, fill)
	}
	nc, err := net.Dial("tcp", e.Addr("imap"))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	read := func() string {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("read: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	until := func(tag string) {
		for !strings.HasPrefix(read(), tag) {
		}
	}
	read()
	fmt.Fprintf(nc, "a LOGIN christa %s\r\n", testenv.DemoPassword)
	until("a ")
	fmt.Fprintf(nc, "b SELECT INBOX\r\n")
	until("b ")
	fmt.Fprintf(nc, "c IDLE\r\n")
	until("+")
	lc, err := net.Dial("tcp", e.Addr("lmtp"))
	if err != nil {
		b.Fatal(err)
	}
	cl := smtp.NewClientLMTP(lc)
	defer cl.Close()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		msg := fmt.Sprintf("Subject: wake %d\r\n\r\nhello\r\n", i)
		if err := cl.SendMail("s@example.org", []string{"christa@contoso.com"}, strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		for {
			if l := read(); strings.HasSuffix(l, " EXISTS") {
				break
			}
		}
		lat = append(lat, time.Since(acked))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "ms-p99")
	b.ReportMetric(0, "ns/op")
}
