package main

import (
	"fmt"
	"strings"
	"testing"
)

// feed gives a collector the response lines of one command, each with its
// literals, as client.readLine hands them over.
func feed(f *fetchCollector, lines ...any) {
	for i := 0; i < len(lines); i++ {
		line := lines[i].(string)
		f.c.lits = nil
		for i+1 < len(lines) {
			lit, ok := lines[i+1].([]byte)
			if !ok {
				break
			}
			f.c.lits = append(f.c.lits, lit)
			i++
		}
		f.line([]byte(line))
	}
}

func bodyLine(seq, uid int, body []byte) string {
	return fmt.Sprintf("* %d FETCH (UID %d FLAGS () BODY[] {%d}\r\n)", seq, uid, len(body))
}

// headerLine is a header FETCH response whose ENVELOPE has the subject of
// the header fields h.
func headerLine(seq, uid int, h []byte) string {
	return fmt.Sprintf("* %d FETCH (UID %d FLAGS () ENVELOPE (NIL %q NIL NIL NIL NIL NIL NIL NIL NIL) BODY[HEADER.FIELDS (FROM TO SUBJECT DATE)] {%d}\r\n)", seq, uid, subjectOf(h), len(h))
}

func summaryLine(seq, uid int, msg []byte) string {
	return fmt.Sprintf("* %d FETCH (UID %d FLAGS (\\Seen) RFC822.SIZE %d ENVELOPE (\"Mon, 6 Jan 2025 09:00:00 +0000\" %q ((NIL NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<x@y>\"))",
		seq, uid, len(msg), subjectOf(msg))
}

