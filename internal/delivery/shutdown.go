package delivery

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/connlimit"
)

// go-smtp's Server.Shutdown only closes the listeners and waits; it cannot
// tell a session waiting for its next command that the server is going
// away, and its Close after Shutdown does nothing. So every connection goes
// through a trackedConn, which knows whether a transaction is under way
// (told by the session) and can end the session's read loop with a 421 of
// its own. All writes stay on the connection's goroutine: Shutdown only sets
// flags and a read deadline; the goroutine, woken in Read, writes the 421
// and reports EOF, which go-smtp takes for a client that left.

// answerWindow is how long Shutdown waits, after its grace, for
// interrupted transfers to be answered before it closes their connections.
const answerWindow = time.Second

// tracker holds a server's open connections, within its limits.
type tracker struct {
	limits *connlimit.Limiter
	idle   time.Duration // read timeout outside a mail transaction
	log    *slog.Logger

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	stopping bool // idle sessions end at once
	cutting  bool // every session ends
}

// listener wraps l so that its connections are tracked.
func (t *tracker) listener(l net.Listener) net.Listener { return &trackingListener{Listener: l, t: t} }

type trackingListener struct {
	net.Listener
	t *tracker
}

// Accept returns the next connection within the limits; those over them are
// answered 421 and closed here, so go-smtp never sees them.
func (l *trackingListener) Accept() (net.Conn, error) {
	var nc net.Conn
	var release func()
	for {
		var err error
		nc, err = l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.t.limits == nil {
			release = func() {}
			break
		}
		if release, err = l.t.limits.Acquire(nc.RemoteAddr()); err == nil {
			break
		}
		l.t.refuse(nc, err)
	}
	tc := &trackedConn{Conn: nc, t: l.t, release: release}
	l.t.mu.Lock()
	if l.t.conns == nil {
		l.t.conns = map[*trackedConn]struct{}{}
	}
	l.t.conns[tc] = struct{}{}
	tc.stopping, tc.cutting = l.t.stopping, l.t.cutting
	l.t.mu.Unlock()
	return tc, nil
}

// refuse answers a connection over a limit with 421 (RFC 5321 §3.8: the
// client tries again later) and closes it, off the accept loop.
func (t *tracker) refuse(nc net.Conn, why error) {
	if t.log != nil {
		t.log.Warn("connection refused", "remote", nc.RemoteAddr().String(), "reason", why)
	}
	text := "Too many connections from your address, try again later"
	if errors.Is(why, connlimit.ErrTotal) {
		text = "Too many connections, try again later"
	}
	go func() {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(nc, "421 4.7.0 "+text+"\r\n")
		nc.Close()
	}()
}

// stop ends every session that has no transaction under way, and makes
// the others end after theirs.
func (t *tracker) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopping = true
	for tc := range t.conns {
		tc.mu.Lock()
		tc.stopping = true
		if !tc.inTx && !tc.inData {
			tc.interruptLocked()
		}
		tc.mu.Unlock()
	}
}

// cut ends every session: transfers still under way are refused with 421.
func (t *tracker) cut() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopping, t.cutting = true, true
	for tc := range t.conns {
		tc.mu.Lock()
		tc.stopping, tc.cutting = true, true
		tc.interruptLocked()
		tc.mu.Unlock()
	}
}

// closeAll closes what is left.
func (t *tracker) closeAll() {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for tc := range t.conns {
		conns = append(conns, tc)
	}
	t.mu.Unlock()
	for _, tc := range conns {
		tc.Close()
	}
}

// trackedConn is one client connection as go-smtp sees it (under TLS after
// STARTTLS).
type trackedConn struct {
	net.Conn
	t       *tracker
	release func() // its place within the limits

	mu          sync.Mutex
	sc          *smtp.Conn // set at the first EHLO/LHLO
	inTx        bool       // MAIL accepted, transaction not yet ended
	inData      bool       // DATA or BDAT under way
	stopping    bool
	cutting     bool
	interrupted bool // the read deadline was set to now to wake the reader
	told        bool // the client has its 421 (or go-smtp is writing it)
	closed      bool
	// kicked is the reason the access rule ended the session ("" if not):
	// it ends as at shutdown, with its own 421.
	kicked string
}

