package message

import (
	"bytes"
	"net/mail"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{simple, nested, "", "\r\n", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b--"} {
		f.Add(crlf(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		checkOffsets(t, &m.Root, 0, int64(len(raw)))
		got, err := Unmarshal(m.Marshal())
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(Parse(x))): %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("Unmarshal(Marshal(Parse(x))) = %+v; want %+v", got, m)
		}
		_ = m.Subject() + m.From() + m.To() + m.Cc()
		walkText(&m.Root, raw)
		_ = m.Date()
		conv := BinaryToBase64(raw, m)
		if !m.HasBinary() && (len(conv) != len(raw) || len(raw) > 0 && &conv[0] != &raw[0]) {
			t.Fatalf("BinaryToBase64 changed a message without binary parts")
		}
		if m.HasBinary() && Parse(conv).HasBinary() {
			t.Fatalf("BinaryToBase64 left a binary part: %q", conv)
		}
		_ = Normalize(raw)
		if !bytes.Equal(Normalize(Normalize(raw)), Normalize(raw)) {
			t.Fatalf("Normalize is not idempotent")
		}
	})
}

// checkOffsets verifies that a part's ranges nest inside [start, end].
func checkOffsets(t *testing.T, p *Part, start, end int64) {
	t.Helper()
	if p.HeaderStart < start || p.HeaderStart > p.BodyStart || p.BodyStart > p.End || p.End > end {
		t.Fatalf("part offsets %d %d %d outside [%d, %d]", p.HeaderStart, p.BodyStart, p.End, start, end)
	}
	for i := range p.Parts {
		checkOffsets(t, &p.Parts[i], p.BodyStart, p.End)
	}
	if p.Inner != nil {
		checkOffsets(t, p.Inner, p.BodyStart, p.End)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{simple, nested, ""} {
		f.Add(Parse(crlf(s)).Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		// What decodes must encode back to an equal value.
		m2, err := Unmarshal(m.Marshal())
		if err != nil {
			t.Fatalf("re-Unmarshal: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-Unmarshal = %+v; want %+v", m2, m)
		}
	})
}

// walkText decodes every part's text, which must not panic.
func walkText(p *Part, raw []byte) {
	_ = p.Text(raw[p.BodyStart:p.End])
	for i := range p.Parts {
		walkText(&p.Parts[i], raw)
	}
	if p.Inner != nil {
		walkText(p.Inner, raw)
	}
}

// FuzzParseDateSameAsNetMail: any string the one-layout path parses,
// mail.ParseDate parses to the same time in the same location.
func FuzzParseDateSameAsNetMail(f *testing.F) {
	for _, s := range []string{"Mon, 2 Nov 2026 10:05:00 +0000", "2 Nov 2026 10:05:00 -0700", "Thu, 31 Dec 1999 23:59:60 +0530", "1 Jan 2026 00:00:00 +0100 (CET)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		fast, ok := parseCommonDate(v)
		if !ok {
			return
		}
		want, err := mail.ParseDate(v)
		if err != nil {
			t.Fatalf("parseCommonDate(%q) = %v; mail.ParseDate fails: %v", v, fast, err)
		}
		if !fast.Equal(want) || fast.Location().String() != want.Location().String() {
			t.Fatalf("parseCommonDate(%q) = %v; mail.ParseDate = %v", v, fast, want)
		}
	})
}
