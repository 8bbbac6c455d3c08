package opath

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type mailbox map[string]any

func (m mailbox) get(name string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func TestEval(t *testing.T) {
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	christa := mailbox{
		"Name":           "Christa Knapp",
		"Alias":          "christa",
		"PopEnabled":     false,
		"ImapEnabled":    true,
		"Size":           int64(500),
		"Ratio":          0.5,
		"WhenCreated":    created,
		"LastPopLogon":   (*time.Time)(nil),
		"EmailAddresses": []string{"SMTP:christa@example.com", "smtp:ck@example.com"},
		"Empty":          "",
		"NoAddresses":    []string{},
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{"PopEnabled -eq $false", true},
		{"popenabled -eq $true", false},
		{"PopEnabled -ne $true", true},
		{"PopEnabled -eq 'False'", true},
		{"ImapEnabled -eq 1", true},
		{"PopEnabled -eq $false -and Name -like 'Chr*'", true},
		{"PopEnabled -eq $false -and Name -like 'Bob*'", false},
		{"PopEnabled -eq $true -or Name -like '*KNAPP'", true},
		{"-not (Name -like 'c*')", false},
		{"Name -eq 'christa knapp'", true},
		{"Name -notlike '*x*'", true},
		{"Name -like 'Christ? Knapp'", true},
		{"Name -like '[a-c]hrista*'", true},
		{"Name -like '[d-z]hrista*'", false},
		{"Name -lt 'D'", true},
		{"Name -gt 'D'", false},
		{"Size -gt 499", true},
		{"Size -ge '500'", true},
		{"Size -lt 500", false},
		{"Size -le 500.0", true},
		{"Ratio -lt 1", true},
		{"Size -like '5*'", true},
		{"WhenCreated -gt 2024-01-01", true},
		{"WhenCreated -gt '5/1/2024 11:00'", true},
		{"WhenCreated -lt '2024-05-01'", false},
		{"WhenCreated -eq 2024-05-01T14:00:00+02:00", true},
		{"LastPopLogon -eq $null", true},
		{"LastPopLogon -ne $null", false},
		{"LastPopLogon -gt 2024-01-01", false},
		{"LastPopLogon -ne 2024-01-01", true},
		{"Empty -eq $null", true},
		{"Name -ne $null", true},
		{"EmailAddresses -like 'smtp:ck@*'", true},
		{"EmailAddresses -eq 'smtp:christa@example.com'", true},
		{"EmailAddresses -eq 'smtp:nobody@example.com'", false},
		{"EmailAddresses -ne 'smtp:ck@example.com'", false},
		{"EmailAddresses -notlike '*@other.com'", true},
		{"EmailAddresses -ne $null", true},
		{"NoAddresses -eq $null", true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Eval(e, christa.get)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	m := mailbox{"PopEnabled": true, "Size": 3, "WhenCreated": time.Now()}
	tests := []struct{ filter, want string }{
		{"Nope -eq 1", `"Nope" is not a recognized filterable property`},
		{"PopEnabled -eq 'maybe'", `Cannot convert value "maybe" to type "System.Boolean".`},
		{"PopEnabled -gt $false", "cannot be used with a Boolean property"},
		{"Size -gt 'big'", `Cannot convert value "big" to type "System.Double".`},
		{"WhenCreated -gt 'yesterday'", `Cannot convert value "yesterday" to type "System.DateTime".`},
		{"PopEnabled -like $null", "$null can only be compared with -eq or -ne"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Eval(e, m.get)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

var testSchema = Schema{
	"Name":           TypeString,
	"PopEnabled":     TypeBool,
	"ImapEnabled":    TypeBool,
	"WhenCreated":    TypeDate,
	"ProhibitSendMB": TypeInt,
	"EmailAddresses": TypeStrings,
}

func TestCheck(t *testing.T) {
	tests := []struct{ in, want string }{
		{"popenabled -eq 'true'", "PopEnabled -eq $true"},
		{"POPENABLED -ne 0", "PopEnabled -ne $false"},
		{"name -like 'chr*' -and -not (imapenabled -eq $false)", "Name -like 'chr*' -and -not ImapEnabled -eq $false"},
		{"Name -eq 42", "Name -eq '42'"},
		{"WhenCreated -gt '1/31/2024'", "WhenCreated -gt 2024-01-31T00:00:00Z"},
		{"ProhibitSendMB -lt '100'", "ProhibitSendMB -lt 100"},
		{"Name -eq $null", "Name -eq $null"},
		{"emailaddresses -like 'smtp:*'", "EmailAddresses -like 'smtp:*'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			before := e.String()
			c, err := Check(tt.in, e, testSchema)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := c.String(); got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
			if e.String() != before {
				t.Errorf("Check modified its input: got %s; want %s", e, before)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		in   string
		kind ErrorKind
		pos  int
		want string
	}{
		{"Name -eq 'a' -and Foo -eq 1", ErrProperty, 19, `"Foo" is not a recognized filterable property. Valid property names are: EmailAddresses, ImapEnabled, Name, PopEnabled, ProhibitSendMB, WhenCreated. "Name -eq 'a' -and Foo -eq 1" at position 19.`},
		{"PopEnabled -eq 'yes'", ErrValue, 1, `Cannot convert value "yes" to type "System.Boolean".`},
		{"PopEnabled -like 'T*'", ErrValue, 1, "can only be used with text properties"},
		{"PopEnabled -lt $true", ErrValue, 1, "use -eq or -ne"},
		{"WhenCreated -gt 'soon'", ErrValue, 1, "System.DateTime"},
		{"ProhibitSendMB -eq 1.5", ErrValue, 1, "System.Int64"},
		{"Name -eq $true", ErrValue, 1, "Cannot compare Name"},
		{"Name -like $null", ErrValue, 1, "$null can only be compared with -eq or -ne"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Check(tt.in, e, testSchema)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %v; want *Error", err)
			}
			if fe.Kind != tt.kind || fe.Position() != tt.pos {
				t.Errorf("got kind %v at %d; want %v at %d", fe.Kind, fe.Position(), tt.kind, tt.pos)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q; want it to contain %q", err.Error(), tt.want)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"Chr*", "christa", true},
		{"chr*", "Bob", false},
		{"*a*b*c*", "xaybzc", true},
		{"*a*b*c*", "xaybz", false},
		{"?", "", false},
		{"?", "ä", true},
		{"a?c", "abc", true},
		{"[abc]x", "Bx", true},
		{"[a-c]x", "dx", false},
		{"[ab", "[ab", true},
		{"a`*", "a*", true},
		{"a`*", "ab", false},
		{"100`%", "100%", true},
		{"ÄRGER", "ärger", true},
		{"*@example.com", "christa@EXAMPLE.com", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 100), false},
	}
	for _, tt := range tests {
		if got := Like(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Like(%q, %q): got %v; want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestLikeToSQL(t *testing.T) {
	tests := []struct {
		pattern, want string
		ok            bool
	}{
		{"Chr*", "Chr%", true},
		{"a?c", "a_c", true},
		{"100%_x", `100\%\_x`, true},
		{`a\b`, `a\\b`, true},
		{"a`*b", "a*b", true},
		{"[ab]*", "", false},
	}
	for _, tt := range tests {
		got, ok := LikeToSQL(tt.pattern, '\\')
		if got != tt.want || ok != tt.ok {
			t.Errorf("LikeToSQL(%q): got %q, %v; want %q, %v", tt.pattern, got, ok, tt.want, tt.ok)
		}
	}
}