func (tc *trackedConn) interruptLocked() {
	tc.interrupted = true
	tc.Conn.SetReadDeadline(time.Now())
}

// SetReadDeadline keeps an interruption: go-smtp moves the deadline before
// every command line. Outside a mail transaction, the wait is the shorter
// idle timeout.
func (tc *trackedConn) SetReadDeadline(t time.Time) error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.interrupted {
		return nil
	}
	if !t.IsZero() && !tc.inTx && !tc.inData && tc.t.idle > 0 {
		if idle := time.Now().Add(tc.t.idle); idle.Before(t) {
			t = idle
		}
	}
	return tc.Conn.SetReadDeadline(t)
}

// SetDeadline is SetReadDeadline and SetWriteDeadline.
func (tc *trackedConn) SetDeadline(t time.Time) error {
	tc.SetWriteDeadline(t)
	return tc.SetReadDeadline(t)
}

// Read reads from the client unless the session is to end; then it says
// so with 421 (unless the session already did) and reports EOF.
func (tc *trackedConn) Read(p []byte) (int, error) {
	if tc.ending() {
		return 0, io.EOF
	}
	n, err := tc.Conn.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && tc.ending() {
		return 0, io.EOF
	}
	return n, err
}

// ending reports whether the session is to end now, and writes its 421
// when nobody else will.
func (tc *trackedConn) ending() bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	switch {
	case tc.told:
		return true
	case tc.inData && tc.cutting:
		// The message reader sees EOF; the session answers the DATA
		// with errShuttingDown (see session.read).
		return true
	case tc.cutting, tc.stopping && !tc.inTx && !tc.inData:
		tc.told = true
		tc.writeShutdownLocked()
		return true
	}
	return false
}

// writeShutdownLocked writes the 421 through the connection go-smtp uses
// (TLS after STARTTLS).
func (tc *trackedConn) writeShutdownLocked() {
	var w io.Writer = tc.Conn
	if tc.sc != nil {
		if c := tc.sc.Conn(); c != net.Conn(tc) {
			w = c
		}
	}
	tc.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	line := shutdownLine
	if tc.kicked != "" {
		line = "421 4.7.0 " + tc.kicked + "\r\n"
	}
	io.WriteString(w, line)
}

// kick ends a session the access rule no longer allows: at once when it
// waits for a command, after its transaction otherwise (the session
// refuses the transaction's next command, see session.kicked).
func (tc *trackedConn) kick(reason string) {
	if tc == nil {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.kicked != "" {
		return
	}
	tc.kicked = strings.ReplaceAll(strings.ReplaceAll(reason, "\r", " "), "\n", " ")
	tc.stopping = true
	if !tc.inTx && !tc.inData {
		tc.interruptLocked()
	}
}

// kickReason is the reason of a kick, "" if none.
func (tc *trackedConn) kickReason() string {
	if tc == nil {
		return ""
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.kicked
}

// shutdownLine is errShuttingDown on the wire.
const shutdownLine = "421 4.3.2 Service shutting down, try again later\r\n"

// Close closes the connection and forgets it.
func (tc *trackedConn) Close() error {
	tc.mu.Lock()
	closed := tc.closed
	tc.closed = true
	tc.mu.Unlock()
	if closed {
		return nil
	}
	tc.t.mu.Lock()
	delete(tc.t.conns, tc)
	tc.t.mu.Unlock()
	if tc.release != nil {
		tc.release()
	}
	return tc.Conn.Close()
}

// trackedOf returns the trackedConn under a go-smtp connection.
func trackedOf(c *smtp.Conn) *trackedConn {
	nc := c.Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return tc
}

// The session tells its connection what it is doing; a nil trackedConn
// (a connection not from Serve) ignores it.

func (tc *trackedConn) attach(c *smtp.Conn) {
	if tc == nil {
		return
	}
	tc.mu.Lock()
	tc.sc = c
	tc.mu.Unlock()
}

func (tc *trackedConn) setTx(inTx, inData bool) {
	if tc == nil {
		return
	}
	tc.mu.Lock()
	tc.inTx, tc.inData = inTx, inData
	tc.mu.Unlock()
}

// refused records that the session answers with errShuttingDown itself.
func (tc *trackedConn) refused() {
	if tc == nil {
		return
	}
	tc.mu.Lock()
	tc.told = true
	tc.mu.Unlock()
}
