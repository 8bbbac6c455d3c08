package imap

import (
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

func TestAddressText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a@b.example", "a@b.example"},
		{`"Doe, Jane" <jane@x.example>`, "Doe, Jane <jane@x.example>"},
		{"=?utf-8?q?J=C3=BCrgen?= <jm@example.de>, c@d", "Jürgen <jm@example.de>, c@d"},
		{"groupname: a@b.example, Carl <c@d.example>;, solo@e.example", "groupname: a@b.example, Carl <c@d.example>;, solo@e.example"},
		{"undisclosed-recipients:;", "undisclosed-recipients:;"},
		{"pat@old.example (Pat)", "Pat <pat@old.example>"},
		{"<@route.example:routed@r.example>", "<@route.example:routed@r.example>"},
		{"", ""},
	} {
		if got := addressText(message.ParseAddressList(tc.in)); got != tc.want {
			t.Errorf("addressText(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestSentDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		date string
		on   time.Time
	}{
		{"Tue, 2 Jan 2024 00:30:00 +1400", day(2024, 1, 2)},
		{"Mon, 1 Jan 2024 23:30:00 -1200", day(2024, 1, 1)},
		{"1 Jan 2024 23:59 EST", day(2024, 1, 1)},
		{"Mon, 7 Feb 1994 21:52:25 -0800 (PST)", day(1994, 2, 7)},
		{"", day(1970, 1, 1)},
		{"not a date", day(1970, 1, 1)},
	} {
		m := &message.Message{Envelope: message.Envelope{Date: tc.date}}
		if got := sentDate(m); !compareDate(1, got, tc.on) {
			t.Errorf("sentDate(%q) = %v; want on %s", tc.date, got, tc.on.Format("2-Jan-2006"))
		}
	}
}
