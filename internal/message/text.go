package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/charset"
)

// Decode undoes a part's Content-Transfer-Encoding (RFC 2045 §6) leniently:
// characters outside the base64 alphabet are skipped, and decoding stops at
// the first error with what was decoded so far. Unknown encodings return
// body as it is.
func Decode(encoding string, body []byte) []byte {
	switch encoding {
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, _ := base64.RawStdEncoding.Decode(out, clean[:len(clean)/4*4+tail(len(clean)%4)])
		return out[:n]
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out
	}
	return body
}

// tail is how many trailing base64 characters form a decodable group.
func tail(n int) int {
	if n == 1 {
		return 0 // a lone character carries no whole byte
	}
	return n
}

// Text returns the content of a text part as UTF-8: transfer encoding undone
// and the charset parameter applied (any charset the go-message charset
// package knows; unknown ones are read as UTF-8). The result is valid
// UTF-8.
func (p *Part) Text(body []byte) string {
	b := Decode(p.Encoding, body)
	cs, _ := p.Param("charset")
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs != "" && cs != "utf-8" && cs != "us-ascii" && cs != "utf8" {
		if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				b = d
			}
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
