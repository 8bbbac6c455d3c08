package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// state is the RFC 1939 session state. UPDATE is not a state of its own
// here: it is the QUIT command in the TRANSACTION state.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
)

// session is one client connection. All fields but those under mu are
// used by the connection's goroutine only.
type session struct {
	srv    *Server
	id     uint64
	raw    net.Conn // the TCP connection
	remote net.Addr
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	implicitTLS bool
	tls         bool
	r           *bufio.Reader
	w           *bufio.Writer

	state    state
	user     string // from USER, waiting for PASS
	username string // logged in as
	md       Maildrop
	msgs     []Message
	deleted  []bool
	nDeleted int
	errors   int // -ERR responses in a row

	readDeadlineSet  time.Time // when the idle deadline was last moved
	readDeadlineFor  state     // the state whose timeout it was set with
	writeDeadlineSet time.Time

	mu          sync.Mutex // guards the fields below and read deadlines
	conn        net.Conn   // raw, or the TLS connection over it
	kicked      bool
	kickReason  string
	interrupted bool // Shutdown asked the session to end
}

func (s *Server) newSession(c net.Conn, implicitTLS bool) *session {
	id := s.nextID.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{
		srv:         s,
		id:          id,
		raw:         c,
		conn:        c,
		remote:      c.RemoteAddr(),
		log:         s.log.With("conn", id, "remote", c.RemoteAddr().String()),
		ctx:         ctx,
		cancel:      cancel,
		implicitTLS: implicitTLS,
	}
	sess.r = bufio.NewReaderSize(c, 1024)
	sess.w = bufio.NewWriterSize(connWriter{sess}, 16<<10)
	return sess
}

// connWriter sets the write deadline before each write, so that a client
// that stops reading is dropped after Timeouts.Write without progress.
type connWriter struct{ s *session }

func (cw connWriter) Write(p []byte) (int, error) {
	s := cw.s
	c := s.conn // only the session goroutine changes conn (STLS)
	// Moving the deadline costs a timer update; doing it at most every
	// deadlineSlack (and adding it) keeps the bound between Timeouts.Write
	// and that plus the slack.
	if now := time.Now(); now.After(s.writeDeadlineSet.Add(deadlineSlack)) {
		c.SetWriteDeadline(now.Add(s.srv.timeouts.Write + deadlineSlack))
		s.writeDeadlineSet = now
	}
	return c.Write(p)
}

// deadlineSlack is how stale a read or write deadline may get before it is
// moved: timeouts fire between their value and that much later.
const deadlineSlack = 500 * time.Millisecond

// Errors that end a session.
var (
	// errClose ends the session after its response was written.
	errClose = errors.New("close connection")
	// errAbort ends the session at once: the connection is unusable (for
	// example a write failed in the middle of a message).
	errAbort = errors.New("abort connection")
	// errLineTooLong is a command line over maxLine octets.
	errLineTooLong = errors.New("line too long")
)

// kick is the LoginRequest.Kick of this session: it records the reason and
// wakes the goroutine if it is waiting for a command. It never blocks for
// longer than setting a deadline.
func (s *session) kick(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kicked {
		return
	}
	s.kicked = true
	s.kickReason = reason
	s.conn.SetReadDeadline(time.Now())
}

// interrupt asks the session to end at its next command (Shutdown).
func (s *session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interrupted = true
	s.conn.SetReadDeadline(time.Now())
}

// abort closes the connection under a running command (Shutdown past its
// deadline); the command's context stays, so that a QUIT removing
// messages commits or rolls back as a whole.
func (s *session) abort() {
	s.raw.Close()
}

// ending returns the response that ends the session before its next
// command, if a kick or a shutdown asked for one.
func (s *session) ending() *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.kicked:
		return &Error{Code: CodeSysPerm, Text: s.kickReason}
	case s.interrupted:
		return &Error{Code: CodeSysTemp, Text: "Server is shutting down; try again later"}
	}
	return nil
}

func (s *session) serve() {
	defer s.cleanup()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in POP3 session", "panic", v, "stack", string(debug.Stack()))
			s.w.WriteString("-ERR [SYS/TEMP] Internal server error\r\n")
			s.w.Flush()
		}
	}()

	if s.implicitTLS {
		if err := s.handshake(); err != nil {
			s.log.Debug("TLS handshake failed", "err", err)
			return
		}
	}
	s.log.Debug("connected", "tls", s.tls)
	s.writeLine("+OK Gatehouse POP3 server ready")
	s.w.Flush()

	for {
		line, err := s.readLine()
		if err != nil && !errors.Is(err, errLineTooLong) {
			s.endOnReadError(err)
			return
		}
		if e := s.ending(); e != nil {
			s.writeError(e)
			s.lingeringClose()
			return
		}
		if err == nil {
			if cmd := parseCommand(line); len(line)+2 > maxLine && cmd.name != "AUTH" {
				err = &Error{Text: fmt.Sprintf("Line too long (limit %d octets)", maxLine)}
			} else {
				err = s.dispatch(cmd)
			}
		} else {
			err = &Error{Text: fmt.Sprintf("Line too long (limit %d octets)", maxLine)}
		}
		switch {
		case err == nil:
			s.errors = 0
		case errors.Is(err, errClose):
			s.lingeringClose()
			return
		case errors.Is(err, errAbort):
			s.w.Flush() // what was sent so far, for the client's log
			return
		default:
			s.errors++
			if s.errors >= s.srv.maxErrors {
				s.writeError(err, " (too many errors; closing connection)")
				s.lingeringClose()
				return
			}
			s.writeError(err)
		}
		// RFC 2449 §6.6 PIPELINING: answer everything already received,
		// then send the answers together.
		if s.r.Buffered() == 0 {
			if err := s.w.Flush(); err != nil {
				s.log.Debug("write failed", "err", err)
				return
			}
		}
	}
}

