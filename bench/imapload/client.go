package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// client is a minimal IMAP client: tagged commands, responses read up to
// their tagged completion, literals skipped by length.
type client struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tag int
	buf []byte
	// keep makes readLine keep the literals of each line in lits (for
	// the verifier) instead of skipping them; their data is cut from
	// arena, which fetchCollector.start empties for each command (the
	// previous command's checks are done by then).
	keep  bool
	lits  [][]byte
	arena []byte
}

func dial(addr string, timeout time.Duration) (*client, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, r: bufio.NewReaderSize(nc, 32<<10), w: bufio.NewWriter(nc)}
	nc.SetDeadline(time.Now().Add(timeout))
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("* OK")) {
		nc.Close()
		return nil, fmt.Errorf("greeting: %q", line)
	}
	return c, nil
}

func (c *client) close() error { return c.nc.Close() }

// cmd sends one command and reads its response; it returns the untagged
// lines' count and an error unless the completion is OK. onLine sees every
// response line (without literals).
func (c *client) cmd(timeout time.Duration, onLine func([]byte), format string, args ...any) (int, error) {
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	c.nc.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c.w, tag+" "+format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	untagged := 0
	for {
		line, err := c.readLine()
		if err != nil {
			return untagged, err
		}
		if onLine != nil {
			onLine(line)
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			rest := line[len(tag)+1:]
			if !bytes.HasPrefix(rest, []byte("OK")) {
				return untagged, fmt.Errorf("%s", bytes.TrimSpace(rest))
			}
			return untagged, nil
		}
		untagged++
	}
}

// readLine reads one response line, skipping the data of literals it
// contains (keeping them in lits when keep is set); the returned slice is
// valid until the next call.
func (c *client) readLine() ([]byte, error) {
	c.buf = c.buf[:0]
	c.lits = nil
	for {
		part, err := c.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			c.buf = append(c.buf, part...)
			continue
		}
		if err != nil {
			return nil, err
		}
		c.buf = append(c.buf, part...)
		n := literalAtEnd(c.buf)
		if n < 0 {
			return bytes.TrimRight(c.buf, "\r\n"), nil
		}
		if c.keep {
			if int64(cap(c.arena)-len(c.arena)) < n {
				// Literals already cut keep the old arena alive.
				c.arena = make([]byte, 0, max(2*int64(cap(c.arena)), n, 64<<10))
			}
			lit := c.arena[len(c.arena) : int64(len(c.arena))+n : int64(len(c.arena))+n]
			c.arena = c.arena[:int64(len(c.arena))+n]
			if _, err := io.ReadFull(c.r, lit); err != nil {
				return nil, err
			}
			c.lits = append(c.lits, lit)
			continue
		}
		if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
			return nil, err
		}
	}
}

// literalAtEnd returns n when line ends with "{n}\r\n", else -1.
func literalAtEnd(line []byte) int64 {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) < 3 || l[len(l)-1] != '}' {
		return -1
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(string(l[i+1:len(l)-1]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// selectExists sends SELECT INBOX and returns the EXISTS it answered (-1
// when none).
func (c *client) selectExists(timeout time.Duration) (int, error) {
	exists := -1
	_, err := c.cmd(timeout, func(l []byte) {
		if f := bytes.Fields(l); len(f) == 3 && string(f[0]) == "*" && string(f[2]) == "EXISTS" {
			exists, _ = strconv.Atoi(string(f[1]))
		}
	}, "SELECT INBOX")
	return exists, err
}
