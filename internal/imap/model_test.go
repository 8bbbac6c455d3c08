package imap_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestModelConcurrentSessions runs several sessions on one mailbox through
// the whole server, each doing random APPEND, STORE, EXPUNGE, MOVE, COPY,
// FETCH and SEARCH, and checks every response against a model:
//
//   - what each session must see: sequence numbers move only by the EXISTS
//     and EXPUNGE it was sent (never during FETCH, STORE or SEARCH, RFC 9051
//     §7.5.1), a sequence number keeps its UID, UIDs ascend with sequence
//     numbers, and at the end its view equals the mailbox;
//   - what every FETCH item says: the body, each header section, the size
//     and the structure's size are those of the message appended with that
//     UID's subject (each message is unique, so nothing another message's
//     or invented passes); MODSEQ never goes back for a UID.
//
// It runs for a few seconds per engine in CI; GATEHOUSE_MODEL_SECONDS runs
// it longer by hand.
func TestModelConcurrentSessions(t *testing.T) {
	seconds := 3.0
	if v, err := strconv.ParseFloat(os.Getenv("GATEHOUSE_MODEL_SECONDS"), 64); err == nil && v > 0 {
		seconds = v
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && testing.Short() {
				t.Skip("SKIPPED in -short mode: PostgreSQL")
			}
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres",
				Configure: func(c *config.Config) { c.BodyGrace = config.Duration(time.Millisecond) }})
			runModel(t, e.Addr("imap"), 4, time.Duration(seconds*float64(time.Second)))
		})
	}
}

// corpus is every message any session appended, by token.
type corpus struct {
	mu   sync.Mutex
	msgs map[string]string
	next atomic.Int64
}

func (c *corpus) make(rnd *rand.Rand) (token, raw string) {
	token = fmt.Sprintf("t%06d", c.next.Add(1))
	size := []int{100, 3000, 70 << 10, 300 << 10}[rnd.IntN(4)]
	if rnd.IntN(20) == 0 {
		size = 1<<20 + 4096 // streamed, over the in-memory limit
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\r\nFrom: s%s@example.com\r\nMessage-ID: <%s@example.com>\r\n", token, token, token)
	if rnd.IntN(2) == 0 {
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b-" + token + "\"\r\n\r\n")
		fmt.Fprintf(&b, "--b-%s\r\nContent-Type: text/plain\r\n\r\nfirst part of %s\r\n", token, token)
		fmt.Fprintf(&b, "--b-%s\r\nContent-Type: application/octet-stream\r\n\r\n", token)
		for b.Len() < size {
			fmt.Fprintf(&b, "%s line %d\r\n", token, b.Len())
		}
		fmt.Fprintf(&b, "--b-%s--\r\n", token)
	} else {
		b.WriteString("\r\n")
		for b.Len() < size {
			fmt.Fprintf(&b, "%s line %d\r\n", token, b.Len())
		}
	}
	raw = b.String()
	c.mu.Lock()
	c.msgs[token] = raw
	c.mu.Unlock()
	return token, raw
}

func (c *corpus) get(token string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, ok := c.msgs[token]
	return raw, ok
}

// modelSession is one client connection and what it must see.
type modelSession struct {
	t      *testing.T
	id     int
	nc     net.Conn
	r      *bufio.Reader
	tag    int
	uids   []uint32 // by sequence number - 1; 0 while unknown
	modseq map[uint32]uint64
	errs   []string
}

func (s *modelSession) failf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf("session %d: ", s.id)+fmt.Sprintf(format, args...))
}

var modelLiteralRE = regexp.MustCompile(`~?\{(\d+)\}$`)

func (s *modelSession) read() (string, error) {
	s.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := s.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimSuffix(l, "\r\n")
	for {
		m := modelLiteralRE.FindStringSubmatch(l)
		if m == nil {
			return l, nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(s.r, buf); err != nil {
			return "", err
		}
		rest, err := s.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		l += string(buf) + strings.TrimSuffix(rest, "\r\n")
	}
}

// command sends a command (with an optional literal after a "{n+}" ending)
// and applies and checks every response; fixed says that sequence numbers
// may not move during it (FETCH, STORE, SEARCH: no EXPUNGE may be sent).
func (s *modelSession) command(cmd string, literal string, fixed bool, c *corpus) (tagged string, untagged []string) {
	s.tag++
	tag := fmt.Sprintf("m%d", s.tag)
	line := tag + " " + cmd + "\r\n"
	if literal != "" {
		line += literal + "\r\n"
	}
	if _, err := s.nc.Write([]byte(line)); err != nil {
		s.failf("write %s: %v", cmd, err)
		return "", nil
	}
	for {
		l, err := s.read()
		if err != nil {
			s.failf("read after %s: %v", cmd, err)
			return "", untagged
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				s.failf("%s: %s", cmd, l)
			}
			return l, untagged
		}
		untagged = append(untagged, l)
		s.apply(l, cmd, fixed, c)
	}
}

