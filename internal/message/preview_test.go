package message

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreview(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name, msg, want string
	}{
		{"plain", "Subject: x\n\n  Hello,\n\n\tworld  \n", "Hello, world"},
		{"no body", "Subject: x\n\n", ""},
		{"mixed: html first", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>first</p>\n--b\nContent-Type: text/plain\n\nsecond\n--b--\n", "first"},
		{"alternative: plain preferred", "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>html</p>\n--b\nContent-Type: text/plain\n\nplain\n--b--\n", "plain"},
		{"alternative of html only", "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>only&#32;html</p>\n--b\nContent-Type: image/png\n\nxx\n--b--\n", "only html"},
		{"nested", "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/related; boundary=i\n\n--i\nContent-Type: image/gif\n\nGIF\n--i\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve\n--i--\n--o--\n", "naïve"},
		{"attachment skipped", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached\n--b\nContent-Type: text/plain\nContent-Disposition: inline\n\ninline\n--b--\n", "inline"},
		{"attached message is not the text", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner text\n--b--\n", ""},
		{"other types", "Content-Type: text/calendar\n\nBEGIN:VCALENDAR\n", ""},
		{"base64 utf-8", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString([]byte("grüße\r\naus Köln")) + "\n", "grüße aus Köln"},
		{"controls", "Subject: x\n\na\x00b\x07c\u200bd", "a b c d"},
		{"cut at 256", "Subject: x\n\n" + long, strings.TrimSpace(long[:256])},
		{"html", "Content-Type: text/html\n\n<HTML><HEAD><STYLE>p{}</STYLE></HEAD><Body>a&lt;b&gt;c<br/>d<SCRIPT type=x>no</script>e</body>", "a<b>c d e"},
		{"html cut inside a tag", "Content-Type: text/html\n\nbefore <a href=\"", "before"},
		{"html comment", "Content-Type: text/html\n\nx<!-- <p>hidden</p> -->y", "xy"},
	}
	for _, tt := range tests {
		raw := Normalize([]byte(tt.msg))
		if got := Parse(raw).PreviewOf(raw); got != tt.want {
			t.Errorf("%s: %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestPreviewBounds: at most 256 characters (not octets), valid UTF-8, and
// at most 64 KiB of a large part read; a part cut inside a character loses
// the partial character, not more.
func TestPreviewBounds(t *testing.T) {
	body := strings.Repeat("é", maxPreviewRead) // 2 octets each
	raw := Normalize([]byte("Subject: x\n\n" + body))
	m := Parse(raw)
	var read int
	got, err := m.Preview(func(off int64, p []byte) error {
		read += len(p)
		copy(p, raw[off:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if read > maxPreviewRead {
		t.Errorf("read %d octets; want at most %d", read, maxPreviewRead)
	}
	if n := utf8.RuneCountInString(got); n != PreviewChars || !utf8.ValidString(got) || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("preview of %d characters, valid %v: %q", n, utf8.ValidString(got), got)
	}
	// A part cut by the read limit in the middle of a character.
	raw = Normalize([]byte("Subject: x\n\n" + strings.Repeat(" ", maxPreviewRead-1) + "é and more"))
	if got := Parse(raw).PreviewOf(raw); got != "" {
		t.Errorf("cut inside a character: %q; want empty (only white space before the cut)", got)
	}
	// A parse that points outside the message gives no preview.
	if got := Parse(raw).PreviewOf(raw[:10]); got != "" {
		t.Errorf("part outside the message: %q", got)
	}
}
