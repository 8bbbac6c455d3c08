package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
)

// The mixed loads model a day of real clients, in the spirit of imaptest's
// default state mix: mailboxes are read while they are written. Each cycle
// runs, on one user's INBOX:
//
//	LIST "" "*"; STATUS INBOX (MESSAGES UNSEEN UIDNEXT); SELECT INBOX;
//	FETCH of 20 messages' UID FLAGS ENVELOPE and From/To/Subject/Date;
//	three FETCHes of a whole message with its UID; STORE +FLAGS and -FLAGS (\Flagged);
//	APPEND of a message from the corpus; STORE +FLAGS.SILENT (\Deleted) on one
//	of the oldest messages and EXPUNGE
//
// so that each mailbox stays near its starting size. Clients pick their user
// at random among all users, so some mailboxes have several sessions at once
// and see each other's EXISTS and EXPUNGE. In "mixed" a client logs in once
// and repeats cycles on one connection; in "mixed-login" every cycle is a
// fresh connection and login. The operations counted are FETCH commands;
// every command's latency is recorded under its name (STORE-DEL for the
// \Deleted STORE).
//
// "imaptest" follows imaptest's default profile more closely (its states
// and their probabilities, read from its documentation; none of its code):
// a fresh login per cycle, LIST and STATUS each in half the cycles, one
// whole-message FETCH and a second in 30 % of the cycles, COPY of one to
// three messages into the same INBOX in a third of the cycles, the STORE
// pair in half of them, and as many messages deleted as the cycle added.
// Run it with few users and small mailboxes (imaptest's defaults are ten
// clients on one INBOX of about 30 messages) to measure sessions that
// contend for one mailbox.

// profile is what a mixed load's cycle does: each probability is that of
// the command (or pair) in one cycle.
type profile struct {
	relogin             bool
	list, status, store float64
	// bodies is how many whole-message FETCHes every cycle makes; extra
	// the probability of one more.
	bodies int
	extra  float64
	// copy is the probability of a COPY into the INBOX itself.
	copy float64
}

// profiles are the mixed loads by name.
var profiles = map[string]profile{
	"mixed":       {list: 1, status: 1, store: 1, bodies: 3},
	"mixed-login": {relogin: true, list: 1, status: 1, store: 1, bodies: 3},
	"imaptest":    {relogin: true, list: .5, status: .5, store: .5, bodies: 1, extra: .3, copy: 1.0 / 3},
}

// mixedCorpus is the messages APPENDed by the mixed loads.
var mixedCorpus = sync.OnceValue(func() [][]byte { return corpus(200, 99) })

// session tracks what a client knows of its selected mailbox: its message
// count, kept up to date from every EXISTS and EXPUNGE.
type session struct {
	c      *client
	user   string
	exists int
}

func (s *session) track(line []byte) {
	f := bytes.Fields(line)
	if len(f) < 3 || string(f[0]) != "*" {
		return
	}
	n, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return
	}
	switch string(f[2]) {
	case "EXISTS":
		s.exists = n
	case "EXPUNGE":
		s.exists--
	}
}

