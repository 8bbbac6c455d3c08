package message

import (
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"
)

// crlf turns the LF line ends of a test literal into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"\n", "\r\n"},
		{"a\r\nb\nc", "a\r\nb\r\nc"},
		{"a\rb", "a\rb"},
		{"\r\n\n\r\r\n", "\r\n\r\n\r\r\n"},
		// The body of a binary part is data: its octets stay as they are.
		{"Content-Transfer-Encoding: binary\n\na\nb\r", "Content-Transfer-Encoding: binary\r\n\r\na\nb\r"},
		{"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: BINARY\n\n\n1\n--b\n\nt\nx\n--b--\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: BINARY\r\n\r\n\n1\r\n--b\r\n\r\nt\r\nx\r\n--b--\r\n"},
		// So is content with NUL, whatever its label, and raw data with no header.
		{"Subject: x\n\n\x00a\nb", "Subject: x\r\n\r\n\x00a\nb"},
		{"\x00\x01\n\xff", "\x00\x01\n\xff"},
	}
	for _, tt := range tests {
		got := Normalize([]byte(tt.in))
		if string(got) != tt.want {
			t.Errorf("Normalize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	in := []byte("unchanged\r\n")
	if got := Normalize(in); &got[0] != &in[0] {
		t.Errorf("Normalize of a CRLF message copied it; want the input itself")
	}
}

const simple = `Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu.example
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
`

func TestParseSimple(t *testing.T) {
	raw := crlf(simple)
	m := Parse(raw)
	if got, want := m.Subject(), "afternoon meeting"; got != want {
		t.Errorf("Subject = %q; want %q", got, want)
	}
	if got, want := m.From(), "Fred Foobar <foobar@Blurdybloop.example>"; got != want {
		t.Errorf("From = %q; want %q", got, want)
	}
	if got, want := m.To(), "mooch@owatagu.siam.edu.example"; got != want {
		t.Errorf("To = %q; want %q", got, want)
	}
	if got := m.Cc(); got != "" {
		t.Errorf("Cc = %q; want empty", got)
	}
	want := time.Date(1994, 2, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600))
	if got := m.Date(); !got.Equal(want) {
		t.Errorf("Date = %v; want %v", got, want)
	}
	r := m.Root
	if r.Type != "text" || r.Subtype != "plain" {
		t.Errorf("type = %s/%s; want text/plain", r.Type, r.Subtype)
	}
	if !reflect.DeepEqual(r.Params, []Param{{"charset", "US-ASCII"}}) {
		t.Errorf("params = %v; want [{charset US-ASCII}]", r.Params)
	}
	body := "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
	if got := string(raw[r.BodyStart:r.End]); got != body {
		t.Errorf("body = %q; want %q", got, body)
	}
	if !strings.HasSuffix(string(raw[r.HeaderStart:r.BodyStart]), "US-ASCII\r\n\r\n") {
		t.Errorf("header does not end with the empty line: %q", raw[r.HeaderStart:r.BodyStart])
	}
	if r.Lines != 1 || r.Size() != int64(len(body)) || r.Encoding != "7bit" {
		t.Errorf("lines, size, encoding = %d, %d, %q; want 1, %d, 7bit", r.Lines, r.Size(), r.Encoding, len(body))
	}
	if m.Envelope.MessageID != "<B27397-0100000@Blurdybloop.example>" {
		t.Errorf("Message-ID = %q", m.Envelope.MessageID)
	}
	if m.Envelope.Date != "Mon, 7 Feb 1994 21:52:25 -0800 (PST)" {
		t.Errorf("raw Date = %q", m.Envelope.Date)
	}
	if p := m.Part([]int{1}); p != &m.Root {
		t.Errorf("Part(1) of a single-part message is not the root")
	}
	if p := m.Part([]int{2}); p != nil {
		t.Errorf("Part(2) of a single-part message = %v; want nil", p)
	}
}

const nested = `From: a@example.com
Subject: =?ISO-8859-1?Q?Caf=E9?= and =?UTF-8?B?8J+Yig==?=
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

plain text
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>html</p>
--inner--
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"
Content-Description: forwarded

From: "Doe, John" <john@example.org>
To: undisclosed-recipients:;
Subject: inner

inner body
two lines
--outer
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-ID: <id1@x>
Content-Language: en, de
Content-Location: http://x/y
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==

AAEC
--outer--
epilogue
`

func TestParseNested(t *testing.T) {
	raw := crlf(nested)
	m := Parse(raw)
	if got, want := m.Subject(), "Café and 😊"; got != want {
		t.Errorf("Subject = %q; want %q", got, want)
	}
	part := func(path ...int) *Part {
		t.Helper()
		p := m.Part(path)
		if p == nil {
			t.Fatalf("Part(%v) = nil", path)
		}
		return p
	}
	body := func(p *Part) string { return string(raw[p.BodyStart:p.End]) }
	hdr := func(p *Part) string { return string(raw[p.HeaderStart:p.BodyStart]) }

	if r := m.Root; r.Type != "multipart" || r.Subtype != "mixed" || len(r.Parts) != 3 {
		t.Fatalf("root = %s/%s with %d parts; want multipart/mixed with 3", r.Type, r.Subtype, len(r.Parts))
	}
	tests := []struct {
		path          []int
		typ, sub      string
		body          string
		headerSuffix  string
		encoding      string
		lines         int64
		childrenCount int
	}{
		{[]int{1}, "multipart", "alternative", "", "boundary=inner\r\n\r\n", "7bit", 0, 2},
		{[]int{1, 1}, "text", "plain", "plain text", "charset=utf-8\r\n\r\n", "7bit", 1, 0},
		{[]int{1, 2}, "text", "html", "<p>html</p>", "quoted-printable\r\n\r\n", "quoted-printable", 1, 0},
		{[]int{2}, "message", "rfc822", "From: \"Doe, John\" <john@example.org>\r\nTo: undisclosed-recipients:;\r\nSubject: inner\r\n\r\ninner body\r\ntwo lines", "forwarded\r\n\r\n", "7bit", 6, 0},
		{[]int{2, 1}, "text", "plain", "inner body\r\ntwo lines", "Subject: inner\r\n\r\n", "7bit", 2, 0},
		{[]int{3}, "application", "octet-stream", "AAEC", "==\r\n\r\n", "base64", 1, 0},
	}
	for _, tt := range tests {
		p := part(tt.path...)
		if p.Type != tt.typ || p.Subtype != tt.sub {
			t.Errorf("%v: type %s/%s; want %s/%s", tt.path, p.Type, p.Subtype, tt.typ, tt.sub)
		}
		if tt.body != "" && body(p) != tt.body {
			t.Errorf("%v: body %q; want %q", tt.path, body(p), tt.body)
		}
		if !strings.HasSuffix(hdr(p), tt.headerSuffix) {
			t.Errorf("%v: header %q; want suffix %q", tt.path, hdr(p), tt.headerSuffix)
		}
		if p.Encoding != tt.encoding {
			t.Errorf("%v: encoding %q; want %q", tt.path, p.Encoding, tt.encoding)
		}
		if tt.lines != 0 && p.Lines != tt.lines {
			t.Errorf("%v: lines %d; want %d", tt.path, p.Lines, tt.lines)
		}
		if len(p.Parts) != tt.childrenCount {
			t.Errorf("%v: %d children; want %d", tt.path, len(p.Parts), tt.childrenCount)
		}
	}
	if p := m.Part([]int{2, 2}); p != nil {
		t.Errorf("Part(2.2) = %v; want nil", p)
	}
	if p := m.Part([]int{4}); p != nil {
		t.Errorf("Part(4) = %v; want nil", p)
	}

	fwd := part(2)
	if fwd.Disposition != "attachment" || !reflect.DeepEqual(fwd.DispositionParams, []Param{{"filename", "fwd.eml"}}) {
		t.Errorf("disposition = %q %v", fwd.Disposition, fwd.DispositionParams)
	}
	if fwd.Description != "forwarded" {
		t.Errorf("description = %q", fwd.Description)
	}
	if fwd.Envelope == nil || fwd.Inner == nil {
		t.Fatalf("message/rfc822 part without envelope or inner part")
	}
	wantFrom := []Address{{Name: "Doe, John", Mailbox: "john", Host: "example.org"}}
	if !reflect.DeepEqual(fwd.Envelope.From, wantFrom) {
		t.Errorf("inner From = %+v; want %+v", fwd.Envelope.From, wantFrom)
	}
	wantTo := []Address{{Kind: AddrGroupStart, Mailbox: "undisclosed-recipients"}, {Kind: AddrGroupEnd}}
	if !reflect.DeepEqual(fwd.Envelope.To, wantTo) {
		t.Errorf("inner To = %+v; want %+v", fwd.Envelope.To, wantTo)
	}
	if got := hdr(fwd.Inner); !strings.HasPrefix(got, "From: \"Doe") || !strings.HasSuffix(got, "inner\r\n\r\n") {
		t.Errorf("inner header = %q", got)
	}

	att := part(3)
	if att.ID != "<id1@x>" || att.Location != "http://x/y" || att.MD5 != "Q2hlY2sgSW50ZWdyaXR5IQ==" ||
		!reflect.DeepEqual(att.Language, []string{"en", "de"}) {
		t.Errorf("part 3 fields: id %q location %q md5 %q language %v", att.ID, att.Location, att.MD5, att.Language)
	}
	if got := body(&m.Root); !strings.HasPrefix(got, "preamble\r\n") || !strings.HasSuffix(got, "epilogue\r\n") {
		t.Errorf("root body = %q", got)
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		typ      string // type/subtype of the root
		parts    int
		lastBody string // body of the last child, when parts > 0
	}{
		{"empty", "", "text/plain", 0, ""},
		{"header only", "Subject: x\n", "text/plain", 0, ""},
		{"no header", "\nbody\n", "text/plain", 0, ""},
		{"multipart without boundary", "Content-Type: multipart/mixed\n\nbody\n", "text/plain", 0, ""},
		{"multipart without delimiter", "Content-Type: multipart/mixed; boundary=b\n\nbody\n", "text/plain", 0, ""},
		{"missing close delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n", "multipart/mixed", 2, "two\r\n"},
		{"longer boundary is not ours", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b--\n", "multipart/mixed", 1, "--bb"},
		{"transport padding", "Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--b--\n", "multipart/mixed", 1, "one"},
		{"bad content type", "Content-Type: garbage\n\nx\n", "text/plain", 0, ""},
		{"empty parts", "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n--b--\n", "multipart/mixed", 2, ""},
		{"digest default", "Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: in\n\nx\n--b--\n", "multipart/digest", 1, "Subject: in\r\n\r\nx"},
		{"bare LF", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n", "multipart/mixed", 1, "one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := crlf(tt.raw)
			if tt.name == "bare LF" {
				raw = []byte(tt.raw)
				tt.lastBody = strings.TrimSuffix(tt.lastBody, "\r\n")
			}
			m := Parse(raw)
			if got := m.Root.Type + "/" + m.Root.Subtype; got != tt.typ {
				t.Errorf("root type %s; want %s", got, tt.typ)
			}
			if len(m.Root.Parts) != tt.parts {
				t.Fatalf("%d parts; want %d", len(m.Root.Parts), tt.parts)
			}
			if tt.parts > 0 {
				last := m.Root.Parts[tt.parts-1]
				if got := string(raw[last.BodyStart:last.End]); got != tt.lastBody {
					t.Errorf("last body %q; want %q", got, tt.lastBody)
				}
			}
			if m.Root.End != int64(len(raw)) {
				t.Errorf("root end %d; want %d", m.Root.End, len(raw))
			}
		})
	}
}

func TestParseDeepNesting(t *testing.T) {
	var b strings.Builder
	const depth = 200
	for i := 0; i < depth; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\r\n\r\n--b" + strings.Repeat("x", i) + "\r\n")
	}
	b.WriteString("\r\nleaf\r\n")
	m := Parse([]byte(b.String()))
	depthSeen := 0
	for p := &m.Root; len(p.Parts) > 0; p = &p.Parts[0] {
		depthSeen++
	}
	if depthSeen > maxDepth {
		t.Errorf("nesting %d; want at most %d", depthSeen, maxDepth)
	}
	roundTrip(t, m)
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
		text string
	}{
		{"a@b.c", []Address{{Mailbox: "a", Host: "b.c"}}, "a@b.c"},
		{"John Doe <john.doe@x.org>", []Address{{Name: "John Doe", Mailbox: "john.doe", Host: "x.org"}}, "John Doe <john.doe@x.org>"},
		{`"Doe, J." <j@x>, k@y (Kay)`, []Address{{Name: "Doe, J.", Mailbox: "j", Host: "x"}, {Name: "Kay", Mailbox: "k", Host: "y"}}, "Doe, J. <j@x>, Kay <k@y>"},
		{"John Q. Public <jqp@x>", []Address{{Name: "John Q. Public", Mailbox: "jqp", Host: "x"}}, "John Q. Public <jqp@x>"},
		{"=?UTF-8?Q?J=C3=B6rg?= <j@x>", []Address{{Name: "=?UTF-8?Q?J=C3=B6rg?=", Mailbox: "j", Host: "x"}}, "Jörg <j@x>"},
		{"team: a@x, B <b@y>;, c@z", []Address{
			{Kind: AddrGroupStart, Mailbox: "team"}, {Mailbox: "a", Host: "x"}, {Name: "B", Mailbox: "b", Host: "y"},
			{Kind: AddrGroupEnd}, {Mailbox: "c", Host: "z"},
		}, "a@x, B <b@y>, c@z"},
		{"<@r1,@r2:u@h>", []Address{{Adl: "@r1,@r2", Mailbox: "u", Host: "h"}}, "u@h"},
		{"<>", []Address{{Mailbox: missingMailbox, Host: missingDomain}}, missingMailbox + "@" + missingDomain},
		{"nobody", []Address{{Mailbox: "nobody", Host: missingDomain}}, "nobody@" + missingDomain},
		{`"quoted local"@x`, []Address{{Mailbox: "quoted local", Host: "x"}}, "quoted local@x"},
		{"u@[127.0.0.1]", []Address{{Mailbox: "u", Host: "[127.0.0.1]"}}, "u@[127.0.0.1]"},
		{"", nil, ""},
		{" , ,", nil, ""},
		{"<user-from (comment)@ (comment) domain.org>", []Address{{Mailbox: "user-from", Host: "domain.org"}}, "user-from@domain.org"},
		{"a@ (c1) b. (c2) example (Name)", []Address{{Name: "Name", Mailbox: "a", Host: "b.example"}}, "Name <a@b.example>"},
		{"open group: a@b", []Address{{Kind: AddrGroupStart, Mailbox: "open group"}, {Mailbox: "a", Host: "b"}, {Kind: AddrGroupEnd}}, "a@b"},
	}
	for _, tt := range tests {
		got := ParseAddressList(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddressList(%q) = %+v; want %+v", tt.in, got, tt.want)
		}
		if text := FormatAddresses(got); text != tt.text {
			t.Errorf("FormatAddresses(%q) = %q; want %q", tt.in, text, tt.text)
		}
	}
}

func TestDecodeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?iso-8859-1?q?p=F6stal?=", "pöstal"},
		{"=?windows-1252?Q?=80uro?=", "€uro"},
		{"=?koi8-r?B?8NLJ18XU?=", "Привет"},
		{"=?unknown-charset?Q?x?=", "=?unknown-charset?Q?x?="},
		{"=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"nul\x00byte", "nulbyte"},
	}
	for _, tt := range tests {
		if got := DecodeText(tt.in); got != tt.want {
			t.Errorf("DecodeText(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"Mon, 7 Feb 1994 21:52:25 -0800 (PST)", utc(1994, 2, 8, 5, 52, 25)},
		{"7 Feb 1994 21:52:25 +0000", utc(1994, 2, 7, 21, 52, 25)},
		{"Mon, 07 Feb 1994 21:52 +0000", utc(1994, 2, 7, 21, 52, 0)},
		{"Mon,  7 Feb 1994 21:52:25 +0100 (CET)", utc(1994, 2, 7, 20, 52, 25)},
		{"Mon, 7 Feb 94 21:52:25 GMT", utc(1994, 2, 7, 21, 52, 25)},
		{"Monday, 7 Feb 1994 21:52:25 +0000 CET", utc(1994, 2, 7, 21, 52, 25)},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		got := ParseDate(tt.in)
		if !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestFilterHeader(t *testing.T) {
	hdr := crlf("From: a@b\nSubject: one\n two\nTo: c@d\nX-Other: y\n\n")
	tests := []struct {
		names []string
		not   bool
		want  string
	}{
		{[]string{"subject"}, false, "Subject: one\r\n two\r\n\r\n"},
		{[]string{"FROM", "to"}, false, "From: a@b\r\nTo: c@d\r\n\r\n"},
		{[]string{"subject", "x-other"}, true, "From: a@b\r\nTo: c@d\r\n\r\n"},
		{[]string{"missing"}, false, "\r\n"},
	}
	for _, tt := range tests {
		if got := string(FilterHeader(hdr, tt.names, tt.not)); got != tt.want {
			t.Errorf("FilterHeader(%v, not=%v) = %q; want %q", tt.names, tt.not, got, tt.want)
		}
	}
}

func TestSenderDefaults(t *testing.T) {
	m := Parse(crlf("From: a@b\nSender:\nReply-To: r@s\n\nx\n"))
	if m.Envelope.Sender != nil {
		t.Errorf("empty Sender parsed as %+v; want nil", m.Envelope.Sender)
	}
	if got := FormatAddresses(m.Envelope.ReplyTo); got != "r@s" {
		t.Errorf("Reply-To = %q; want r@s", got)
	}
}

func roundTrip(t *testing.T, m *Message) {
	t.Helper()
	b := m.Marshal()
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal(m)): %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("Unmarshal(Marshal(m)) = %+v; want %+v", got, m)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, raw := range []string{simple, nested, "", "x", "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b--\n"} {
		roundTrip(t, Parse(crlf(raw)))
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	good := Parse(crlf(nested)).Marshal()
	for i := range good {
		if _, err := Unmarshal(good[:i]); err == nil {
			t.Errorf("Unmarshal of %d of %d bytes succeeded; want an error", i, len(good))
		}
	}
	if _, err := Unmarshal(append([]byte{2}, good[1:]...)); err == nil {
		t.Errorf("Unmarshal of version 2 succeeded; want an error")
	}
	if _, err := Unmarshal(append(good, 0)); err == nil {
		t.Errorf("Unmarshal with a trailing byte succeeded; want an error")
	}
}

func TestMarshalCompact(t *testing.T) {
	b := Parse(crlf(simple)).Marshal()
	// The envelope strings alone take about 170 bytes.
	if len(b) > 260 {
		t.Errorf("Marshal of a simple message takes %d bytes; want at most 260", len(b))
	}
}

// TestHeaderlessContent: content whose first line is no header field is all
// body, so BODY[1] of raw data appended without a header is the data.
func TestHeaderlessContent(t *testing.T) {
	tests := []struct {
		in        string
		bodyStart int64
	}{
		{"\x00\x01bin\nmore", 0},
		{"just text\r\n\r\nafter", 0},
		{"Subject: x\r\n\r\nbody", 14},
		{"Subject : x\r\n\r\nbody", 15},
		{"From someone Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nbody", 53},
		{"\r\nbody", 2},
		{"Subject: only a header", 22},
	}
	for _, tt := range tests {
		if got := Parse([]byte(tt.in)).Root.BodyStart; got != tt.bodyStart {
			t.Errorf("Parse(%q): body starts at %d; want %d", tt.in, got, tt.bodyStart)
		}
	}
}

// TestParseDateSameAsNetMail: every date the one-layout path (parseCommonDate)
// takes comes out as mail.ParseDate makes it, instant and location alike,
// including an offset that is the local zone's (time.Parse then gives Local);
// dates of other shapes are left to mail.ParseDate.
func TestParseDateSameAsNetMail(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("CET", 3600)
	var taken, left int
	for _, wd := range []string{"", "Mon, ", "Sun, ", "Thu, "} {
		for _, day := range []string{"1", "01", "9", "28", "31", "32", "0"} {
			for _, mon := range []string{"Jan", "Feb", "Dec", "Foo"} {
				for _, year := range []string{"2026", "1994", "94", "12026"} {
					for _, tm := range []string{"10:05:00", "23:59:60", "10:05", "7:05:00", "25:00:00"} {
						for _, zone := range []string{"+0000", "-0700", "+0100", "+0530", "+2400", "GMT", "+0100 (CET)", "-0000"} {
							v := wd + day + " " + mon + " " + year + " " + tm + " " + zone
							fast, ok := parseCommonDate(v)
							want, err := mail.ParseDate(v)
							if !ok {
								left++
								continue
							}
							taken++
							if err != nil {
								t.Errorf("parseCommonDate(%q) = %v; mail.ParseDate fails: %v", v, fast, err)
								continue
							}
							if !fast.Equal(want) || fast.Location().String() != want.Location().String() || fast.Format(time.RFC3339) != want.Format(time.RFC3339) {
								t.Errorf("parseCommonDate(%q) = %v (%s); mail.ParseDate = %v (%s)", v, fast, fast.Location(), want, want.Location())
							}
							if got := ParseDate(v); !got.Equal(want) {
								t.Errorf("ParseDate(%q) = %v; want %v", v, got, want)
							}
						}
					}
				}
			}
		}
	}
	if taken == 0 || left == 0 {
		t.Fatalf("%d dates took the one-layout path, %d the general one; want both", taken, left)
	}
}

func BenchmarkParseDate(b *testing.B) {
	for _, v := range []string{"Mon, 2 Nov 2026 10:05:00 +0000", "2 Nov 2026 10:05:00 +0100 (CET)"} {
		b.Run(v, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ParseDate(v)
			}
		})
	}
}