// TestVerifier: each kind of wrong answer is counted, and right answers,
// another session's flag updates and an EXPUNGEISSUED completion are not.
func TestVerifier(t *testing.T) {
	k := known(20)
	m0, m1, app := k.msgs[0], k.msgs[1], k.msgs[20] // two seeded, one of the APPEND corpus
	corrupt := append([]byte(nil), m1...)
	corrupt[len(corrupt)-3] ^= 1
	cases := []struct {
		name  string
		run   func(v *verifier, f *fetchCollector)
		wrong string // "" when the answers are right
	}{
		{"right body", func(v *verifier, f *fetchCollector) {
			feed(f, "* 3 FETCH (FLAGS (\\Seen))", bodyLine(2, 2, m1), m1, "t1 OK FETCH completed")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, ""},
		{"appended body by UID", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(7, 9, app), app, "t1 OK done")
			v.checkBodies("u", f, []int{9}, true, 0)
		}, ""},
		{"expunged, said so", func(v *verifier, f *fetchCollector) {
			feed(f, "t1 OK [EXPUNGEISSUED] Some messages were expunged")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, ""},
		{"changed body", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(2, 2, corrupt), corrupt, "t1 OK done")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, "none of the messages stored"},
		{"truncated body", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(2, 2, m1[:100]), m1[:100], "t1 OK done")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, "none of the messages stored"},
		{"missing without EXPUNGEISSUED", func(v *verifier, f *fetchCollector) {
			feed(f, "* 2 FETCH (UID 2 FLAGS (\\Deleted))", "t1 OK done")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, "no FETCH response for 2"},
		{"UID shows another message", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(1, 1, m0), m0, "t1 OK done")
			v.checkBodies("u", f, []int{1}, false, 5)
			g := &fetchCollector{c: &client{}}
			feed(g, bodyLine(1, 1, m1), m1, "t2 OK done")
			v.checkBodies("u", g, []int{1}, false, 5)
		}, "UID 1 showed message 0, now message 1"},
		{"beyond EXISTS", func(v *verifier, f *fetchCollector) {
			feed(f, "* 9 FETCH (FLAGS (\\Seen))", bodyLine(2, 2, m1), m1, "t1 OK done")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, "told of 5"},
		{"EXPUNGE during FETCH", func(v *verifier, f *fetchCollector) {
			feed(f, "* 4 EXPUNGE", bodyLine(2, 2, m1), m1, "t1 OK done")
			v.checkBodies("u", f, []int{2}, false, 5)
		}, "EXPUNGE responses during a FETCH"},
		{"EXPUNGE during STORE", func(v *verifier, f *fetchCollector) {
			feed(f, "* 4 EXPUNGE", "t1 OK done")
			v.checkStore("u", f)
		}, "during a STORE"},
		{"right headers", func(v *verifier, f *fetchCollector) {
			h0, h1 := headerFields(m0), headerFields(m1)
			feed(f, headerLine(1, 1, h0), h0, "* 1 FETCH (FLAGS (\\Flagged))", headerLine(2, 2, h1), h1, "t1 OK done")
			v.checkHeaders("u", f, 1, 2, 5)
		}, ""},
		{"headers of another message than the UID's", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(1, 1, m0), m0, "t1 OK done")
			v.checkBodies("u", f, []int{1}, false, 5)
			g := &fetchCollector{c: &client{}}
			h1 := headerFields(m1)
			feed(g, headerLine(1, 1, h1), h1, "t2 OK done")
			v.checkHeaders("u", g, 1, 1, 5)
		}, "are not those of its message 0"},
		{"UIDs out of order", func(v *verifier, f *fetchCollector) {
			h0, h1 := headerFields(m0), headerFields(m1)
			feed(f, headerLine(1, 5, h0), h0, headerLine(2, 3, h1), h1, "t1 OK done")
			v.checkHeaders("u", f, 1, 2, 5)
		}, "has UID 5 but message 2 UID 3"},
		{"answer outside the range", func(v *verifier, f *fetchCollector) {
			h0, h1 := headerFields(m0), headerFields(m1)
			feed(f, headerLine(1, 1, h0), h0, headerLine(3, 3, h1), h1, "t1 OK done")
			v.checkHeaders("u", f, 1, 2, 5)
		}, "answered for message 3"},
		{"right summaries, another session's flag update among them", func(v *verifier, f *fetchCollector) {
			feed(f, summaryLine(1, 1, m0), "* 1 FETCH (FLAGS (\\Seen))", summaryLine(2, 4, m1), "t1 OK done")
			v.checkSummaries("u", f, 1, 2)
		}, ""},
		{"subject in a literal", func(v *verifier, f *fetchCollector) {
			sub := []byte(subjectOf(m1))
			line := fmt.Sprintf("* 1 FETCH (UID 1 FLAGS () RFC822.SIZE %d ENVELOPE (\"Mon, 6 Jan 2025 09:00:00 +0000\" {%d}\r\n NIL NIL NIL NIL NIL NIL NIL NIL))", len(m1), len(sub))
			feed(f, line, sub, "t1 OK done")
			v.checkSummaries("u", f, 1, 1)
		}, ""},
		{"size of another message", func(v *verifier, f *fetchCollector) {
			feed(f, strings.Replace(summaryLine(1, 1, m0), fmt.Sprint(len(m0)), fmt.Sprint(len(m1)), 1), "t1 OK done")
			v.checkSummaries("u", f, 1, 1)
		}, "no stored message has subject"},
		{"summary missing", func(v *verifier, f *fetchCollector) {
			feed(f, summaryLine(1, 1, m0), "t1 OK done")
			v.checkSummaries("u", f, 1, 2)
		}, "no FETCH response for 2"},
		{"ENVELOPE of another message than its header fields", func(v *verifier, f *fetchCollector) {
			h0 := headerFields(m0)
			line := strings.Replace(headerLine(1, 1, h0), fmt.Sprintf("%q", subjectOf(m0)), fmt.Sprintf("%q", subjectOf(m1)), 1)
			feed(f, line, h0, "t1 OK done")
			v.checkHeaders("u", f, 1, 1, 5)
		}, "is not the Subject of its header fields"},
		{"COPYUID that pairs each copy with its source", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(1, 1, m0), m0, bodyLine(2, 2, m1), m1, "t1 OK done")
			v.checkBodies("u", f, []int{1, 2}, false, 5)
			v.checkCopy("u", []byte("t2 OK [COPYUID 77 1:2 8:9] COPY completed"))
			g := &fetchCollector{c: &client{}}
			feed(g, bodyLine(7, 9, m1), m1, "t3 OK done")
			v.checkBodies("u", g, []int{9}, true, 0)
		}, ""},
		{"copy that shows another message than its source", func(v *verifier, f *fetchCollector) {
			feed(f, bodyLine(1, 1, m0), m0, "t1 OK done")
			v.checkBodies("u", f, []int{1}, false, 5)
			v.checkCopy("u", []byte("t2 OK [COPYUID 77 1 8] COPY completed"))
			g := &fetchCollector{c: &client{}}
			feed(g, bodyLine(6, 8, m1), m1, "t3 OK done")
			v.checkBodies("u", g, []int{8}, true, 0)
		}, "UID 8 showed message 0, now message 1"},
		{"COPYUID of uneven sets", func(v *verifier, f *fetchCollector) {
			v.checkCopy("u", []byte("t2 OK [COPYUID 77 1:3 8:9] COPY completed"))
		}, "names 3 source and 2 destination UIDs"},
		{"headers that are no message's", func(v *verifier, f *fetchCollector) {
			h := []byte("Subject: nothing stored\r\n\r\n")
			feed(f, headerLine(1, 1, h), h, "t1 OK done")
			v.checkHeaders("u", f, 1, 1, 5)
		}, "none of a stored message's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(20)
			tc.run(v, &fetchCollector{c: &client{}})
			switch {
			case tc.wrong == "" && v.wrong != 0:
				t.Errorf("%d wrong answers counted; want none (first: %v)", v.wrong, v.first)
			case tc.wrong != "" && v.wrong == 0:
				t.Errorf("no wrong answer counted; want one saying %q", tc.wrong)
			case tc.wrong != "" && !strings.Contains(v.first.Error(), tc.wrong):
				t.Errorf("first wrong answer %q; want it to say %q", v.first, tc.wrong)
			}
		})
	}
}