// endOnReadError ends the session after a failed read: the client went
// away, the autologout timer fired, or a kick or shutdown woke us.
func (s *session) endOnReadError(err error) {
	if e := s.ending(); e != nil {
		// The client's next command reads this as its answer.
		s.writeError(e)
		s.lingeringClose()
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		// RFC 1939 §3: the autologout timer ends the session without
		// entering the UPDATE state.
		s.log.Debug("autologout", "state", s.state)
		s.writeLine("-ERR Autologout; idle for too long")
		s.lingeringClose()
		return
	}
	if !errors.Is(err, io.EOF) {
		s.log.Debug("read failed", "err", err)
	}
}

// cleanup releases the maildrop (without removing anything) and the
// connection.
func (s *session) cleanup() {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic closing POP3 session", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	s.cancel()
	s.raw.Close()
	s.releaseMaildrop()
	s.log.Debug("disconnected")
}

// releaseMaildrop unlocks the maildrop, without removing anything.
func (s *session) releaseMaildrop() {
	if s.md != nil {
		md := s.md
		s.md = nil
		md.Close()
	}
}

// lingeringClose flushes the last response, stops sending and drains what
// the client still sends for a moment before closing, so that closing with
// unread input does not reset the connection and lose that response.
func (s *session) lingeringClose() {
	err := s.w.Flush()
	// The session is over: a client that reconnects at once must find
	// the maildrop unlocked.
	s.releaseMaildrop()
	if err != nil {
		return
	}
	if tc, ok := s.conn.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if cw, ok := s.raw.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	s.mu.Lock()
	s.raw.SetReadDeadline(time.Now().Add(s.srv.timeouts.Linger))
	s.mu.Unlock()
	io.Copy(io.Discard, io.LimitReader(s.raw, 1<<20))
}

func (s *session) handshake() error {
	tc := tls.Server(s.raw, s.srv.tlsConfig)
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.timeouts.Handshake)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.conn = tc
	s.readDeadlineSet, s.writeDeadlineSet = time.Time{}, time.Time{}
	s.mu.Unlock()
	s.tls = true
	// Anything the client sent before the handshake is dropped (RFC 2595
	// §4 and the STARTTLS command injection of CVE-2011-0411).
	s.r.Reset(tc)
	s.w.Reset(connWriter{s})
	return nil
}

// readLine reads one command line and returns it without its line end.
// The slice is valid until the next read.
func (s *session) readLine() ([]byte, error) {
	s.mu.Lock()
	// A kick or a shutdown has set the deadline to now; leave it. Else
	// restart the autologout timer (the short PreAuth one before login), at
	// most every deadlineSlack and at once when the state changed.
	if now := time.Now(); !s.kicked && !s.interrupted &&
		(now.After(s.readDeadlineSet.Add(deadlineSlack)) || s.readDeadlineFor != s.state) {
		timeout := s.srv.timeouts.Idle
		if s.state == stateAuthorization {
			timeout = s.srv.timeouts.PreAuth
		}
		s.conn.SetReadDeadline(now.Add(timeout + deadlineSlack))
		s.readDeadlineSet, s.readDeadlineFor = now, s.state
	}
	s.mu.Unlock()

	// Before login a line may be as long as a SASL response can be (RFC
	// 5034 §4: bearer tokens do not fit 255 octets); the dispatcher holds
	// every other command to maxLine.
	limit := maxLine
	if s.state == stateAuthorization {
		limit = maxSASLLine
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.r.ReadSlice('\n')
			if len(long) <= limit {
				long = append(long, line...)
			}
		}
		if err != nil {
			return nil, err
		}
		if len(long) > limit {
			return nil, errLineTooLong
		}
		line = long
	}
	if err != nil {
		return nil, err
	}
	if len(line) > limit {
		return nil, errLineTooLong
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (s *session) writeLine(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// writeOK writes a single-line positive response.
func (s *session) writeOK(text string) {
	if text == "" {
		s.w.WriteString("+OK\r\n")
		return
	}
	s.w.WriteString("+OK ")
	s.writeLine(text)
}

// writeError is the one place that turns an error into its -ERR line. An
// *Error is the client's answer as it stands; anything else is an internal
// failure, logged here and answered with [SYS/TEMP].
func (s *session) writeError(err error, suffix ...string) {
	var e *Error
	if !errors.As(err, &e) {
		s.log.Error("POP3 command failed", "user", s.username, "err", err)
		e = &Error{Code: CodeSysTemp, Text: "Internal server error; try again later"}
	} else if e.Err != nil {
		s.log.Warn("POP3 command refused", "user", s.username, "code", e.Code, "err", e.Err)
	}
	s.w.WriteString("-ERR ")
	if e.Code != "" {
		s.w.WriteString("[" + e.Code + "] ")
	}
	s.w.WriteString(e.Text)
	for _, x := range suffix {
		s.w.WriteString(x)
	}
	s.w.WriteString("\r\n")
}

// errf is a protocol error without a response code.
func errf(format string, args ...any) error {
	return &Error{Text: fmt.Sprintf(format, args...)}
}

// plaintextAllowed reports whether USER/PASS and AUTH PLAIN may be used now:
// over TLS, from loopback, or everywhere when configured so (RFC 2595 §2.1;
// docs/ARCHITECTURE.md, The access rule).
func (s *session) plaintextAllowed() bool {
	return s.tls || s.srv.insecure || s.srv.isLoopback(s.remote)
}

// formatInt appends n in decimal to the writer without allocating.
func (s *session) writeInt(n int64) {
	var b [20]byte
	s.w.Write(strconv.AppendInt(b[:0], n, 10))
}
