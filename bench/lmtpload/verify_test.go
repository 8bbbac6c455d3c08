package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stored is what a server keeps of message i: trace fields on top.
func stored(msgs [][]byte, i int) []byte {
	return append([]byte("Return-Path: <bench@example.org>\r\nReceived: from lmtpload.example\r\n\tby test; Sun, 6 Dec 2026 09:00:00 +0000\r\n"), msgs[i]...)
}

// inboxes puts each message where it was sent.
func inboxes(msgs [][]byte) map[string][][]byte {
	got := map[string][][]byte{"christa": {[]byte("Subject: a demo message\r\n\r\nhello\r\n")}}
	for i := range msgs {
		to := recipients[i%len(recipients)]
		got[to] = append(got[to], stored(msgs, i))
	}
	return got
}

// TestCheckLanded: every way a delivery answered 250 can fail to land is
// reported; a right landing (with a demo message beside it, and LF line
// ends as Dovecot's Maildir keeps them) is not.
func TestCheckLanded(t *testing.T) {
	msgs := corpus(20)
	cases := []struct {
		name  string
		spoil func(got map[string][][]byte)
		want  string
	}{
		{"right", func(map[string][][]byte) {}, ""},
		{"right, LF line ends", func(got map[string][][]byte) {
			for u, ms := range got {
				for i, m := range ms {
					got[u][i] = bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n"))
				}
			}
		}, ""},
		{"missing", func(got map[string][][]byte) { got["kim"] = got["kim"][1:] }, "message 1, sent to kim and answered 250, is not in its INBOX"},
		{"twice", func(got map[string][][]byte) { got["ben"] = append(got["ben"], got["ben"][0]) }, "message 2 is twice in ben's INBOX"},
		{"wrong INBOX", func(got map[string][][]byte) {
			got["david"] = append(got["david"], got["pilar"][0])
			got["pilar"] = got["pilar"][1:]
		}, "message 4 landed in david's INBOX; it was sent to pilar"},
		{"truncated", func(got map[string][][]byte) {
			m := got["christa.lee"][0]
			got["christa.lee"][0] = m[:len(m)-10]
		}, "message 5 in christa.lee's INBOX"},
		{"changed", func(got map[string][][]byte) {
			m := bytes.Clone(got["christa"][1])
			m[len(m)-5] ^= 1
			got["christa"][1] = m
		}, "message 0 in christa's INBOX"},
		{"not sent", func(got map[string][][]byte) {
			got["kim"] = append(got["kim"], []byte("Message-ID: <99.lmtpload@example.org>\r\n\r\nx\r\n"))
		}, "Message-ID 99, which was not sent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := inboxes(msgs)
			tc.spoil(got)
			n, err := checkLanded(got, msgs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v; want no error", err)
			case tc.want == "" && n != len(msgs):
				t.Errorf("checked %d; want %d", n, len(msgs))
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestMaildirInboxes reads new/ and cur/ of each recipient's Maildir.
func TestMaildirInboxes(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"mail/kim/Maildir/new/1.a", "mail/kim/Maildir/cur/2.b:2,S", "mail/ben/Maildir/new/3.c"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := maildirInboxes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got["kim"]) != 2 || len(got["ben"]) != 1 || len(got["christa"]) != 0 {
		t.Errorf("got %d, %d, %d messages for kim, ben, christa; want 2, 1, 0", len(got["kim"]), len(got["ben"]), len(got["christa"]))
	}
}
