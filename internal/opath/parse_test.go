package opath

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical print
	}{
		{"PopEnabled -eq $false", "PopEnabled -eq $false"},
		{"PopEnabled -eq $TRUE", "PopEnabled -eq $true"},
		{"PopEnabled -EQ $false -and Name -like 'Chr*'", "PopEnabled -eq $false -and Name -like 'Chr*'"},
		{"a -eq 1 -or b -eq 2 -and c -eq 3", "a -eq 1 -or b -eq 2 -and c -eq 3"},
		{"(a -eq 1 -or b -eq 2) -and c -eq 3", "(a -eq 1 -or b -eq 2) -and c -eq 3"},
		{"-not (a -eq 1)", "-not a -eq 1"},
		{"-not(a -eq 1)", "-not a -eq 1"},
		{"-not (a -eq 1 -and b -eq 2)", "-not (a -eq 1 -and b -eq 2)"},
		{"a -eq 1 -and (b -eq 2 -and c -eq 3)", "a -eq 1 -and (b -eq 2 -and c -eq 3)"},
		{"(a -eq 1 -and b -eq 2) -and c -eq 3", "a -eq 1 -and b -eq 2 -and c -eq 3"},
		{"a -eq 1 -or (b -eq 2 -or c -eq 3)", "a -eq 1 -or (b -eq 2 -or c -eq 3)"},
		{"!!a -eq 1", "-not -not a -eq 1"},
		{"!(a -eq 1) -and b -ne $null", "-not a -eq 1 -and b -ne $null"},
		{"-not a -eq 1 -and b -eq 2", "-not a -eq 1 -and b -eq 2"},
		{`Name -eq "Christa Knapp"`, "Name -eq 'Christa Knapp'"},
		{`Name -eq 'O''Brien'`, "Name -eq 'O''Brien'"},
		{`Name -eq "say ""hi"""`, `Name -eq 'say "hi"'`},
		{"Name -eq \"tab`there\"", "Name -eq 'tab\there'"},
		{"Name -eq \"`$true\"", "Name -eq '$true'"},
		{"Name -eq Christa", "Name -eq 'Christa'"},
		{"Name -like *knapp*", "Name -like '*knapp*'"},
		{"Size -gt 500", "Size -gt 500"},
		{"Size -ge -1.5", "Size -ge -1.5"},
		{"Size -lt '500'", "Size -lt '500'"},
		{"WhenCreated -gt 2024-05-01", "WhenCreated -gt 2024-05-01T00:00:00Z"},
		{"WhenCreated -le 2024-05-01T10:30:00+02:00", "WhenCreated -le 2024-05-01T10:30:00+02:00"},
		{"WhenCreated -gt 1/31/2024", "WhenCreated -gt 2024-01-31T00:00:00Z"},
		{"WhenCreated -gt '1/31/2024'", "WhenCreated -gt '1/31/2024'"},
		{"  Name   -notlike   'x*'  ", "Name -notlike 'x*'"},
		{"Name -eq 'Zoë'", "Name -eq 'Zoë'"},
		{"((((a -eq 1))))", "a -eq 1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", e.String(), err)
			}
			if again.String() != e.String() {
				t.Errorf("round trip: got %s; want %s", again, e)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"a -eq $true", Value{Kind: KindBool, Bool: true}},
		{"a -eq $False", Value{Kind: KindBool}},
		{"a -eq $NULL", Value{Kind: KindNull}},
		{"a -eq 42", Value{Kind: KindNumber, Str: "42"}},
		{"a -eq 'x y'", Value{Kind: KindString, Str: "x y"}},
		{"a -eq 12abc", Value{Kind: KindString, Str: "12abc"}},
		{"a -eq 2024-02-03", Value{Kind: KindDate, Time: time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := e.(*Comparison).Value
			if got.Kind != tt.want.Kind || got.Str != tt.want.Str || got.Bool != tt.want.Bool || !got.Time.Equal(tt.want.Time) {
				t.Errorf("got %#v; want %#v", got, tt.want)
			}
		})
	}
}