// TestHeaderFields: what the header FETCH returns of a corpus message.
func TestHeaderFields(t *testing.T) {
	msg := []byte("From: A <a@example.org>\r\nMessage-ID: <x@y>\r\nSubject: hi\r\nDate: Mon, 6 Jan 2025 09:00:00 +0000\r\nTo: B <b@example.com>\r\n\r\nFrom: not a header\r\n")
	want := "From: A <a@example.org>\r\nSubject: hi\r\nDate: Mon, 6 Jan 2025 09:00:00 +0000\r\nTo: B <b@example.com>\r\n\r\n"
	if got := string(headerFields(msg)); got != want {
		t.Errorf("headerFields = %q; want %q", got, want)
	}
}

// TestResponseParsing: the items and literal markers the verifier reads
// from a response line.
func TestResponseParsing(t *testing.T) {
	line := []byte("* 3 FETCH (FLAGS (\\Seen) UID 42 RFC822.SIZE 5120 ENVELOPE (\"d\" {5}\r\n NIL) BODY[] {7}\r\n)")
	for _, c := range []struct {
		item string
		want uint64
		ok   bool
	}{{"UID", 42, true}, {"RFC822.SIZE", 5120, true}, {"MODSEQ", 0, false}, {"SIZE", 0, false}} {
		if n, ok := itemNumber(line, c.item); n != c.want || ok != c.ok {
			t.Errorf("itemNumber(%s) = %d, %v; want %d, %v", c.item, n, ok, c.want, c.ok)
		}
	}
	// An item name inside another's value does not count: only after "("
	// or a space, followed by digits.
	if n, ok := itemNumber([]byte("* 1 FETCH (XUID 9 UID 7)"), "UID"); n != 7 || !ok {
		t.Errorf("itemNumber after XUID = %d, %v; want 7", n, ok)
	}
	if n, ok := itemNumber([]byte(`* 1 FETCH (ENVELOPE ("UID x") UID 8)`), "UID"); n != 8 || !ok {
		t.Errorf("itemNumber after a quoted UID = %d, %v; want 8", n, ok)
	}
	r := fetchResp{line: line, lits: [][]byte{[]byte("subj!"), []byte("message")}}
	if got := string(r.literalAfter("BODY[]")); got != "message" {
		t.Errorf("literalAfter(BODY[]) = %q; want the second literal", got)
	}
	if s, ok := r.envelopeSubject(); s != "subj!" || !ok {
		t.Errorf("envelopeSubject = %q, %v; want the first literal", s, ok)
	}
	if n := literals([]byte("a {x}\r\n b {12}\r\n c {3}")); n != 1 {
		t.Errorf("literals = %d; want 1 (only {digits} then CRLF)", n)
	}
}
