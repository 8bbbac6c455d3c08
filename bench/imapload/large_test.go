package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// envelopeLine is a "UID FETCH (UID FLAGS ENVELOPE)" answer for a message
// with the given subject and Message-ID number.
func envelopeLine(uid int, subject string, id int) string {
	return fmt.Sprintf(`* %d FETCH (UID %d FLAGS () ENVELOPE ("Mon, 4 Mar 2024 10:00:00 +0000" %q (("Sender 1" NIL "s1" "example.com")) NIL NIL NIL NIL NIL NIL "<large-%d@example.com>"))`,
		uid, uid, subject, id)
}

// TestLargeAnswers feeds the large comparison's checks right answers and
// each kind of wrong one.
func TestLargeAnswers(t *testing.T) {
	type line struct {
		l   string
		lit []byte
	}
	run := func(set func(a *largeAnswers), lines ...line) error {
		c := &client{}
		a := newLargeAnswers(c, 10, 20)
		set(a)
		for _, l := range lines {
			c.lits = nil
			if l.lit != nil {
				c.lits = [][]byte{l.lit}
			}
			a.line([]byte(l.l))
		}
		return a.err
	}
	env := func(a *largeAnswers) { a.envelope = true }
	body := func(a *largeAnswers) { a.body = true }
	needle := func(a *largeAnswers) { a.envelope, a.needleAll = true, true }
	bodyLine := func(uid int, b []byte) line {
		return line{fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}\r\n)", uid, uid, len(b)), b}
	}
	changed := bytes.Replace(largeMessage(7), []byte("Body of"), []byte("Body on"), 1)
	for _, c := range []struct {
		name  string
		set   func(*largeAnswers)
		lines []line
		want  string // "" for right answers
	}{
		{"right envelopes", env, []line{{envelopeLine(10, largeSubject(3), 3), nil}, {envelopeLine(11, largeSubject(2000), 2000), nil}, {"* 5 EXISTS", nil}}, ""},
		{"right bodies", body, []line{bodyLine(12, largeMessage(7)), bodyLine(13, largeMessage(0))}, ""},
		{"needle hits", needle, []line{{envelopeLine(15, largeSubject(1000), 1000), nil}}, ""},
		{"another message's subject", env, []line{{envelopeLine(10, largeSubject(4), 3), nil}}, "not that of a stored message"},
		{"no Message-ID", env, []line{{strings.Replace(envelopeLine(10, largeSubject(3), 3), "<large-3@", "<other-3@", 1), nil}}, "not that of a stored message"},
		{"UID outside the range", env, []line{{envelopeLine(21, largeSubject(3), 3), nil}}, "without a UID in 10:20"},
		{"no UID", env, []line{{"* 10 FETCH (FLAGS ())", nil}}, "without a UID"},
		{"UID twice", env, []line{{envelopeLine(10, largeSubject(3), 3), nil}, {envelopeLine(10, largeSubject(4), 4), nil}}, "answered twice"},
		{"message for two UIDs", env, []line{{envelopeLine(10, largeSubject(3), 3), nil}, {envelopeLine(11, largeSubject(3), 3), nil}}, "for two UIDs"},
		{"changed body", body, []line{bodyLine(12, changed)}, "not a stored message"},
		{"cut body", body, []line{bodyLine(12, largeMessage(7)[:40])}, "not a stored message"},
		{"hit without the word", needle, []line{{envelopeLine(15, largeSubject(999), 999), nil}}, "found by SEARCH"},
	} {
		err := run(c.set, c.lines...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v; want no error", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v; want an error with %q", c.name, err, c.want)
		}
	}
}
