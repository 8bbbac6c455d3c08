package imap_test

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// transcriptNames stands for values of a transcript that differ from run to
// run but whose identity matters:
//
//   - object ids (RFC 8474), random per run: the first MAILBOXID the server
//     sends becomes <F1>, the next different one <F2>, EMAILIDs <M1>, <M2>…
//     A C: line may name them (SEARCH EMAILID <M1>) and is sent with the
//     real id.
//   - save dates (RFC 8514) and the current day: a SAVEDATE within two
//     minutes of now is shown as "<NOW>"; <TODAY> in a C: line is today's
//     date in UTC (SEARCH SAVEDON <TODAY>).
type transcriptNames struct {
	mu     sync.Mutex
	byID   map[string]string
	byName map[string]string
	count  map[byte]int
}

func newTranscriptNames() *transcriptNames {
	return &transcriptNames{byID: map[string]string{}, byName: map[string]string{}, count: map[byte]int{}}
}

var (
	objectIDRE = regexp.MustCompile(`\(([FM][A-Za-z0-9_-]{20})\)`)
	nameRE     = regexp.MustCompile(`<[FM]\d+>`)
	saveDateRE = regexp.MustCompile(`SAVEDATE "([^"]+)"`)
)

// name replaces the object ids and recent save dates of a line the server
// sent.
func (n *transcriptNames) name(l string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	l = objectIDRE.ReplaceAllStringFunc(l, func(m string) string {
		id := m[1 : len(m)-1]
		name, ok := n.byID[id]
		if !ok {
			n.count[id[0]]++
			name = "<" + string(id[0]) + itoa(n.count[id[0]]) + ">"
			n.byID[id] = name
			n.byName[name] = id
		}
		return "(" + name + ")"
	})
	return saveDateRE.ReplaceAllStringFunc(l, func(m string) string {
		t, err := time.Parse("02-Jan-2006 15:04:05 -0700", saveDateRE.FindStringSubmatch(m)[1])
		if err != nil || time.Since(t).Abs() > 2*time.Minute {
			return m
		}
		return `SAVEDATE "<NOW>"`
	})
}

// unname puts the real ids and today's date into a line to send.
func (n *transcriptNames) unname(l string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	l = strings.ReplaceAll(l, "<TODAY>", time.Now().UTC().Format("2-Jan-2006"))
	return nameRE.ReplaceAllStringFunc(l, func(m string) string {
		if id, ok := n.byName[m]; ok {
			return id
		}
		return m
	})
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
