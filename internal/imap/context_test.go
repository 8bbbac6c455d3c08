package imap_test

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// lineConn is a bare IMAP connection over TCP: commands out, lines in.
type lineConn struct {
	t   *testing.T
	nc  net.Conn
	r   *bufio.Reader
	seq int
}

func dialLines(t *testing.T, addr, user, password string) *lineConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &lineConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	c.line() // greeting
	c.ok("LOGIN " + user + " " + password)
	return c
}

func (c *lineConn) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the untagged lines and the tagged one.
func (c *lineConn) cmd(command string) (untagged []string, done string) {
	c.t.Helper()
	c.seq++
	tag := "t" + strconv.Itoa(c.seq)
	if _, err := fmt.Fprintf(c.nc, "%s %s\r\n", tag, command); err != nil {
		c.t.Fatal(err)
	}
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// ok runs a command that must succeed.
func (c *lineConn) ok(command string) []string {
	c.t.Helper()
	u, done := c.cmd(command)
	if !strings.Contains(done, " OK ") {
		c.t.Fatalf("%s: %s", command, done)
	}
	return u
}

// expandSet expands a sequence set in its order (a range ascends, RFC 5267
// §3.2).
func expandSet(t *testing.T, s string) []uint32 {
	t.Helper()
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			t.Fatalf("bad set %q", s)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseUint(b, 10, 32); err != nil {
				t.Fatalf("bad set %q", s)
			}
		}
		for n := min(lo, hi); n <= max(lo, hi); n++ {
			out = append(out, uint32(n))
		}
	}
	return out
}

// contextModel is what a client keeps of an updating search: the result
// list, changed by ADDTO and REMOVEFROM (RFC 5267 §4.3.3, §4.3.4) and, for
// sequence numbers, by EXPUNGE.
type contextModel struct {
	tag  string
	list []uint32
}

// apply applies one untagged response to the models it concerns.
func applyUpdate(t *testing.T, l string, models map[string]*contextModel, seqModels []*contextModel) {
	t.Helper()
	if f := strings.Fields(l); len(f) == 3 && f[2] == "EXPUNGE" {
		n64, _ := strconv.ParseUint(f[1], 10, 32)
		n := uint32(n64)
		for _, m := range seqModels {
			if slices.Contains(m.list, n) {
				t.Fatalf("EXPUNGE %d before REMOVEFROM: %s still holds it: %v", n, m.tag, m.list)
			}
			for i, v := range m.list {
				if v > n {
					m.list[i] = v - 1
				}
			}
		}
		return
	}
	rest, ok := strings.CutPrefix(l, `* ESEARCH (TAG "`)
	if !ok {
		return
	}
	tag, rest, _ := strings.Cut(rest, `")`)
	m := models[tag]
	if m == nil {
		t.Fatalf("update for unknown context: %s", l)
	}
	rest = strings.TrimPrefix(strings.TrimSpace(rest), "UID ")
	for rest != "" {
		name, after, _ := strings.Cut(rest, " (")
		body, next, found := strings.Cut(after, ")")
		if !found || (name != "ADDTO" && name != "REMOVEFROM") {
			t.Fatalf("bad update %q", l)
		}
		rest = strings.TrimSpace(next)
		f := strings.Fields(body)
		for i := 0; i+1 < len(f); i += 2 {
			pos, _ := strconv.Atoi(f[i])
			set := expandSet(t, f[i+1])
			switch {
			case name == "ADDTO" && pos == 0:
				m.list = append(m.list, set...)
				slices.Sort(m.list)
			case name == "ADDTO":
				if pos > len(m.list)+1 {
					t.Fatalf("ADDTO at %d past the end of %v: %s", pos, m.list, l)
				}
				m.list = slices.Insert(m.list, pos-1, set...)
			case pos == 0:
				m.list = slices.DeleteFunc(m.list, func(v uint32) bool { return slices.Contains(set, v) })
			default:
				if pos-1+len(set) > len(m.list) || !slices.Equal(m.list[pos-1:pos-1+len(set)], set) {
					t.Fatalf("REMOVEFROM (%d %v) does not match %v: %s", pos, set, m.list, l)
				}
				m.list = slices.Delete(m.list, pos-1, pos-1+len(set))
			}
		}
	}
}

