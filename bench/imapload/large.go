package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// The large-mailbox comparison (docs/performance.md, section 3): one user
// whose INBOX holds n messages, on Gatehouse (SQLite) and Dovecot side by
// side, each command timed on a logged-in session with the folder
// selected: SELECT INBOX, UID FETCH of the last 50 (UID FLAGS ENVELOPE),
// UID SEARCH SUBJECT of a word that one message in 1,000 has, and the
// wake-up of a session in IDLE when another session APPENDs to the
// INBOX (from the APPEND sent to the "* n EXISTS" the idler reads: the
// durable write and the notification, on both servers the same work).
// The first run of each command is a warm-up (Dovecot builds its index
// and adds the subjects to its cache; Gatehouse fills its caches) and
// is not counted. Every answer is checked (largeAnswers): a server that
// answers fast and wrong fails the run instead of being measured.

// largeMessage is message i of the large INBOX: small, every 1,000th
// with the word SEARCH looks for in its subject.
func largeMessage(i int) []byte {
	return []byte(fmt.Sprintf("From: Sender %d <s%d@example.com>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 4 Mar 2024 10:00:00 +0000\r\nMessage-ID: <large-%d@example.com>\r\n\r\nBody of message %d.\r\n",
		i%97, i%97, rig.UserName(0), largeSubject(i), i, i))
}

// largeSubject is the subject of largeMessage(i).
func largeSubject(i int) string {
	if i%1000 == 0 {
		return fmt.Sprintf("message %d needle", i)
	}
	return fmt.Sprintf("message %d", i)
}

// largeIndex returns the i of the largeMessage(i) that b (a message or a
// FETCH answer with its ENVELOPE) names in its Message-ID, -1 when none.
func largeIndex(b []byte) int {
	const pre = "<large-"
	k := bytes.Index(b, []byte(pre))
	if k < 0 {
		return -1
	}
	rest := b[k+len(pre):]
	end := bytes.IndexByte(rest, '@')
	if end <= 0 || !digits(rest[:end]) {
		return -1
	}
	i, err := strconv.Atoi(string(rest[:end]))
	if err != nil {
		return -1
	}
	return i
}

// largeAnswers checks the FETCH answers of one command of the large
// comparison: each for a UID in [lo, hi] answered once, its ENVELOPE (when
// asked) that of the message it names, its BODY[] (when asked) that
// message octet for octet, no message twice. Seeding stores the messages
// in no set order, so a UID may hold any of them.
type largeAnswers struct {
	c         *client
	lo, hi    uint64
	envelope  bool
	body      bool
	uids      map[uint64]int // UID → message index
	seen      map[int]bool
	needleAll bool // every answer's message must have the word SEARCH looks for
	err       error
}

func newLargeAnswers(c *client, lo, hi uint64) *largeAnswers {
	c.keep = true
	c.arena = c.arena[:0] // the literals of the command before are checked
	return &largeAnswers{c: c, lo: lo, hi: hi, uids: map[uint64]int{}, seen: map[int]bool{}}
}

func (a *largeAnswers) line(l []byte) {
	if !bytes.HasPrefix(l, []byte("* ")) || !bytes.Contains(l, []byte(" FETCH (")) || a.err != nil {
		return
	}
	uid, ok := itemNumber(l, "UID")
	if !ok || uid < a.lo || uid > a.hi {
		a.err = fmt.Errorf("answer without a UID in %d:%d: %.120q", a.lo, a.hi, l)
		return
	}
	if _, dup := a.uids[uid]; dup {
		a.err = fmt.Errorf("UID %d answered twice", uid)
		return
	}
	r := &fetchResp{line: l, lits: a.c.lits}
	i := -1
	if a.envelope {
		i = largeIndex(l)
		subject, ok := r.envelopeSubject()
		if i < 0 || !ok || subject != largeSubject(i) {
			a.err = fmt.Errorf("UID %d: ENVELOPE with subject %q is not that of a stored message: %.200q", uid, subject, l)
			return
		}
	}
	if a.body {
		body := r.literalAfter("BODY[]")
		j := largeIndex(body)
		if j < 0 || !bytes.Equal(body, largeMessage(j)) || (i >= 0 && j != i) {
			a.err = fmt.Errorf("UID %d: BODY[] of %d octets is not a stored message: %.80q", uid, len(body), body)
			return
		}
		i = j
	}
	if a.seen[i] {
		a.err = fmt.Errorf("UID %d: message %d answered for two UIDs", uid, i)
		return
	}
	if a.needleAll && !strings.HasSuffix(largeSubject(i), " needle") {
		a.err = fmt.Errorf("UID %d: message %d (subject %q) found by SEARCH SUBJECT needle", uid, i, largeSubject(i))
		return
	}
	a.seen[i] = true
	a.uids[uid] = i
}