var (
	existsRE  = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	expungeRE = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	fetchRE   = regexp.MustCompile(`^\* (\d+) FETCH \(`)
	uidRE     = regexp.MustCompile(`[( ]UID (\d+)[ )]`)
	modseqRE  = regexp.MustCompile(`MODSEQ \((\d+)\)`)
	sizeRE    = regexp.MustCompile(`RFC822\.SIZE (\d+)`)
	bodyRE    = regexp.MustCompile(`(?s)BODY\[\] \{(\d+)\}(.*)$`)
	hdrRE     = regexp.MustCompile(`(?s)BODY\[HEADER\.FIELDS \((?i:subject)\)\] \{(\d+)\}(.*)$`)
	tokenRE   = regexp.MustCompile(`Subject: (t\d{6})\r\n`)
)

// apply updates the session's view with one untagged response and checks
// it against the model.
func (s *modelSession) apply(l, cmd string, fixed bool, c *corpus) {
	switch {
	case existsRE.MatchString(l):
		n, _ := strconv.Atoi(existsRE.FindStringSubmatch(l)[1])
		if n < len(s.uids) {
			s.failf("after %s: %d EXISTS with %d messages in view and no EXPUNGE", cmd, n, len(s.uids))
			return
		}
		for len(s.uids) < n {
			s.uids = append(s.uids, 0)
		}
	case expungeRE.MatchString(l):
		if fixed {
			s.failf("EXPUNGE during %s (RFC 9051 §7.5.1): %s", cmd, l)
		}
		n, _ := strconv.Atoi(expungeRE.FindStringSubmatch(l)[1])
		if n < 1 || n > len(s.uids) {
			s.failf("after %s: %s with %d in view", cmd, l, len(s.uids))
			return
		}
		s.uids = slices.Delete(s.uids, n-1, n)
	case fetchRE.MatchString(l):
		n, _ := strconv.Atoi(fetchRE.FindStringSubmatch(l)[1])
		if n < 1 || n > len(s.uids) {
			s.failf("after %s: FETCH for message %d with %d in view: %.100q", cmd, n, len(s.uids), l)
			return
		}
		if m := uidRE.FindStringSubmatch(l); m != nil {
			u64, _ := strconv.ParseUint(m[1], 10, 32)
			u := uint32(u64)
			switch {
			case s.uids[n-1] == 0:
				s.uids[n-1] = u
			case s.uids[n-1] != u:
				s.failf("after %s: message %d has UID %d; it had %d", cmd, n, u, s.uids[n-1])
			}
			if m := modseqRE.FindStringSubmatch(l); m != nil {
				ms, _ := strconv.ParseUint(m[1], 10, 64)
				if ms < s.modseq[u] {
					s.failf("UID %d: MODSEQ %d after %d", u, ms, s.modseq[u])
				}
				s.modseq[u] = ms
			}
		}
		s.checkContent(l, c)
	}
}

// checkContent compares the content a FETCH response carries with the
// message its subject names.
func (s *modelSession) checkContent(l string, c *corpus) {
	var token string
	if m := hdrRE.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		sec := m[2][:min(n, len(m[2]))]
		tm := tokenRE.FindStringSubmatch(sec)
		if tm == nil || sec != "Subject: "+tm[1]+"\r\n\r\n" {
			s.failf("header section %q is not a message's", sec)
			return
		}
		token = tm[1]
	}
	if m := bodyRE.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		body := m[2][:min(n, len(m[2]))]
		tm := tokenRE.FindStringSubmatch(body)
		if tm == nil {
			s.failf("body without a known subject: %.80q", body)
			return
		}
		if token != "" && tm[1] != token {
			s.failf("header section of %s, body of %s", token, tm[1])
		}
		token = tm[1]
		raw, ok := c.get(token)
		if !ok || body != raw {
			s.failf("body of %s: %d octets differ from the %d appended (%.60q...)", token, len(body), len(raw), body)
		}
	}
	if token == "" {
		return
	}
	raw, _ := c.get(token)
	if m := sizeRE.FindStringSubmatch(l); m != nil && m[1] != strconv.Itoa(len(raw)) {
		s.failf("%s: RFC822.SIZE %s; appended %d octets", token, m[1], len(raw))
	}
}

