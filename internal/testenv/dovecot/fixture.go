package dovecot

import (
	"bytes"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The migration fixture: generated mail with flags, keywords, internal
// dates, non-ASCII folder names in a hierarchy, special-use folders, a
// 20 MB message and a malformed one.

// SourceFolders are the folders Seed fills, as Dovecot names them ("."
// is its hierarchy delimiter).
var SourceFolders = []string{"INBOX", "Sent", "Drafts", "Deleted Messages", "Spam", "Entwürfe.Projekt Ä", "Archiv.2024", "日本語"}

// FolderMap maps the fixture's folders, as Take names them ("/"
// delimiter), to Gatehouse's: special-use folders go into Gatehouse's
// default folders of that use.
func FolderMap() map[string]string {
	return map[string]string{
		"INBOX": "INBOX", "Sent": "Sent", "Drafts": "Drafts", "Deleted Messages": "Trash", "Spam": "Junk",
		"Entwürfe/Projekt Ä": "Entwürfe/Projekt Ä", "Archiv/2024": "Archiv/2024", "日本語": "日本語",
	}
}

// FixtureMessage is message i of user, with its flags and internal date.
func FixtureMessage(user string, i int) ([]byte, []imap.Flag, time.Time) {
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.org>\r\nTo: %s@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= %s %d\r\n", i, i, user, user, i)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s.%d@example.org>\r\n\r\n", date.Format(time.RFC1123Z), user, i)
	for j := 0; j < 5+i%40; j++ {
		fmt.Fprintf(&b, "Line %d of message %d for %s, with some text to give it body.\r\n", j, i, user)
	}
	var flags []imap.Flag
	if i%2 == 0 {
		flags = append(flags, imap.FlagSeen)
	}
	if i%5 == 0 {
		flags = append(flags, imap.FlagFlagged)
	}
	if i%7 == 0 {
		flags = append(flags, imap.FlagAnswered, "$Forwarded")
	}
	if i%11 == 0 {
		flags = append(flags, "$Label1", "Projekt")
	}
	return b.Bytes(), flags, date
}

// Malformed must be copied byte-exact: a header line without a colon,
// 8-bit bytes, an unterminated MIME part.
var Malformed = []byte("Subject: broken\r\nthis is not a header\r\nContent-Type: multipart/mixed; boundary=zz\r\n--zz\r\n\xff\xfe caf\xe9 \r\n--zz")

// BigMessage is a 20 MB message.
func BigMessage() []byte {
	big := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678\r\n"), 20_000_000/74)
	return append([]byte("Subject: big\r\nContent-Type: text/plain\r\n\r\n"), big...)
}

// Seed appends n fixture messages to user's folders (spread over
// SourceFolders, starting at folder offset), and with big the 20 MB
// message and the malformed one to INBOX.
func (s *Source) Seed(t testing.TB, user string, n, offset int, big bool) {
	t.Helper()
	c := s.Dial(t, user)
	defer func() { c.Logout().Wait() }()
	for i := 0; i < n; i++ {
		raw, flags, date := FixtureMessage(user, i)
		Append(t, c, SourceFolders[(i+offset)%len(SourceFolders)], raw, flags, date)
	}
	if big {
		Append(t, c, "INBOX", BigMessage(), []imap.Flag{imap.FlagSeen}, time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC))
		Append(t, c, "INBOX", Malformed, nil, time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC))
	}
}

// Compare checks that every folder of src is in got under its name in
// folderMap, with the same messages (content hash, size, flags and
// keywords, internal date to the second); skipped messages may be
// missing. It returns how many messages it compared.
func Compare(t testing.TB, user string, src, got Snapshot, folderMap map[string]string, skipped int) int {
	t.Helper()
	n, missing := 0, 0
	for name, want := range src {
		target, ok := folderMap[name]
		if !ok {
			t.Errorf("%s: source folder %q has no expected target", user, name)
			continue
		}
		have, ok := got[target]
		if !ok {
			var k []string
			for n := range got {
				k = append(k, n)
			}
			sort.Strings(k)
			t.Errorf("%s: folder %q (from %q) missing in Gatehouse; have %v", user, target, name, k)
			continue
		}
		if len(want) == len(have) {
			for i := range want {
				if want[i].String() != have[i].String() {
					t.Errorf("%s/%s message %d: got %s; want %s", user, target, i, have[i], want[i])
				}
			}
		} else {
			missing += len(want) - len(have)
		}
		n += len(have)
	}
	if missing != skipped {
		t.Errorf("%s: %d messages fewer in Gatehouse than at the source; want %d (the skipped ones)", user, missing, skipped)
	}
	return n
}