func largeCmd(args []string) error {
	fs := flag.NewFlagSet("large", flag.ExitOnError)
	sizeList := fs.String("sizes", "10000,100000", "INBOX sizes to measure, in order")
	rounds := fs.Int("rounds", 3, "measured runs of each command per server (the order alternates)")
	iters := fs.Int("n", 10, "commands per run; a run's figure is their median")
	dir := fs.String("dir", "", "working directory (default: a new temporary one, removed at the end)")
	port := fs.Int("dovecot-port", 10144, "Dovecot's IMAP port")
	fs.Parse(args)
	var sizes []int
	for _, f := range strings.Split(*sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 {
			return fmt.Errorf("-sizes: %q is not a size of 1000 or more", f)
		}
		sizes = append(sizes, n)
	}
	var failed bool
	if *dir == "" {
		d, err := os.MkdirTemp("", "imapload-large")
		if err != nil {
			return err
		}
		// kept when a size fails, for the servers' logs (dovecot/dovecot.log)
		defer func() {
			if !failed {
				os.RemoveAll(d)
			}
		}()
		*dir = d
	}
	// Dovecot's unprivileged processes must reach the passwd-file and mail.
	if err := os.Chmod(*dir, 0o755); err != nil {
		return err
	}
	type row struct {
		n    int
		figs map[string]map[string][]time.Duration // command → server → run medians
	}
	var rows []row
	for _, n := range sizes {
		figs, err := largeOne(filepath.Join(*dir, strconv.Itoa(n)), n, *port, *rounds, *iters)
		if err != nil {
			failed = true
			return fmt.Errorf("%d messages: %w (the servers' files and logs are kept in %s)", n, err, filepath.Join(*dir, strconv.Itoa(n)))
		}
		rows = append(rows, row{n, figs})
	}
	fmt.Printf("\nLarge INBOX, one session, %d runs of %d commands per server and size (range of the runs' medians)\n\n", *rounds, *iters)
	fmt.Println("| messages | command | Gatehouse/SQLite (ms) | Dovecot (ms) | Dovecot time / Gatehouse time |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rows {
		for _, cmd := range largeCommands {
			g, d := r.figs[cmd]["Gatehouse/SQLite"], r.figs[cmd]["Dovecot"]
			fmt.Printf("| %d | %s | %s | %s | %s |\n", r.n, cmd, msRange(g), msRange(d), ratioRange(d, g))
		}
	}
	return nil
}

// largeCommands are the measured commands, in the tables' order.
var largeCommands = []string{"SELECT", "UID FETCH last 50", "UID SEARCH SUBJECT", "IDLE wake-up", "whole session"}