// numbers reads the numbers of "* SORT ..." or "* SEARCH ...".
func numbers(t *testing.T, lines []string, kind string) []uint32 {
	t.Helper()
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* "+kind); ok {
			var out []uint32
			for _, f := range strings.Fields(rest) {
				n, _ := strconv.ParseUint(f, 10, 32)
				out = append(out, uint32(n))
			}
			return out
		}
	}
	t.Fatalf("no %s in %q", kind, lines)
	return nil
}

// TestContextUpdatesModel keeps two updating contexts in one session (a UID
// SORT and a SEARCH in sequence numbers) while a second session appends,
// changes flags and expunges at random; after each change the first session
// (sometimes first with a FETCH, which may not report expunges) applies the ADDTO, REMOVEFROM and EXPUNGE responses it got to its copies,
// which must equal a fresh SORT and SEARCH. The whole server runs
// (internal/testenv), on both storage engines.
func TestContextUpdatesModel(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && testing.Short() {
				t.Skip("SKIPPED in -short mode: PostgreSQL")
			}
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			contextModelRun(t, e.Addr("imap"), "christa@contoso.com", testenv.DemoPassword)
		})
	}
}

func contextModelRun(t *testing.T, addr, user, password string) {
	a := dialLines(t, addr, user, password)
	b := dialLines(t, addr, user, password)
	rng := rand.New(rand.NewSource(5267))
	subjects := []string{"apple", "Re: banana", "cherry", "[list] apple", "Fwd: date", "elder"}
	appendMsg := func(c *lineConn, subj string, flags string) {
		msg := "From: x@example.com\r\nSubject: " + subj + "\r\n\r\nbody\r\n"
		c.ok(fmt.Sprintf("APPEND INBOX (%s) {%d+}\r\n%s", flags, len(msg), msg))
	}
	for i := 0; i < 8; i++ {
		appendMsg(b, subjects[rng.Intn(len(subjects))], "")
	}
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")

	sortCtx := &contextModel{tag: "sortctx"}
	searchCtx := &contextModel{tag: "searchctx"}
	models := map[string]*contextModel{sortCtx.tag: sortCtx, searchCtx.tag: searchCtx}
	start := func(tag, command string, m *contextModel) {
		fmt.Fprintf(a.nc, "%s %s\r\n", tag, command)
		for {
			l := a.line()
			if strings.HasPrefix(l, tag+" ") {
				if !strings.Contains(l, " OK ") {
					t.Fatalf("%s: %s", command, l)
				}
				return
			}
			if rest, ok := strings.CutPrefix(l, `* ESEARCH (TAG "`+tag+`") `); ok {
				rest = strings.TrimPrefix(rest, "UID ")
				if set, ok := strings.CutPrefix(rest, "ALL "); ok {
					m.list = expandSet(t, set)
				}
			}
		}
	}
	start(sortCtx.tag, "UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 UNSEEN", sortCtx)
	start(searchCtx.tag, "SEARCH RETURN (UPDATE) FLAGGED UNDELETED", searchCtx)

	updates := 0
	apply := func(lines []string) {
		for _, l := range lines {
			if strings.HasPrefix(l, "* ESEARCH") {
				updates++
			}
			applyUpdate(t, l, models, []*contextModel{searchCtx})
		}
	}
	uidsOf := func() []uint32 {
		return numbers(t, b.ok("UID SEARCH ALL"), "SEARCH")
	}
	for step := 0; step < 60; step++ {
		uids := uidsOf()
		var what string
		switch op := rng.Intn(6); {
		case op == 0 || len(uids) < 3:
			flags := []string{"", `\Seen`, `\Flagged`}[rng.Intn(3)]
			what = "append " + flags
			appendMsg(b, subjects[rng.Intn(len(subjects))], flags)
		case op <= 3:
			u := uids[rng.Intn(len(uids))]
			sign := []string{"+", "-"}[rng.Intn(2)]
			flag := []string{`\Seen`, `\Flagged`, `\Deleted`}[rng.Intn(3)]
			what = fmt.Sprintf("store %d %sFLAGS %s", u, sign, flag)
			b.ok(fmt.Sprintf("UID STORE %d %sFLAGS.SILENT (%s)", u, sign, flag))
		default:
			u := uids[rng.Intn(len(uids))]
			what = fmt.Sprintf("expunge %d", u)
			b.ok(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", u))
			b.ok(fmt.Sprintf("UID EXPUNGE %d", u))
		}
		if rng.Intn(2) == 0 {
			// FETCH may not report expunges: REMOVEFROM comes now, the
			// EXPUNGE with the NOOP.
			apply(a.ok("FETCH 1 (UID)"))
		}
		apply(a.ok("NOOP"))
		wantSort := numbers(t, a.ok("UID SORT (REVERSE SUBJECT) UTF-8 UNSEEN"), "SORT")
		if !slices.Equal(sortCtx.list, wantSort) {
			t.Fatalf("step %d (%s): sort context %v, SORT says %v", step, what, sortCtx.list, wantSort)
		}
		wantSearch := numbers(t, a.ok("SEARCH FLAGGED UNDELETED"), "SEARCH")
		if !slices.Equal(searchCtx.list, wantSearch) {
			t.Fatalf("step %d (%s): search context %v, SEARCH says %v", step, what, searchCtx.list, wantSearch)
		}
	}
	t.Logf("%d update responses applied; the contexts end with %d and %d messages", updates, len(sortCtx.list), len(searchCtx.list))
	if updates < 20 || len(sortCtx.list) == 0 || len(searchCtx.list) == 0 {
		t.Fatal("few updates or an empty context: the run checked little")
	}
}

// TestContextResultLimit refuses an UPDATE whose result would take the
// session's contexts past their total size, with NOUPDATE, still answering
// the other return options; a smaller one is kept.
func TestContextResultLimit(t *testing.T) {
	defer imap.SetMaxContextUIDs(3)()
	e := newEnv(t, envOptions{})
	for range 4 {
		e.deliver(t, readMsg(t, "simple.eml"), "alice")
	}
	c := dialLines(t, e.addr, "alice", "pw-alice")
	c.ok("SELECT INBOX")
	u, done := c.cmd("SEARCH RETURN (UPDATE COUNT) ALL")
	want := []string{`* NO [NOUPDATE "t3"] Too many updating searches or results; CANCELUPDATE one first`, `* ESEARCH (TAG "t3") COUNT 4`}
	if !slices.Equal(u, want) || !strings.Contains(done, "OK") {
		t.Fatalf("UPDATE past the limit: %q %q, want %q", u, done, want)
	}
	if u := c.ok("SEARCH RETURN (UPDATE) 1:3"); !slices.Equal(u, []string{`* ESEARCH (TAG "t4") ALL 1:3`}) {
		t.Fatalf("UPDATE within the limit: %q", u)
	}
	if u := c.ok("SEARCH RETURN (UPDATE) 4"); len(u) != 2 || !strings.HasPrefix(u[0], `* NO [NOUPDATE "t5"]`) {
		t.Fatalf("UPDATE past the limit with another context: %q", u)
	}
	c.ok(`CANCELUPDATE "t4"`)
	if u := c.ok("SEARCH RETURN (UPDATE) 4"); !slices.Equal(u, []string{`* ESEARCH (TAG "t7") ALL 4`}) {
		t.Fatalf("UPDATE after CANCELUPDATE: %q", u)
	}
}
