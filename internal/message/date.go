package message

import (
	"net/mail"
	"strings"
	"time"
)

// Date returns the time of the Date header field, zero when it is absent or
// cannot be parsed.
func (m *Message) Date() time.Time { return ParseDate(m.Envelope.Date) }

// ParseDate parses an RFC 5322 §3.3 date-time leniently: besides what
// net/mail accepts, it tolerates a missing day of week, a missing seconds
// field, trailing comments and zone names, single-digit fields and extra
// white space. It returns the zero time when nothing fits.
func ParseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if t, ok := parseCommonDate(v); ok {
		return t
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	// Strip comments and collapse white space, then try common layouts.
	s := scanner{s: v}
	var b strings.Builder
	for !s.done() {
		c := s.s[s.i]
		if c == '(' {
			s.skipComment()
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
		s.i++
	}
	f := strings.Fields(b.String())
	// Drop a day of week ("Mon," or "Mon").
	if len(f) > 0 {
		d := strings.TrimSuffix(f[0], ",")
		if len(d) >= 3 && (d[0] < '0' || d[0] > '9') {
			f = f[1:]
		}
	}
	// Drop a trailing zone name after a numeric zone ("+0100 CET").
	if len(f) >= 6 {
		f = f[:5]
	}
	v = strings.Join(f, " ")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// The two forms nearly every date has, with and without the day of week
// ("Mon, 2 Nov 2026 10:05:00 +0000"). mail.ParseDate tries its layouts
// in a fixed order, each failure allocating an error: 25 attempts, 2.3 µs
// and 72 allocations for the first form, which is its 25th layout.
const (
	dateWithWeekday = "Mon, 2 Jan 2006 15:04:05 -0700"
	dateNoWeekday   = "2 Jan 2006 15:04:05 -0700"
)

// parseCommonDate parses v (trimmed) in one of the two common forms with
// one time.Parse, the first layout of mail.ParseDate that can accept it:
// so when it succeeds, mail.ParseDate returns the same time, in the same
// location (TestParseDateSameAsNetMail). A date of any other shape is not
// parsed here (ok false), and goes to mail.ParseDate.
func parseCommonDate(v string) (time.Time, bool) {
	// The shortest date of either form is dateNoWeekday with a one-digit
	// day, as long as the layout. The numeric zone ends the value:
	// anything after it (a comment, a zone name) takes the general path.
	if len(v) < len(dateNoWeekday) || (v[len(v)-5] != '+' && v[len(v)-5] != '-') {
		return time.Time{}, false
	}
	layout := dateNoWeekday
	if c := v[0]; c < '0' || c > '9' {
		layout = dateWithWeekday
	}
	t, err := time.Parse(layout, v)
	return t, err == nil
}

var dateLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04 MST",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04 -0700",
	"2 Jan 06 15:04:05 MST",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"2 January 2006 15:04:05 -0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02T15:04:05Z07:00",
	"2 Jan 2006",
}