func TestParseAST(t *testing.T) {
	e, err := Parse("PopEnabled -eq $false -and Name -like 'Chr*'")
	if err != nil {
		t.Fatal(err)
	}
	and, ok := e.(*And)
	if !ok {
		t.Fatalf("got %T; want *And", e)
	}
	l := and.Left.(*Comparison)
	r := and.Right.(*Comparison)
	if l.Property != "PopEnabled" || l.Op != OpEq || l.Value.Kind != KindBool || l.Value.Bool {
		t.Errorf("left: got %+v", l)
	}
	if r.Property != "Name" || r.Op != OpLike || r.Value.Str != "Chr*" || r.Offset != 27 {
		t.Errorf("right: got %+v; want Name -like Chr* at 27", r)
	}
	if got := Properties(e); strings.Join(got, ",") != "PopEnabled,Name" {
		t.Errorf("Properties: got %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		pos    int // 1-based
		detail string
	}{
		{"", 1, "Expected a property name, but the filter ended."},
		{"   ", 4, "Expected a property name, but the filter ended."},
		{"PopEnabled", 11, "Expected a comparison operator such as -eq or -like after 'PopEnabled', but the filter ended."},
		{"PopEnabled -eq", 15, "Expected a value after '-eq', but the filter ended."},
		{"PopEnabled -equals $true", 12, "'-equals' is not a comparison operator; use -eq, -ne, -lt, -gt, -le, -ge, -like or -notlike."},
		{"PopEnabled -eq $tru", 16, "'$tru' is not a value"},
		{"Name -eq 'abc", 10, "The string is missing the terminator: '."},
		{`Name -eq "abc`, 10, `The string is missing the terminator: ".`},
		{"(Name -eq 'a'", 1, "Missing closing ')' for this '('."},
		{"Name -eq 'a')", 13, "Expected -and, -or or the end of the filter, found ')'."},
		{"Name -eq 'a' Alias -eq 'b'", 14, "Expected -and, -or or the end of the filter, found 'Alias'."},
		{"Name -eq 'a' -and", 18, "Expected a property name, but the filter ended."},
		{"-eq 'a'", 1, "Expected a property name, found '-eq'."},
		{"'Name' -eq 'a'", 1, "Expected a property name, found ''Name''."},
		{"Näme -eq 'a' -or x -eq", 23, "Expected a value after '-eq', but the filter ended."},
		{"Name -eq (x)", 10, "Expected a value after '-eq', found '('."},
		{strings.Repeat("(", 200) + "a -eq 1" + strings.Repeat(")", 200), 102, "nested more than 100 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v; want *Error", err)
			}
			if pe.Kind != ErrSyntax {
				t.Errorf("kind: got %v; want ErrSyntax", pe.Kind)
			}
			if pe.Position() != tt.pos {
				t.Errorf("position: got %d; want %d", pe.Position(), tt.pos)
			}
			if !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("detail: got %q; want it to contain %q", pe.Detail, tt.detail)
			}
			if !strings.HasPrefix(err.Error(), "Invalid filter syntax. For a description of the filter parameter syntax see the command help. ") {
				t.Errorf("message: got %q", err.Error())
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	or := func(n int) string {
		return strings.Repeat("Name -eq 'x' -or ", n-1) + "Name -eq 'y'"
	}
	tests := []struct {
		name   string
		in     string
		ok     bool
		detail string // for errors
	}{
		{"64 -or terms", or(MaxComparisons), true, ""},
		{"65 -or terms", or(MaxComparisons + 1), false, "more than 64 comparisons"},
		{"2,000 -or terms", or(2000), false, "The filter is 33995 characters long"},
		{"35,000 -or terms", or(35000), false, "at most 4096 are allowed"},
		{"65 -and terms", strings.Repeat("PopEnabled -eq $true -and ", 64) + "Name -eq 'y'", false, "more than 64 comparisons"},
		{"65 terms in parentheses", strings.Repeat("(Name -eq 'x' -or ", 64) + "Name -eq 'y'" + strings.Repeat(")", 64), false, "more than 64 comparisons"},
		{"100 -not", strings.Repeat("-not ", 100) + "Name -eq 'y'", true, ""},
		{"101 -not", strings.Repeat("-not ", 101) + "Name -eq 'y'", false, "nested more than 100 levels"},
		{"4096 characters", "Name -eq '" + strings.Repeat("ä", MaxLength-11) + "'", true, ""},
		{"4097 characters", "Name -eq '" + strings.Repeat("ä", MaxLength-10) + "'", false, "The filter is 4097 characters long; at most 4096 are allowed."},
		{"pattern of 320", "Name -like '" + strings.Repeat("a", MaxPatternLength) + "'", true, ""},
		{"pattern of 321", "Name -like '" + strings.Repeat("a", MaxPatternLength+1) + "'", false, "The pattern is 321 characters long; at most 320 are allowed."},
		{"-notlike pattern of 321", "Name -notlike '" + strings.Repeat("a", MaxPatternLength+1) + "'", false, "at most 320 are allowed"},
		{"-eq value of 321", "Name -eq '" + strings.Repeat("a", MaxPatternLength+1) + "'", true, ""},
		{"8 wildcards", "Name -like '" + strings.Repeat("*a", MaxPatternWildcards) + "'", true, ""},
		{"9 wildcards", "Name -like '" + strings.Repeat("*a", MaxPatternWildcards+1) + "'", false, "The pattern has 9 '*' wildcards; at most 8 are allowed."},
		{"2,000 wildcards", "Name -like '" + strings.Repeat("*a", 2000) + "'", false, "The pattern is 4000 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v; want no error", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v; want *Error", err)
			}
			if !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("detail: got %q; want it to contain %q", pe.Detail, tt.detail)
			}
			if msg := err.Error(); len(msg) > 600 {
				t.Errorf("message is %d bytes; want at most 600 (the filter shortened): %.100s", len(msg), msg)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("PopEnabled -eq")
	want := `Invalid filter syntax. For a description of the filter parameter syntax see the command help. "PopEnabled -eq" at position 15. Expected a value after '-eq', but the filter ended.`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	got := BindMessage("Filter", err)
	wantBind := `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "` + want + `"`
	if got != wantBind {
		t.Errorf("got  %s\nwant %s", got, wantBind)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// prints to a filter that parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PopEnabled -eq $false -and Name -like 'Chr*'",
		"-not (a -eq 1) -or !(b -ne $null)",
		`Name -eq "x""y" -and Size -gt 5`,
		"WhenCreated -gt 2024-05-01T10:00:00Z",
		"a -eq 1/2/2006",
		"(a -like '*[ab]?') -and b -le -3.25",
		"Name -eq \"`$x`n\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T is not *Error", s, err)
			}
			_ = pe.Error()
			return
		}
		printed := e.String()
		again, err := Parse(printed)
		var pe *Error
		if errors.As(err, &pe) && pe.Kind == ErrLimit && utf8.RuneCountInString(printed) > MaxLength {
			// The canonical form quotes barewords and spells ! as -not,
			// so a filter just under MaxLength may print longer.
			return
		}
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("round trip of %q: got %q; want %q", s, again.String(), printed)
		}
		// Evaluation must not panic whatever the value types.
		for _, v := range []any{nil, "x", true, 3, 2.5, time.Unix(0, 0), []string{"a", "b"}} {
			_, _ = Eval(e, func(string) (any, bool) { return v, true })
		}
	})
}
