package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// corpus returns n deterministic test messages with CRLF line ends. Sizes
// are log-normal around a median of about 4 KB (most mail is small, some
// is large), bounded to 500 B - 200 KB; every tenth body line starts with a
// dot, so that dot-stuffing is exercised.
func corpus(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		size := int(math.Exp(rng.NormFloat64()*1.0 + math.Log(4000)))
		size = min(max(size, 500), 200_000)
		var b bytes.Buffer
		fmt.Fprintf(&b, "Return-Path: <sender%d@example.org>\r\n", i%37)
		fmt.Fprintf(&b, "Message-ID: <%d.%d@example.org>\r\n", seed, i)
		fmt.Fprintf(&b, "Date: %s\r\n", base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\n", i%37, i%37)
		fmt.Fprintf(&b, "To: user@example.com\r\n")
		fmt.Fprintf(&b, "Subject: Load test message %d\r\n", i)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		for line := 0; b.Len() < size; line++ {
			if line%10 == 3 {
				b.WriteString(".")
			}
			for j := 0; j < 70; j++ {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
			b.WriteString("\r\n")
		}
		out[i] = b.Bytes()
	}
	return out
}
