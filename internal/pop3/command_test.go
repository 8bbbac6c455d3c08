package pop3

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		name string
		args []string
	}{
		{"", "", nil},
		{"stat", "STAT", nil},
		{"LIST 1", "LIST", []string{"1"}},
		{"top  1   2 ", "TOP", []string{"1", "2"}},
		{"RETR\t7", "RETR", []string{"7"}},
		{"USER  alice ", "USER", []string{" alice "}},
		{"PASS open sesame ", "PASS", []string{"open sesame "}},
		{"PASS", "PASS", nil},
		{"AUTH PLAIN =", "AUTH", []string{"PLAIN", "="}},
		{"\xff\xfe x", "\xff\xfe", []string{"x"}},
	}
	for _, tt := range tests {
		got := parseCommand([]byte(tt.line))
		if got.name != tt.name || !slices.Equal(got.args, tt.args) {
			t.Errorf("parseCommand(%q) = %q %q; want %q %q", tt.line, got.name, got.args, tt.name, tt.args)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		isOK bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"007", 7, true},
		{"123456789", 123456789, true},
		{"99999999999999999999999", 1 << 30, true},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1a", 0, false},
		{"١", 0, false}, // Arabic-Indic digit one
	}
	for _, tt := range tests {
		n, ok := parseNumber(tt.in)
		if n != tt.n || ok != tt.isOK {
			t.Errorf("parseNumber(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.isOK)
		}
	}
}

// FuzzParseCommand checks the parser's invariants on any line: it never
// panics, the name is upper case and has no blanks, arguments are never
// empty and (but for USER and PASS) have no blanks, and printing the
// command and parsing it again gives the same command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "QUIT", "list 1", "TOP 1 10", "PASS a b  c ", "USER x", "AUTH PLAIN AGFsaWNl", " \t ", "\x00 \x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd := parseCommand(line)
		if strings.ContainsAny(cmd.name, " \t") {
			t.Fatalf("name %q contains blanks", cmd.name)
		}
		if cmd.name != asciiUpper([]byte(cmd.name)) {
			t.Fatalf("name %q is not upper case", cmd.name)
		}
		if cmd.name == "USER" || cmd.name == "PASS" {
			if len(cmd.args) > 1 {
				t.Fatalf("%s has %d arguments", cmd.name, len(cmd.args))
			}
			return
		}
		for _, a := range cmd.args {
			if a == "" || strings.ContainsAny(a, " \t") {
				t.Fatalf("argument %q of %q", a, line)
			}
		}
		again := parseCommand([]byte(strings.Join(append([]string{cmd.name}, cmd.args...), " ")))
		if again.name != cmd.name || !slices.Equal(again.args, cmd.args) {
			t.Fatalf("round trip of %q: got %q %q; want %q %q", line, again.name, again.args, cmd.name, cmd.args)
		}
		_ = printableName(cmd.name)
		for _, a := range cmd.args {
			parseNumber(a)
		}
	})
}
