package imapadapter_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// BenchmarkAppendSelected measures one session's APPENDs to the folder it
// has selected (IMAP4rev1, as Thunderbird saves a draft or a sent message
// into an open folder), each with the update that follows it (EXISTS,
// RECENT), on both engines: one command at a time, so the figure is the
// command's latency, store round trips included.
func BenchmarkAppendSelected(b *testing.B) {
	msg := "From: a@example.org\r\nTo: christa@contoso.com\r\nSubject: bench\r\n\r\n" +
		strings.Repeat("a line of an ordinary message body, about seventy octets long....\r\n", 60)
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		b.Run(name, func(b *testing.B) {
			e := testenv.Start(b, testenv.Options{Demo: true, Postgres: pg})
			nc, err := net.Dial("tcp", e.Addr("imap"))
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			r := bufio.NewReader(nc)
			cmd := func(tag, line string) {
				b.Helper()
				if _, err := fmt.Fprintf(nc, "%s %s\r\n", tag, line); err != nil {
					b.Fatal(err)
				}
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if strings.HasPrefix(l, tag+" ") {
						if !strings.HasPrefix(l, tag+" OK") {
							b.Fatalf("%s: %s", line, l)
						}
						return
					}
				}
			}
			r.ReadString('\n') // greeting
			cmd("a", "LOGIN christa@contoso.com "+testenv.DemoPassword)
			cmd("b", "SELECT INBOX")
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				cmd("c", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
			}
		})
	}
}
