package message

import (
	"strings"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	raw := crlf(nested)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkParseLarge(b *testing.B) {
	// A 5 MB attachment in a two-part message.
	raw := crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nhello\n--b\nContent-Transfer-Encoding: base64\n\n" +
		strings.Repeat(strings.Repeat("A", 76)+"\n", 5<<20/77) + "--b--\n")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{{"simple", simple}, {"nested", nested}} {
		enc := Parse(crlf(bc.raw)).Marshal()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Unmarshal(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	m := Parse(crlf(nested))
	b.ReportAllocs()
	for b.Loop() {
		m.Marshal()
	}
}
