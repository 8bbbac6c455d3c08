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

// mixedWorker runs cycles until stop; relogin makes every cycle a fresh
// connection.
func mixedWorker(cfg loadConfig, id int, stop <-chan struct{}, relogin bool) (map[string][]time.Duration, int, int, error) {
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
		n, err := mixedCycle(s, lat, rng, msgs, cfg.verify)
		ops += n
		if err == nil && relogin {
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

// mixedCycle runs one cycle and returns the FETCH commands that succeeded;
// v checks what the FETCHes read and what the STOREs answered.
func mixedCycle(s *session, lat map[string][]time.Duration, rng *rand.Rand, msgs [][]byte, v *verifier) (int, error) {
	c, track := s.c, s.track
	fetches := 0
	// collect runs a command whose responses v checks.
	collect := func(name string, format string, args ...any) (*fetchCollector, error) {
		f := &fetchCollector{c: c}
		f.start()
		defer f.stop()
		err := timed(lat, name, c, func(l []byte) { track(l); f.line(l) }, format, args...)
		return f, err
	}
	if err := timed(lat, "LIST", c, track, `LIST "" "*"`); err != nil {
		return fetches, fmt.Errorf("LIST: %w", err)
	}
	if err := timed(lat, "STATUS", c, track, "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)"); err != nil {
		return fetches, fmt.Errorf("STATUS: %w", err)
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
	for range 3 {
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
	if s.exists > 0 {
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
		f, err := collect("STORE-DEL", `STORE %d +FLAGS.SILENT (\Deleted)`, 1+rng.IntN(min(s.exists, 10)))
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