// mixedWorker runs cycles of p until stop.
func mixedWorker(cfg loadConfig, id int, stop <-chan struct{}, p profile) (map[string][]time.Duration, int, int, error) {
	lat := map[string][]time.Duration{}
	rng := rand.New(rand.NewPCG(uint64(id), 3))
	msgs := mixedCorpus()
	ops, errs := 0, 0
	var first error
	fail := func(err error) {
		errs++
		if first == nil {
			first = err
		}
	}
	var s *session
	defer func() {
		if s != nil {
			s.c.cmd(cmdTimeout, nil, "LOGOUT")
			s.c.close()
		}
	}()
	connect := func() error {
		user := rig.UserName(rng.IntN(max(cfg.Users, 1)))
		t := time.Now()
		c, err := dial(cfg.Addr, cmdTimeout)
		lat["CONNECT"] = append(lat["CONNECT"], time.Since(t))
		if err != nil {
			return err
		}
		if err := timed(lat, "LOGIN", c, nil, "LOGIN %s %s", user, password); err != nil {
			c.close()
			return fmt.Errorf("LOGIN: %w", err)
		}
		s = &session{c: c, user: user}
		return nil
	}
	for {
		select {
		case <-stop:
			return lat, ops, errs, first
		default:
		}
		start := time.Now()
		if s == nil {
			if err := connect(); err != nil {
				fail(err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		n, err := mixedCycle(s, p, lat, rng, msgs, cfg.verify)
		ops += n
		if err == nil && p.relogin {
			err = timed(lat, "LOGOUT", s.c, nil, "LOGOUT")
			s.c.close()
			s = nil
		}
		lat["CYCLE"] = append(lat["CYCLE"], time.Since(start))
		if err != nil {
			fail(err)
			if s != nil {
				s.c.close()
				s = nil
			}
		}
	}
}

// mixedCycle runs one cycle of p and returns the FETCH commands that
// succeeded; v checks what the FETCHes read and what the STOREs and COPY
// answered.
func mixedCycle(s *session, p profile, lat map[string][]time.Duration, rng *rand.Rand, msgs [][]byte, v *verifier) (int, error) {
	c, track := s.c, s.track
	fetches := 0
	// do reports whether a command of probability q runs this cycle.
	do := func(q float64) bool { return q >= 1 || (q > 0 && rng.Float64() < q) }
	// collect runs a command whose responses v checks.
	collect := func(name string, format string, args ...any) (*fetchCollector, error) {
		f := &fetchCollector{c: c}
		f.start()
		defer f.stop()
		err := timed(lat, name, c, func(l []byte) { track(l); f.line(l) }, format, args...)
		return f, err
	}
	if do(p.list) {
		if err := timed(lat, "LIST", c, track, `LIST "" "*"`); err != nil {
			return fetches, fmt.Errorf("LIST: %w", err)
		}
	}
	if do(p.status) {
		if err := timed(lat, "STATUS", c, track, "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)"); err != nil {
			return fetches, fmt.Errorf("STATUS: %w", err)
		}
	}
	if err := timed(lat, "SELECT", c, track, "SELECT INBOX"); err != nil {
		return fetches, fmt.Errorf("SELECT: %w", err)
	}
	if s.exists > 0 {
		lo := 1 + rng.IntN(s.exists)
		hi := min(lo+19, s.exists)
		f, err := collect("FETCH", "FETCH %d:%d (UID FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", lo, hi)
		if err != nil {
			return fetches, fmt.Errorf("FETCH headers: %w", err)
		}
		v.checkHeaders(s.user, f, lo, hi, s.exists)
		fetches++
	}
	bodies := p.bodies
	if do(p.extra) {
		bodies++
	}
	for range bodies {
		if s.exists == 0 {
			break
		}
		n := 1 + rng.IntN(s.exists)
		f, err := collect("FETCH", "FETCH %d (UID FLAGS BODY.PEEK[])", n)
		if err != nil {
			return fetches, fmt.Errorf("FETCH body: %w", err)
		}
		v.checkBodies(s.user, f, []int{n}, false, s.exists)
		fetches++
	}
	copied := 0
	if s.exists > 0 && do(p.copy) {
		lo := 1 + rng.IntN(s.exists)
		hi := min(lo+rng.IntN(3), s.exists)
		// Unlike FETCH and STORE, COPY may be answered with EXPUNGEs
		// (RFC 3501 section 7.4.1 names only FETCH, STORE and SEARCH);
		// its COPYUID is checked.
		var tagged []byte
		err := timed(lat, "COPY", c, func(l []byte) {
			track(l)
			if bytes.Contains(l, []byte("[COPYUID ")) {
				tagged = append(tagged[:0], l...)
			}
		}, "COPY %d:%d INBOX", lo, hi)
		if err != nil {
			return fetches, fmt.Errorf("COPY: %w", err)
		}
		v.checkCopy(s.user, tagged)
		copied = hi - lo + 1
	}
	if s.exists > 0 && do(p.store) {
		n := 1 + rng.IntN(s.exists)
		f, err := collect("STORE", `STORE %d +FLAGS (\Flagged)`, n)
		if err != nil {
			return fetches, fmt.Errorf("STORE: %w", err)
		}
		v.checkStore(s.user, f)
		if s.exists >= n {
			f, err := collect("STORE", `STORE %d -FLAGS (\Flagged)`, n)
			if err != nil {
				return fetches, fmt.Errorf("STORE: %w", err)
			}
			v.checkStore(s.user, f)
		}
	}
	msg := msgs[rng.IntN(len(msgs))]
	t := time.Now()
	err := c.appendLiteral(cmdTimeout, track, "INBOX", msg)
	lat["APPEND"] = append(lat["APPEND"], time.Since(t))
	if err != nil {
		return fetches, fmt.Errorf("APPEND: %w", err)
	}
	if s.exists > 0 {
		// As many messages as the cycle added (the APPEND and the COPY),
		// among the oldest.
		del := min(1+copied, s.exists)
		lo := 1 + rng.IntN(min(s.exists-del+1, 10))
		set := strconv.Itoa(lo)
		if del > 1 {
			set += ":" + strconv.Itoa(lo+del-1)
		}
		f, err := collect("STORE-DEL", `STORE %s +FLAGS.SILENT (\Deleted)`, set)
		if err != nil {
			return fetches, fmt.Errorf("STORE \\Deleted: %w", err)
		}
		v.checkStore(s.user, f)
		if err := timed(lat, "EXPUNGE", c, track, "EXPUNGE"); err != nil {
			return fetches, fmt.Errorf("EXPUNGE: %w", err)
		}
	}
	return fetches, nil
}

// appendLiteral APPENDs msg to mailbox with a non-synchronizing literal
// (LITERAL+, RFC 7888; Gatehouse and Dovecot both offer it).
func (c *client) appendLiteral(timeout time.Duration, onLine func([]byte), mailbox string, msg []byte) error {
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	c.nc.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c.w, "%s APPEND %s {%d+}\r\n", tag, mailbox, len(msg))
	c.w.Write(msg)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if onLine != nil {
			onLine(line)
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			if rest := line[len(tag)+1:]; !bytes.HasPrefix(rest, []byte("OK")) {
				return fmt.Errorf("%s", bytes.TrimSpace(rest))
			}
			return nil
		}
	}
}
