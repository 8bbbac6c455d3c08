package delivery_test

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// BenchmarkLMTP measures durable LMTP deliveries of ~5 KB messages with 1
// and 8 concurrent clients, on both engines (bench/lmtpload compares the
// same with Dovecot).
func BenchmarkLMTP(b *testing.B) {
	body := bytes.Repeat([]byte("a line of an ordinary message body, about seventy octets long....\r\n"), 75)
	msg := append([]byte("From: a@example.org\r\nTo: christa@contoso.com\r\nSubject: bench\r\n\r\n"), body...)
	for _, pg := range []bool{false, true} {
		for _, clients := range []int{1, 8} {
			name := fmt.Sprintf("sqlite/clients=%d", clients)
			if pg {
				name = fmt.Sprintf("postgres/clients=%d", clients)
			}
			b.Run(name, func(b *testing.B) {
				e := testenv.Start(b, testenv.Options{Demo: true, Postgres: pg})
				b.SetBytes(int64(len(msg)))
				b.ResetTimer()
				var wg sync.WaitGroup
				work := make(chan struct{}, b.N)
				for i := 0; i < b.N; i++ {
					work <- struct{}{}
				}
				close(work)
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						conn, err := net.Dial("tcp", e.Addr("lmtp"))
						if err != nil {
							b.Error(err)
							return
						}
						cl := smtp.NewClientLMTP(conn)
						defer cl.Close()
						for range work {
							if err := cl.SendMail("a@example.org", []string{"christa@contoso.com"}, bytes.NewReader(msg)); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
