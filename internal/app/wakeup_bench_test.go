package app_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

func envSet(name string) bool { return os.Getenv(name) != "" }

// BenchmarkIdleWakeup is the IDLE wake-up figure of docs/ARCHITECTURE.md,
// Performance targets: the time from an LMTP delivery's 250 to the
// "* n EXISTS" an IMAP session sitting in IDLE on that INBOX reads, through
// the whole server: go test -run X -bench IdleWakeup ./internal/app/
// (GATEHOUSE_BENCH_PG=1 runs it on PostgreSQL). A wake-up that reaches the
// client before the 250 counts as 0.
func BenchmarkIdleWakeup(b *testing.B) {
	e := testenv.Start(b, testenv.Options{Demo: true, Postgres: envSet("GATEHOUSE_BENCH_PG")})
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
