package imap

import (
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// TestBaseSubject pins the base subject of RFC 5256 §2.1, step by step.
func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello", "Hello"},
		{"Re: Hello", "Hello"},
		{"RE: re:  Hello   world ", "Hello world"},
		{"Re:Re:Hello", "Hello"},
		{"Fwd: Re: Hello", "Hello"},
		{"FW: Hello (fwd)", "Hello"},
		{"Hello (fwd) (FWD)", "Hello"},
		{"Hello(fwd)", "Hello"},
		{"[list] Re: Hello", "Hello"},
		{"Re [list]: Hello", "Hello"},
		{"Re[2]: Hello", "Hello"},
		{"Fwd [3]: Hello", "Hello"},
		{"[PATCH] Hello", "Hello"},
		{"[PATCH 1/2] Re: fix", "fix"},
		{"[PATCH]", "[PATCH]"},
		{"Re: [list]", "[list]"},
		{"[fwd: Re: Hello]", "Hello"},
		{"Re: [fwd: Hello] (fwd)", "Hello"},
		{"[Fwd: [fwd: Hello]]", "Hello"},
		{"Re: [fwd: [list] Hello]", "Hello"},
		{"[fwd: Hello", "[fwd: Hello"},
		{"re Hello", "re Hello"},
		{"Results: soon", "Results: soon"},
		{"Fwdx: Hello", "Fwdx: Hello"},
		{"Re:", ""},
		{"\tRe:\tHello\t\tthere", "Hello there"},
		{"Réponse: Grüße", "Réponse: Grüße"},
		{"Re: [a] [b] Quarterly figures", "Quarterly figures"},
		{"[a] [b]", "[b]"},
	} {
		if got := baseSubject(tc.in); got != tc.want {
			t.Errorf("baseSubject(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestFirstMailbox(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"bob@example.com", "bob"},
		{"Bob Smith <bob@example.com>", "bob"},
		{`"Müller, Jürgen" <jm@x.de>, a@b`, "jm"},
		{`"carl@evil.example" <alice@example.com>`, "alice"},
		{"a@b, Bob <bob@example.com>", "a"},
		{"team: zed@example.com, amy@example.com;", "team"},
		{`"john doe"@example.com`, "john doe"},
		{"undisclosed-recipients:;", "undisclosed-recipients"},
	} {
		if got := firstMailbox(message.ParseAddressList(tc.in)); got != tc.want {
			t.Errorf("firstMailbox(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestASCIICasemap(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ABC xyz", "ABC XYZ"},
		{"éclair", "éCLAIR"},
	} {
		if got := asciiCasemap(tc.in); got != tc.want {
			t.Errorf("asciiCasemap(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
	// i;ascii-casemap maps to upper case: the octets between "Z" and "a"
	// sort after every letter, whatever its case.
	for _, s := range []string{"[xyz]", "_", "`a", "^"} {
		for _, letter := range []string{"a", "C", "z", "Z"} {
			if asciiCasemap(letter) >= asciiCasemap(s) {
				t.Errorf("%q does not sort before %q", letter, s)
			}
		}
	}
}