// largeOne seeds both servers with an INBOX of n messages and measures.
func largeOne(dir string, n, port, rounds, iters int) (map[string]map[string][]time.Duration, error) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = largeMessage(i)
	}
	db := filepath.Join(dir, "gatehouse.db")
	// A directory seeded by an earlier run (with -dir) is used again as
	// it is: filling a 1,000,000-message INBOX takes about ten minutes.
	// Each run APPENDs a few messages (the IDLE wake-ups), so each
	// server's INBOX holds n plus what earlier runs appended to it, which
	// a file beside the marker counts.
	marker := filepath.Join(dir, "seeded")
	if _, err := os.Stat(marker); err != nil {
		start := time.Now()
		for _, name := range []string{"Gatehouse/SQLite", "Dovecot"} {
			os.Remove(appendedFile(dir, name))
		}
		os.Remove(db)
		os.RemoveAll(filepath.Join(dir, "dovecot"))
		st, err := sqlite.Open(ctx, db, sqlite.Options{})
		if err != nil {
			return nil, err
		}
		err = rig.Seed(ctx, st, 1, msgs, password)
		st.Close()
		if err != nil {
			return nil, fmt.Errorf("seed Gatehouse: %w", err)
		}
		fmt.Printf("%d messages: seeded Gatehouse in %v\n", n, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		if err := seedDovecot(filepath.Join(dir, "dovecot"), port, 1, msgs); err != nil {
			return nil, fmt.Errorf("seed Dovecot: %w", err)
		}
		fmt.Printf("%d messages: seeded Dovecot in %v\n", n, time.Since(start).Round(time.Millisecond))
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return nil, err
		}
	} else {
		// the configuration is written again (its port and settings may
		// have changed); the Maildir is kept
		if err := seedDovecot(filepath.Join(dir, "dovecot"), port, 1, nil); err != nil {
			return nil, err
		}
		fmt.Printf("%d messages: using the seeded directory %s\n", n, dir)
	}
	gh, err := startGatehouse("Gatehouse/SQLite", db)
	if err != nil {
		return nil, err
	}
	defer gh.stop()
	dc, err := startDovecot(filepath.Join(dir, "dovecot"), port)
	if err != nil {
		return nil, err
	}
	defer dc.stop()
	servers := []*server{gh, dc}
	figs := map[string]map[string][]time.Duration{}
	for _, cmd := range largeCommands {
		figs[cmd] = map[string][]time.Duration{}
	}
	sessions := map[string]*largeSession{}
	for _, srv := range servers {
		s, err := openLarge(srv.addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", srv.name, err)
		}
		defer s.close()
		s.counter = appendedFile(dir, srv.name)
		if s.appended, err = readAppended(s.counter); err != nil {
			return nil, err
		}
		sessions[srv.name] = s
		// warm-up, not counted
		start := time.Now()
		if _, err := s.measure("SELECT", n, 1); err != nil {
			return nil, fmt.Errorf("%s: %w", srv.name, err)
		}
		fmt.Printf("%s: first SELECT %v\n", srv.name, time.Since(start).Round(time.Millisecond))
		for _, cmd := range largeCommands[1:] {
			start := time.Now()
			if _, err := s.measure(cmd, n, 1); err != nil {
				return nil, fmt.Errorf("%s: %w", srv.name, err)
			}
			fmt.Printf("%s: first %s %v\n", srv.name, cmd, time.Since(start).Round(time.Millisecond))
		}
	}
	for r := range rounds {
		order := servers
		if r%2 == 1 {
			order = []*server{servers[1], servers[0]}
		}
		for _, cmd := range largeCommands {
			for _, srv := range order {
				d, err := sessions[srv.name].measure(cmd, n, iters)
				if err != nil {
					return nil, fmt.Errorf("%s, %s: %w", srv.name, cmd, err)
				}
				figs[cmd][srv.name] = append(figs[cmd][srv.name], d)
				fmt.Printf("%d messages, run %d: %s %s %.2f ms\n", n, r+1, srv.name, cmd, ms(d))
			}
		}
	}
	return figs, nil
}

// largeSession is a logged-in session with INBOX selected, and a second
// one that APPENDs while the first IDLEs.
type largeSession struct {
	addr      string
	c, writer *client
	appended  int    // messages APPENDed so far: the INBOX holds n+appended
	counter   string // the file that keeps appended for the next run
}

// appendedFile is the file of a seeded directory that counts the
// messages runs appended to one server's INBOX.
func appendedFile(dir, server string) string {
	return filepath.Join(dir, "appended-"+strings.ToLower(strings.ReplaceAll(server, "/", "-")))
}

func readAppended(file string) (int, error) {
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a count of appended messages", file, b)
	}
	return n, nil
}

func openLarge(addr string) (*largeSession, error) {
	s := &largeSession{addr: addr}
	for _, p := range []**client{&s.c, &s.writer} {
		c, err := dial(addr, 10*time.Minute)
		if err != nil {
			return nil, err
		}
		*p = c
		if _, err := c.cmd(time.Minute, nil, "LOGIN %s %s", rig.UserName(0), password); err != nil {
			s.close()
			return nil, fmt.Errorf("LOGIN: %w", err)
		}
	}
	return s, nil
}

func (s *largeSession) close() {
	for _, c := range []*client{s.c, s.writer} {
		if c != nil {
			c.close()
		}
	}
}

