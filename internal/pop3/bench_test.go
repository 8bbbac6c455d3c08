package pop3

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// BenchmarkRETR measures the engine alone (memory backend): one session
// downloading 1,000 messages of about 4 KB, one RETR at a time and
// pipelined.
func BenchmarkRETR(b *testing.B) {
	be := newMemBackend()
	body := "Subject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n.dot line\r\n", 50)
	msgs := make([]memMsg, 1000)
	for i := range msgs {
		msgs[i] = memMsg{fmt.Sprint(i), body}
	}
	be.users["bench"] = &memUser{password: "pw", msgs: msgs}
	_, addr := startServer(b, be, serverConfig{})
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", depth), func(b *testing.B) {
			b.SetBytes(int64(len(body)) * int64(len(msgs)))
			for b.Loop() {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				r := bufio.NewReaderSize(conn, 64<<10)
				w := bufio.NewWriter(conn)
				r.ReadString('\n')
				fmt.Fprintf(w, "USER bench\r\nPASS pw\r\n")
				w.Flush()
				r.ReadString('\n')
				r.ReadString('\n')
				sent := 0
				for next := 0; next < len(msgs); next++ {
					for sent < len(msgs) && sent-next < depth {
						fmt.Fprintf(w, "RETR %d\r\n", sent+1)
						sent++
					}
					w.Flush()
					if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
						b.Fatalf("RETR: %q", l)
					}
					for {
						l, err := r.ReadSlice('\n')
						if err != nil {
							b.Fatal(err)
						}
						if string(l) == ".\r\n" {
							break
						}
					}
				}
				fmt.Fprintf(w, "QUIT\r\n")
				w.Flush()
				io.Copy(io.Discard, r)
				conn.Close()
			}
			b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkBodyWriter measures dot-stuffing alone: a 6.5 KB message of
// 72-octet lines, every tenth starting with a dot, in one chunk.
func BenchmarkBodyWriter(b *testing.B) {
	var msg strings.Builder
	msg.WriteString("Subject: bench\r\n\r\n")
	for i := 0; msg.Len() < 6500; i++ {
		if i%10 == 3 {
			msg.WriteString(".")
		}
		msg.WriteString(strings.Repeat("x", 70) + "\r\n")
	}
	p := []byte(msg.String())
	w := bufio.NewWriterSize(io.Discard, 16<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		bw := newBodyWriter(w)
		bw.write(p)
		bw.finish()
	}
}
