package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// subjectWords appear in subjects; SEARCH looks for one of them.
var subjectWords = []string{"invoice", "meeting", "report", "holiday", "budget", "contract", "review", "release"}

var bodyWords = []string{"the", "quarterly", "numbers", "look", "good", "please", "find", "attached", "see", "you",
	"tomorrow", "at", "noon", "regards", "thanks", "for", "your", "help", "with", "project", "deadline", "next", "week"}

// corpus returns n messages with CRLF line ends: mostly plain text, every
// fifth a multipart with a base64 attachment; sizes log-normal around a
// median of about 5 KB, as in the delivery figures of
// docs/ARCHITECTURE.md, Performance targets.
func corpus(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	base := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		size := int(math.Exp(rng.NormFloat64()*0.9 + math.Log(5000)))
		size = min(max(size, 400), 400000)
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\n", i%37, i%37)
		fmt.Fprintf(&b, "To: Load User <user@example.com>\r\n")
		fmt.Fprintf(&b, "Subject: %s %s number %d\r\n", subjectWords[rng.IntN(len(subjectWords))], subjectWords[rng.IntN(len(subjectWords))], i)
		fmt.Fprintf(&b, "Date: %s\r\n", base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Message-ID: <load-%d@example.org>\r\nMIME-Version: 1.0\r\n", i)
		text := func(limit int) {
			line := 0
			for b.Len() < limit {
				w := bodyWords[rng.IntN(len(bodyWords))]
				b.WriteString(w)
				line += len(w) + 1
				if line > 70 {
					b.WriteString("\r\n")
					line = 0
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteString("\r\n")
		}
		if i%5 == 4 {
			b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
			text(b.Len() + 600)
			b.WriteString("--b1\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\n\r\n")
			raw := make([]byte, max(size-b.Len(), 100)*3/4)
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			enc := base64.StdEncoding.EncodeToString(raw)
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n--b1--\r\n")
		} else {
			b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
			text(size)
		}
		out[i] = b.Bytes()
	}
	return out
}
