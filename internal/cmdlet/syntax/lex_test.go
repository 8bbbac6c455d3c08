package syntax

import (
	"fmt"
	"strings"
	"testing"
)

// lexAll lexes src in one mode and renders the tokens compactly.
func lexAll(src string, mode Mode) string {
	var out []string
	pos := 0
	for range 100 {
		t := lexAt(src, pos, mode)
		s := t.Kind.String()
		switch t.Kind {
		case TokOperator, TokAssign, TokVariable, TokString, TokExpandString, TokNumber, TokWord, TokError, TokRedirect:
			s = fmt.Sprintf("%s(%s)", strings.Trim(t.Kind.String(), "'"), t.Value)
		case TokParameter:
			s = fmt.Sprintf("param(%s", t.Value)
			if t.Colon {
				s += ":"
			}
			s += ")"
		}
		out = append(out, s)
		if t.Kind == TokEOF || t.Kind == TokError {
			break
		}
		pos = t.End
	}
	return strings.Join(out, " ")
}

func TestLexArgument(t *testing.T) {
	tests := []struct{ in, want string }{
		{"-Identity 'Christa Knapp'", "param(Identity) string(Christa Knapp) end of input"},
		{"-ImapEnabled:$false", "param(ImapEnabled:) variable(false) end of input"},
		{"Pop*,Imap*", "word(Pop*) ',' word(Imap*) end of input"},
		{"pop.csv -NoTypeInformation", "word(pop.csv) param(NoTypeInformation) end of input"},
		{"7 -5 1kb 0x10 1.5 7days", "number(7) number(-5) number(1kb) number(0x10) number(1.5) word(7days) end of input"},
		{`"a $x b" 'it''s'`, "string(a $x b) string(it's) end of input"},
		{"$_.Alias", "variable(_) word(.Alias) end of input"},
		{"{ $_ }|x;y", "'{' variable(_) '}' '|' word(x) ';' word(y) end of input"},
		{"a # comment\nb", "word(a) newline word(b) end of input"},
		{"a `\n b", "word(a) word(b) end of input"},
		{"a <# block\n comment #> b", "word(a) word(b) end of input"},
		{"@(1) @{a=1} $(2)", "'@(' number(1) ')' '@{' word(a=1) '}' '$(' number(2) ')' end of input"},
		{"\u2013Identity \u2018x\u2019 \u201cy\u201d", "param(Identity) string(x) string(y) end of input"},
		{"-Name: x", "param(Name:) word(x) end of input"},
		{"a`;b", "word(a;b) end of input"},
		{"'open", "error(The string is missing the terminator: '.)"},
		{`"open`, `error(The string is missing the terminator: ".)`},
		{"a > b", "word(a) redirection(>) word(b) end of input"},
		{"a >> 'b c'", "word(a) redirection(>>) string(b c) end of input"},
		{"a 2>&1", "word(a) number(2) error(Only output redirection (> and >>) is supported; for errors use -ErrorAction or -ErrorVariable.)"},
		{"$ x", "word($) word(x) end of input"},
		{"${a b} $env:USER $script:x $? $x:y", "variable(a b) variable(env:USER) variable(script:x) variable(?) variable(x) word(:y) end of input"},
		{"@'\nhere 'quoted'\n'@", "string(here 'quoted') end of input"},
		{"@\"\nhi $x\n\"@ next", "string(hi $x) word(next) end of input"},
		{"@'  x\n'@", "error(No characters are allowed after a here-string header but before the end of the line.)"},
		{"@'\nunterminated", "error(The string is missing the terminator: '@.)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := lexAll(tt.in, ModeArgument); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLexExpression(t *testing.T) {
	tests := []struct{ in, want string }{
		{"$_.PopEnabled -eq $false", "variable(_) '.' word(PopEnabled) operator(-eq) variable(false) end of input"},
		{"-not $x -AND $y -cLike 'a*'", "operator(-not) variable(x) operator(-and) variable(y) operator(-clike) string(a*) end of input"},
		{"1..10", "number(1) operator(..) number(10) end of input"},
		{"1.5 .5 1e3 0x1F 10MB", "number(1.5) number(.5) number(1e3) number(0x1F) number(10MB) end of input"},
		{"$x += 1; $y = 2", "variable(x) assignment(+=) number(1) ';' variable(y) assignment(=) number(2) end of input"},
		{"[datetime]::Now", "'[' word(datetime) ']' '::' word(Now) end of input"},
		{"!$a", "operator(!) variable(a) end of input"},
		{"-Identity", "param(Identity) end of input"},
		{"Get-Mailbox", "word(Get-Mailbox) end of input"},
		{"a != b", "word(a) error(The '!=' operator is not supported; use -ne.)"},
		{"1x", "error(The numeric constant 1x is not valid.)"},
		{"$", "error(Variable reference is not valid. '$' was not followed by a valid variable name character. Consider using ${} to delimit the name.)"},
		{"`", "error(Missing statement after the line continuation character '`'.)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := lexAll(tt.in, ModeExpression); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"42", int64(42)},
		{"-42", int64(-42)},
		{"1.5", 1.5},
		{".5", 0.5},
		{"1e3", 1000.0},
		{"0x1F", int64(31)},
		{"1kb", int64(1024)},
		{"10MB", int64(10 << 20)},
		{"1.5gb", 1.5 * (1 << 30)},
		{"5l", int64(5)},
		{"5d", 5.0},
		{"9223372036854775808", 9223372036854775808.0},
	}
	for _, tt := range tests {
		got, ok := ParseNumber(tt.in)
		if !ok || got != tt.want {
			t.Errorf("ParseNumber(%q): got %v (%T), %v; want %v (%T)", tt.in, got, got, ok, tt.want, tt.want)
		}
	}
	for _, bad := range []string{"", "-", "x", "1x", "0x", "1.", "e5", "1..2", "--1", "1e", "0xZZ"} {
		if v, ok := ParseNumber(bad); ok {
			t.Errorf("ParseNumber(%q): got %v; want not a number", bad, v)
		}
	}
}
