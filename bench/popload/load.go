package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
)

// loadConfig is one load run.
type loadConfig struct {
	Addr     string
	Password string
	Sessions int // concurrent sessions, each on its own mailbox (user0..)
	Repeat   int // sessions each worker runs one after another
	Pipeline int // RETR commands in flight; 1 = one at a time
	Timeout  time.Duration
	// Sums are the CRC-32C of the messages each maildrop was seeded with
	// (sums of corpus(messages, 1); seeding delivers them in no set
	// order): a maildrop must hold as many, and every RETR must be one of
	// them, or the session fails. Nil: not checked.
	Sums *messageSums
}

// messageSums are the CRC-32C of a maildrop's messages.
type messageSums struct {
	n   int
	set map[uint32]bool
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sums returns the CRC-32C of msgs.
func sums(msgs [][]byte) *messageSums {
	s := &messageSums{n: len(msgs), set: map[uint32]bool{}}
	for _, m := range msgs {
		s.set[crc32.Checksum(m, castagnoli)] = true
	}
	return s
}

// result is what a run measured.
type result struct {
	Sessions int
	Messages int64
	Bytes    int64 // message octets, as LIST reports them
	Elapsed  time.Duration
	Phases   phases // summed over the sessions
}

// phases is where a session's time went, as the client saw it.
type phases struct {
	Connect time.Duration // TCP connect and the greeting
	Login   time.Duration // USER and PASS
	List    time.Duration // STAT, LIST and UIDL
	Retr    time.Duration // every RETR
	Quit    time.Duration // QUIT and the close
}

func (p *phases) add(q phases) {
	p.Connect += q.Connect
	p.Login += q.Login
	p.List += q.List
	p.Retr += q.Retr
	p.Quit += q.Quit
}

// String gives each phase's time per session, and RETR's per message.
func (p phases) String(sessions, msgs int64) string {
	if sessions == 0 || msgs == 0 {
		return ""
	}
	per := func(d time.Duration, n int64) time.Duration { return (d / time.Duration(n)).Round(time.Microsecond) }
	return fmt.Sprintf("per session: connect+greeting %v, USER+PASS %v, STAT+LIST+UIDL %v, QUIT %v; RETR %v per message",
		per(p.Connect, sessions), per(p.Login, sessions), per(p.List, sessions), per(p.Quit, sessions), per(p.Retr, msgs))
}

func (r result) msgsPerSec() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }
func (r result) mbPerSec() float64   { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// runLoad runs cfg.Sessions workers at once; each runs cfg.Repeat whole
// sessions: LOGIN (USER/PASS), STAT, LIST, UIDL, RETR of every message,
// QUIT. Every message is checked against its LIST size.
func runLoad(cfg loadConfig) (result, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total result
		first error
	)
	start := time.Now()
	for i := range cfg.Sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range cfg.Repeat {
				var ph phases
				n, b, err := session(cfg, rig.UserName(i), &ph)
				mu.Lock()
				total.Messages += n
				total.Bytes += b
				total.Phases.add(ph)
				if err != nil && first == nil {
					first = fmt.Errorf("%s: %w", rig.UserName(i), err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	total.Sessions = cfg.Sessions
	return total, first
}

type popConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (p *popConn) send(cmd string) error {
	p.w.WriteString(cmd)
	p.w.WriteString("\r\n")
	return p.w.Flush()
}

func (p *popConn) status() (string, error) {
	line, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "+OK") {
		return "", fmt.Errorf("server said %q", strings.TrimSpace(line))
	}
	return strings.TrimSpace(line), nil
}

// multi reads a multi-line body up to ".", returning its octets with
// dot-stuffing undone and, if lines is set, each line.
func (p *popConn) multi(lines func([]byte)) (int64, error) {
	var n int64
	for {
		l, err := p.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return n, errors.New("line too long")
		}
		if err != nil {
			return n, err
		}
		if len(l) == 3 && l[0] == '.' && l[1] == '\r' {
			return n, nil
		}
		if l[0] == '.' {
			l = l[1:]
		}
		n += int64(len(l))
		if lines != nil {
			lines(l)
		}
	}
}

func (p *popConn) cmd(cmd string) (string, error) {
	if err := p.send(cmd); err != nil {
		return "", err
	}
	return p.status()
}

// session runs one whole POP3 session and returns the messages and octets
// downloaded.
func session(cfg loadConfig, user string, ph *phases) (int64, int64, error) {
	t := time.Now()
	lap := func(d *time.Duration) {
		now := time.Now()
		*d += now.Sub(t)
		t = now
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, cfg.Timeout)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cfg.Timeout))
	p := &popConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c)}
	if _, err := p.status(); err != nil {
		return 0, 0, fmt.Errorf("greeting: %w", err)
	}
	lap(&ph.Connect)
	if _, err := p.cmd("USER " + user); err != nil {
		return 0, 0, fmt.Errorf("USER: %w", err)
	}
	if _, err := p.cmd("PASS " + cfg.Password); err != nil {
		return 0, 0, fmt.Errorf("PASS: %w", err)
	}
	lap(&ph.Login)
	st, err := p.cmd("STAT")
	if err != nil {
		return 0, 0, fmt.Errorf("STAT: %w", err)
	}
	f := strings.Fields(st)
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("STAT: %q", st)
	}
	count, _ := strconv.Atoi(f[1])
	sizes := make([]int64, 0, count)
	if _, err := p.cmd("LIST"); err != nil {
		return 0, 0, fmt.Errorf("LIST: %w", err)
	}
	if _, err := p.multi(func(l []byte) {
		if sp := bytes.IndexByte(l, ' '); sp > 0 {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(l[sp+1:])), 10, 64)
			sizes = append(sizes, n)
		}
	}); err != nil {
		return 0, 0, fmt.Errorf("LIST: %w", err)
	}
	if count == 0 {
		return 0, 0, errors.New("the maildrop is empty")
	}
	if len(sizes) != count {
		return 0, 0, fmt.Errorf("LIST has %d messages; STAT said %d", len(sizes), count)
	}
	if cfg.Sums != nil && count != cfg.Sums.n {
		return 0, 0, fmt.Errorf("STAT says %d messages; %d were seeded", count, cfg.Sums.n)
	}
	if _, err := p.cmd("UIDL"); err != nil {
		return 0, 0, fmt.Errorf("UIDL: %w", err)
	}
	if _, err := p.multi(nil); err != nil {
		return 0, 0, fmt.Errorf("UIDL: %w", err)
	}
	lap(&ph.List)

	// RETR all, with up to cfg.Pipeline commands in flight (RFC 2449
	// PIPELINING); the writer runs ahead of the reader.
	depth := max(cfg.Pipeline, 1)
	var msgs, octets int64
	sent := 0
	for next := 0; next < count; next++ {
		for sent < count && sent-next < depth {
			p.w.WriteString("RETR " + strconv.Itoa(sent+1) + "\r\n")
			sent++
		}
		if err := p.w.Flush(); err != nil {
			return msgs, octets, err
		}
		if _, err := p.status(); err != nil {
			return msgs, octets, fmt.Errorf("RETR %d: %w", next+1, err)
		}
		var sum uint32
		var check func([]byte)
		if cfg.Sums != nil {
			check = func(l []byte) { sum = crc32.Update(sum, castagnoli, l) }
		}
		n, err := p.multi(check)
		if err != nil {
			return msgs, octets, fmt.Errorf("RETR %d: %w", next+1, err)
		}
		if n != sizes[next] {
			return msgs, octets, fmt.Errorf("RETR %d: got %d octets; LIST said %d", next+1, n, sizes[next])
		}
		if cfg.Sums != nil && !cfg.Sums.set[sum] {
			return msgs, octets, fmt.Errorf("RETR %d: the message read (%d octets, CRC-32C %08x) is none of those stored", next+1, n, sum)
		}
		msgs++
		octets += n
	}
	lap(&ph.Retr)
	if _, err := p.cmd("QUIT"); err != nil {
		return msgs, octets, fmt.Errorf("QUIT: %w", err)
	}
	io.Copy(io.Discard, p.r)
	lap(&ph.Quit)
	return msgs, octets, nil
}
