package imap

import (
	"testing"
	"unicode/utf8"
)

func TestMUTF7(t *testing.T) {
	tests := []struct{ utf8, mutf7 string }{
		{"INBOX", "INBOX"},
		{"a&b", "a&-b"},
		{"Café", "Caf&AOk-"},
		{"日本語", "&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"😊", "&2D3eCg-"},
	}
	for _, tt := range tests {
		if got := encodeMUTF7(tt.utf8); got != tt.mutf7 {
			t.Errorf("encodeMUTF7(%q) = %q; want %q", tt.utf8, got, tt.mutf7)
		}
		if got, ok := decodeMUTF7(tt.mutf7); !ok || got != tt.utf8 {
			t.Errorf("decodeMUTF7(%q) = %q, %v; want %q", tt.mutf7, got, ok, tt.utf8)
		}
	}
	for _, bad := range []string{"&", "&Jjo", "&AGE-", "&2D3-", "a\x01b"} {
		if got, ok := decodeMUTF7(bad); ok {
			t.Errorf("decodeMUTF7(%q) = %q; want an error", bad, got)
		}
	}
}

func FuzzMUTF7(f *testing.F) {
	f.Add("Café/日本語 &x")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		enc := encodeMUTF7(s)
		dec, ok := decodeMUTF7(enc)
		if !ok || dec != s {
			t.Fatalf("decode(encode(%q)) = %q, %v", s, dec, ok)
		}
	})
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b/c", true},
		{"%", "a/b", false},
		{"%", "a", true},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"inbox", "INBOX", true},
		{"Inbox/%", "INBOX/x", true},
		{"*b", "a/b", true},
		{"a%c", "abc", true},
		{"a%c", "a/c", false},
		{"", "", true},
		{"x", "", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v; want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}
