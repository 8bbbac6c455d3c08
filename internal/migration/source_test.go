package migration

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestDecodeMUTF7(t *testing.T) {
	for in, want := range map[string]string{"Entw&APw-rfe": "Entwürfe", "&ZeVnLIqe-": "日本語", "A&-B": "A&B", "plain": "plain"} {
		if got, err := decodeMUTF7(in); err != nil || got != want {
			t.Errorf("decode %q: got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := decodeMUTF7("bad&abc"); err == nil {
		t.Errorf("an unterminated shift: got no error")
	}
}

// TestMapFolders pins the folder mapping: delimiter to "/", special use by
// attribute or well-known name into Gatehouse's defaults (top level only,
// the first of a use only), exclusions with their subfolders.
func TestMapFolders(t *testing.T) {
	defaults := map[string]string{`\Sent`: "Sent", `\Trash`: "Trash", `\Junk`: "Junk", `\Drafts`: "Drafts", `\Archive`: "Archive"}
	list := []*imap.ListData{
		{Mailbox: "INBOX", Delim: '.'},
		{Mailbox: "Sent Messages", Delim: '.', Attrs: []imap.MailboxAttr{imap.MailboxAttrSent}},
		{Mailbox: "Sent Items", Delim: '.'}, // a second \Sent by name stays a folder of its own
		{Mailbox: "Deleted Items", Delim: '.'},
		{Mailbox: "Work.Sent", Delim: '.'},
		{Mailbox: "a/b.c", Delim: '.'},
		{Mailbox: "Old", Delim: '.'},
		{Mailbox: "Old.2019", Delim: '.'},
		{Mailbox: "Shared", Delim: '.', Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}},
	}
	var got []string
	for _, f := range mapFolders(list, []string{"old"}, defaults) {
		got = append(got, f.Name+"→"+f.Target+" "+f.SpecialUse)
	}
	want := []string{"INBOX→INBOX ", `Sent Messages→Sent \Sent`, "Sent Items→Sent Items ", `Deleted Items→Trash \Trash`,
		"Work.Sent→Work/Sent ", "a/b.c→a_b/c "}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