// measure runs cmd iters times and returns the median time; each answer
// is checked.
func (s *largeSession) measure(cmd string, n, iters int) (time.Duration, error) {
	ds := make([]time.Duration, 0, iters)
	for range iters {
		d, err := s.once(cmd, n)
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

const largeTimeout = 10 * time.Minute

func (s *largeSession) once(cmd string, n int) (time.Duration, error) {
	total := n + s.appended
	start := time.Now()
	switch cmd {
	case "SELECT":
		exists, err := s.c.selectExists(largeTimeout)
		if err == nil && exists != total {
			err = fmt.Errorf("SELECT: %d EXISTS; want %d", exists, total)
		}
		return time.Since(start), err
	case "UID FETCH last 50":
		// the UIDs of the seeded messages are 1..n on both servers
		a := newLargeAnswers(s.c, uint64(n-49), uint64(n))
		a.envelope = true
		_, err := s.c.cmd(largeTimeout, a.line, "UID FETCH %d:%d (UID FLAGS ENVELOPE)", n-49, n)
		d := time.Since(start)
		if err == nil && a.err != nil {
			err = fmt.Errorf("UID FETCH: %w", a.err)
		}
		if err == nil && len(a.uids) != 50 {
			err = fmt.Errorf("UID FETCH: %d answers; want 50", len(a.uids))
		}
		return d, err
	case "UID SEARCH SUBJECT":
		var hits []string
		found := false
		_, err := s.c.cmd(largeTimeout, func(l []byte) {
			if f := strings.Fields(string(l)); len(f) >= 2 && f[1] == "SEARCH" {
				hits, found = f[2:], true
			}
		}, "UID SEARCH SUBJECT needle")
		d := time.Since(start)
		if want := (n + 999) / 1000; err == nil && (!found || len(hits) != want) {
			err = fmt.Errorf("UID SEARCH: %d hits; want %d", len(hits), want)
		}
		if err == nil {
			// Not timed: each hit must be a message with the word.
			err = s.checkHits(hits, total)
		}
		return d, err
	case "IDLE wake-up":
		return s.idleWakeup(total)
	case "whole session":
		err := s.wholeSession(total)
		return time.Since(start), err
	}
	return 0, fmt.Errorf("unknown command %q", cmd)
}

// wholeSession is the session of BenchmarkLargeFolderSession
// (internal/imap) on a new connection: LOGIN, SELECT INBOX, FETCH 1:* (UID
// FLAGS), UID SEARCH SUBJECT, UID FETCH of 11 bodies, LOGOUT.
func (s *largeSession) wholeSession(total int) error {
	c, err := dial(s.addr, largeTimeout)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.cmd(largeTimeout, nil, "LOGIN %s %s", rig.UserName(0), password); err != nil {
		return fmt.Errorf("LOGIN: %w", err)
	}
	if _, err := c.cmd(largeTimeout, nil, "SELECT INBOX"); err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	// Only FETCH answers count: a server may add others (EXISTS, FLAGS).
	fetches := 0
	countFetch := func(l []byte) {
		if bytes.HasPrefix(l, []byte("* ")) && bytes.Contains(l, []byte(" FETCH (")) {
			fetches++
		}
	}
	if _, err := c.cmd(largeTimeout, countFetch, "FETCH 1:* (UID FLAGS)"); err != nil || fetches != total {
		return fmt.Errorf("FETCH 1:*: %d answers, %v; want %d", fetches, err, total)
	}
	if _, err := c.cmd(largeTimeout, nil, "UID SEARCH SUBJECT needle"); err != nil {
		return fmt.Errorf("UID SEARCH: %w", err)
	}
	bodies := newLargeAnswers(c, 1, 11)
	bodies.body = true
	if _, err := c.cmd(largeTimeout, bodies.line, "UID FETCH 1:11 BODY.PEEK[]"); err != nil || bodies.err != nil || len(bodies.uids) != 11 {
		return fmt.Errorf("UID FETCH bodies: %d answers, %v; want 11, each a stored message whole", len(bodies.uids), cmp.Or(err, bodies.err))
	}
	_, err = c.cmd(largeTimeout, nil, "LOGOUT")
	return err
}

// checkHits fetches the ENVELOPE of each UID SEARCH hit (UIDs up to
// total): each must be a stored message whose subject has the word
// searched for, and no message may be found twice.
func (s *largeSession) checkHits(hits []string, total int) error {
	if len(hits) == 0 {
		return nil
	}
	a := newLargeAnswers(s.c, 1, uint64(total))
	a.envelope, a.needleAll = true, true
	if _, err := s.c.cmd(largeTimeout, a.line, "UID FETCH %s (UID ENVELOPE)", strings.Join(hits, ",")); err != nil {
		return fmt.Errorf("UID FETCH of the SEARCH hits: %w", err)
	}
	if a.err != nil {
		return fmt.Errorf("UID SEARCH SUBJECT needle: %w", a.err)
	}
	if len(a.uids) != len(hits) {
		return fmt.Errorf("UID SEARCH SUBJECT needle: %d hits but %d of them answered by UID FETCH", len(hits), len(a.uids))
	}
	return nil
}

// idleWakeup puts the session in IDLE, APPENDs a message from the other
// session and returns the time from the APPEND sent to "* total+1
// EXISTS" on the idler.
func (s *largeSession) idleWakeup(total int) (time.Duration, error) {
	c := s.c
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	c.nc.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c.w, "%s IDLE\r\n", tag)
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	for {
		l, err := c.readLine()
		if err != nil {
			return 0, fmt.Errorf("IDLE: %w", err)
		}
		if bytes.HasPrefix(l, []byte("+")) {
			break
		}
		if bytes.HasPrefix(l, []byte(tag+" ")) {
			return 0, fmt.Errorf("IDLE: %s", l)
		}
	}
	raw := largeMessage(total + 1)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		w := s.writer
		w.tag++
		wtag := "t" + strconv.Itoa(w.tag)
		w.nc.SetDeadline(time.Now().Add(time.Minute))
		fmt.Fprintf(w.w, "%s APPEND INBOX {%d+}\r\n%s\r\n", wtag, len(raw), raw)
		if err := w.w.Flush(); err != nil {
			done <- err
			return
		}
		for {
			l, err := w.readLine()
			if err != nil {
				done <- err
				return
			}
			if bytes.HasPrefix(l, []byte(wtag+" ")) {
				if !bytes.HasPrefix(l, []byte(wtag+" OK")) {
					err = fmt.Errorf("APPEND: %s", l)
				}
				done <- err
				return
			}
		}
	}()
	want := []byte(fmt.Sprintf("* %d EXISTS", total+1))
	var woke time.Duration
	for {
		l, err := c.readLine()
		if err != nil {
			return 0, fmt.Errorf("IDLE: waiting for %s: %w", want, err)
		}
		if bytes.Equal(l, want) {
			woke = time.Since(start)
			break
		}
	}
	if err := <-done; err != nil {
		return 0, err
	}
	s.appended++
	if err := os.WriteFile(s.counter, []byte(strconv.Itoa(s.appended)+"\n"), 0o644); err != nil {
		return 0, err
	}
	fmt.Fprintf(c.w, "DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	for {
		l, err := c.readLine()
		if err != nil {
			return 0, err
		}
		if bytes.HasPrefix(l, []byte(tag+" ")) {
			if !bytes.HasPrefix(l, []byte(tag+" OK")) {
				return 0, fmt.Errorf("IDLE: %s", l)
			}
			return woke, nil
		}
	}
}

// msRange is "lo–hi" of run medians in ms.
func msRange(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	lo, hi := minmax(ds)
	if ms(lo) >= 100 {
		return fmt.Sprintf("%.0f–%.0f", ms(lo), ms(hi))
	}
	return fmt.Sprintf("%.2f–%.2f", ms(lo), ms(hi))
}

// ratioRange is the range of d[i]/g[i] over the runs (run i of both
// servers ran next to each other): above 1, Gatehouse is faster.
func ratioRange(d, g []time.Duration) string {
	var rs []float64
	for i := range min(len(d), len(g)) {
		if g[i] > 0 {
			rs = append(rs, float64(d[i])/float64(g[i]))
		}
	}
	if len(rs) == 0 {
		return "–"
	}
	sort.Float64s(rs)
	return fmt.Sprintf("%.2f–%.2f×", rs[0], rs[len(rs)-1])
}

func minmax(ds []time.Duration) (time.Duration, time.Duration) {
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}
