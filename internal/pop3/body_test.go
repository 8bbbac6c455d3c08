package pop3

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// unstuff undoes dot-stuffing of a multi-line response and checks its
// terminator, as a client does (RFC 1939 §3).
func unstuff(t testing.TB, wire []byte) []byte {
	t.Helper()
	if !bytes.HasSuffix(wire, []byte(".\r\n")) {
		t.Fatalf("response %q does not end with .CRLF", wire)
	}
	var out bytes.Buffer
	lines := bytes.SplitAfter(wire, []byte("\n"))
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		if string(l) == ".\r\n" {
			if i != len(lines)-2 {
				t.Fatalf("terminator inside the response %q", wire)
			}
			break
		}
		if l[0] == '.' {
			l = l[1:]
		}
		out.Write(l)
	}
	return out.Bytes()
}

// stream sends msg through a body writer in chunks of the given size.
func stream(msg string, chunk int, top int) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	var bw *bodyWriter
	if top < 0 {
		bw = newBodyWriter(w)
	} else {
		bw = newTopWriter(w, top)
	}
	for p := []byte(msg); len(p) > 0; {
		n := min(chunk, len(p))
		if !bw.write(p[:n]) {
			break
		}
		p = p[n:]
	}
	bw.finish()
	w.Flush()
	return buf.Bytes()
}

func TestBodyWriter(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		top  int // -1: RETR
		want string
	}{
		{"empty", "", -1, ".\r\n"},
		{"dots", ".\r\n..\r\n.x\r\nx.\r\n", -1, "..\r\n...\r\n..x\r\nx.\r\n.\r\n"},
		{"no final CRLF", "a\r\nb", -1, "a\r\nb\r\n.\r\n"},
		{"dot without CRLF", "a\r\n.", -1, "a\r\n..\r\n.\r\n"},
		{"8-bit", "\xff\xfe\r\n\x80.\r\n", -1, "\xff\xfe\r\n\x80.\r\n.\r\n"},
		{"top 0", "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n", 0, "H: 1\r\nH: 2\r\n\r\n.\r\n"},
		{"top 1", "H: 1\r\n\r\n.b1\r\nb2\r\n", 1, "H: 1\r\n\r\n..b1\r\n.\r\n"},
		{"top past end", "H: 1\r\n\r\nb1\r\nb2", 9, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"},
		{"top no body", "H: 1\r\n", 0, "H: 1\r\n.\r\n"},
		{"top no blank line", "H: 1\r\nH: 2", 3, "H: 1\r\nH: 2\r\n.\r\n"},
		{"top empty body line", "H: 1\r\n\r\n\r\n\r\nx\r\n", 2, "H: 1\r\n\r\n\r\n\r\n.\r\n"},
		{"top CR inside header line", "H: \r1\r\n\r\nb\r\n", 0, "H: \r1\r\n\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every chunk size, so that lines and CRLFs straddle chunks.
			for chunk := 1; chunk <= len(tt.msg)+1; chunk++ {
				if got := string(stream(tt.msg, chunk, tt.top)); got != tt.want {
					t.Fatalf("chunk %d: got %q; want %q", chunk, got, tt.want)
				}
			}
		})
	}
}

// FuzzBodyWriter: what a client reads back after undoing dot-stuffing is
// the message (with CRLF added where the last line lacks it), whatever
// the chunking; TOP output is a prefix of it.
func FuzzBodyWriter(f *testing.F) {
	for _, m := range fixtureMessages {
		f.Add(m.body, 3, 1)
	}
	f.Add(".\r\n.\r\n", 1, 0)
	f.Fuzz(func(t *testing.T, msg string, chunk, top int) {
		// Clients see CRLF lines; the store keeps bodies CRLF-normalized.
		msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r", ""), "\n", "\r\n")
		if chunk < 1 {
			chunk = 1
		}
		want := msg
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\r\n"
		}
		if got := string(unstuff(t, stream(msg, chunk, -1))); got != want {
			t.Fatalf("RETR: got %q; want %q", got, want)
		}
		top %= 1000
		if top < 0 {
			top = -top
		}
		got := string(unstuff(t, stream(msg, chunk, top)))
		if !strings.HasPrefix(want, got) {
			t.Fatalf("TOP %d: got %q; not a prefix of %q", top, got, want)
		}
	})
}
