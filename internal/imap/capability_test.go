package imap_test

import (
	"strings"
	"testing"
)

// TestCapabilityList is the one place the whole capability list is
// spelled out (transcripts replace the extensions with <EXTENSIONS>):
// before login with the mechanisms, after login with COMPRESS.
func TestCapabilityList(t *testing.T) {
	const extensions = "LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE " +
		"LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY CONDSTORE QRESYNC SORT UTF8=ACCEPT WITHIN " +
		"MULTIAPPEND CATENATE URL-PARTIAL ESORT PARTIAL SORT=DISPLAY CONTEXT=SEARCH CONTEXT=SORT NOTIFY SAVEDATE OBJECTID PREVIEW THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS QUOTA QUOTA=RES-STORAGE"
	e := newEnv(t, envOptions{})
	c := dialRaw(t, e.addr)
	greeting := c.line()
	want := "IMAP4rev1 IMAP4rev2 " + extensions + " APPENDLIMIT=67108864 STARTTLS AUTH=PLAIN AUTH=LOGIN"
	if !strings.Contains(greeting, "[CAPABILITY "+want+"]") {
		t.Errorf("greeting %q\nwant capabilities %q", greeting, want)
	}
	got := c.cmd("a", "CAPABILITY")
	if len(got) != 2 || got[0] != "* CAPABILITY "+want {
		t.Errorf("CAPABILITY before login: %q\nwant %q", got, want)
	}
	got = c.cmd("b", "LOGIN alice pw-alice")
	want = "IMAP4rev1 IMAP4rev2 " + extensions + " COMPRESS=DEFLATE APPENDLIMIT=67108864"
	if !strings.HasPrefix(got[len(got)-1], "b OK [CAPABILITY "+want+"] ") {
		t.Errorf("LOGIN: %q\nwant capabilities %q", got, want)
	}
}