func dialModel(t *testing.T, addr string, id int) *modelSession {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	s := &modelSession{t: t, id: id, nc: nc, r: bufio.NewReaderSize(nc, 64<<10), modseq: map[uint32]uint64{}}
	if _, err := s.read(); err != nil {
		t.Fatal(err)
	}
	return s
}

func runModel(t *testing.T, addr string, sessions int, d time.Duration) {
	c := &corpus{msgs: map[string]string{}}
	setup := dialModel(t, addr, 0)
	setup.command("LOGIN christa@contoso.com "+testenv.DemoPassword, "", false, c)
	setup.command("CREATE Model", "", false, c)
	setup.command("CREATE Model2", "", false, c)
	if len(setup.errs) > 0 {
		t.Fatal(setup.errs)
	}
	var wg sync.WaitGroup
	all := make([]*modelSession, sessions)
	deadline := time.Now().Add(d)
	var ops atomic.Int64
	for i := range all {
		s := dialModel(t, addr, i+1)
		all[i] = s
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, 7))
			s.command("LOGIN christa@contoso.com "+testenv.DemoPassword, "", false, c)
			s.command("SELECT Model (CONDSTORE)", "", false, c)
			for time.Now().Before(deadline) && len(s.errs) == 0 {
				s.step(rnd, c)
				ops.Add(1)
			}
		}(uint64(i))
	}
	wg.Wait()
	// Everyone catches up; then each view is the mailbox.
	var truth []uint32
	for _, s := range all {
		s.command("NOOP", "", false, c)
		_, un := s.command("UID SEARCH ALL", "", true, c)
		var got []uint32
		for _, l := range un {
			if strings.HasPrefix(l, "* SEARCH") {
				for _, f := range strings.Fields(l)[2:] {
					u, _ := strconv.ParseUint(f, 10, 32)
					got = append(got, uint32(u))
				}
			}
		}
		if truth == nil {
			truth = got
		}
		s.command("FETCH 1:* (UID)", "", true, c)
		if !slices.Equal(s.uids, got) || !slices.Equal(got, truth) {
			s.failf("final view %v; mailbox %v (first session saw %v)", s.uids, got, truth)
		}
	}
	for _, s := range all {
		for _, e := range s.errs {
			t.Error(e)
		}
	}
	t.Logf("%d commands by %d sessions, %d messages appended, %d in the mailbox at the end", ops.Load(), sessions, c.next.Load(), len(truth))
}

// step does one random command.
func (s *modelSession) step(rnd *rand.Rand, c *corpus) {
	n := len(s.uids)
	rng := func() string {
		if n == 0 {
			return "1:*"
		}
		a := rnd.IntN(n) + 1
		return fmt.Sprintf("%d:%d", a, min(n, a+rnd.IntN(6)))
	}
	switch k := rnd.IntN(20); {
	case k < 4 || n < 3:
		_, raw := c.make(rnd)
		s.command(fmt.Sprintf("APPEND Model {%d+}", len(raw)), raw, false, c)
	case k < 6:
		s.command("STORE "+rng()+" +FLAGS.SILENT (\\Deleted)", "", true, c)
	case k < 7:
		s.command("STORE "+rng()+" FLAGS (\\Seen $Label1)", "", true, c)
	case k < 9:
		s.command("EXPUNGE", "", false, c)
	case k < 10:
		s.command("MOVE "+rng()+" Model2", "", false, c)
	case k < 11:
		s.command("COPY "+rng()+" Model2", "", false, c)
	case k < 12:
		s.command("SEARCH UNDELETED", "", true, c)
	case k < 13:
		s.command("NOOP", "", false, c)
	case k < 16:
		s.command("FETCH "+rng()+" (UID MODSEQ RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject)] FLAGS)", "", true, c)
	case k < 18:
		s.command("FETCH "+rng()+" (UID RFC822.SIZE BODY.PEEK[])", "", true, c)
	default:
		s.command("FETCH 1:* (UID MODSEQ ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject)])", "", true, c)
	}
}
