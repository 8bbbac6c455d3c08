package imap

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
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// state is a connection state (RFC 9051 §3); commands list the states they
// are valid in as a mask.
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout
)

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	id  uint64
	ip  string
	log *slog.Logger
	rd  reader
	w   writer // w.bw is nil unless held

	// Owned by the connection's goroutine, or by an async writer holding mu
	// while the connection idles.
	state state
	tls   bool
	rev2  bool
	// condstore is set once the client used CONDSTORE (RFC 7162 §3.1):
	// FETCH responses then carry MODSEQ.
	condstore bool
	// qresync is set by ENABLE QRESYNC (RFC 7162 §3.2): expunges are then
	// reported as VANISHED, and SELECT may resynchronize.
	qresync bool
	// utf8Accept is set by ENABLE UTF8=ACCEPT (RFC 6855): mailbox names and
	// quoted strings are UTF-8, as in IMAP4rev2.
	utf8Accept    bool
	loopback      bool // here, with the flags: no padding (conn stays in the 416-byte size class)
	user          User
	userKey       string
	clientName    string
	clientVersion string
	sel           *selected
	z             *compression // set by COMPRESS DEFLATE (RFC 4978)
	idleTag       string       // set while in IDLE
	lineBuf       *[]byte

	mu         sync.Mutex
	busy       bool // a command runs: only the connection's goroutine writes
	idling     bool
	closed     bool
	kickReason string
	kickTimer  *time.Timer

	kicked     atomic.Bool
	changed    atomic.Bool // the selected folder may have changed
	idleFlag   atomic.Bool // mirrors idling for lock-free checks
	pushQueued atomic.Bool
	notif      atomic.Pointer[notifyState] // NOTIFY SET (notify.go); nil without
}

func newConn(s *Server, nc net.Conn, ip string, id uint64) *conn {
	c := &conn{
		srv:      s,
		nc:       nc,
		id:       id,
		ip:       ip,
		loopback: s.loopback(nc.RemoteAddr()),
		state:    stateNotAuth,
	}
	c.log = s.log.With("conn", id, "remote", nc.RemoteAddr().String())
	c.rd.init(nc, &s.bufs)
	_, c.tls = nc.(*tls.Conn)
	return c
}

func (c *conn) serve() {
	handedOff := false
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			c.bye("Internal server error")
		}
		if !handedOff {
			c.cleanup()
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), c.srv.opts.LoginTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.log.Debug("TLS handshake failed", "err", err)
			return
		}
	}
	c.acquireWriter()
	c.w.raw("* OK [CAPABILITY ")
	c.w.raw(c.capabilities())
	c.w.raw("] ")
	c.w.raw(c.srv.opts.Greeting)
	c.w.crlf()
	c.releaseWriter()
	if c.w.err != nil {
		return
	}
	handedOff = true
	go c.loop()
}

// loop waits for one command, runs it, and hands the connection to a fresh
// goroutine: a command may grow a goroutine's stack, and a connection that
// waits for input should hold only a small one (docs/ARCHITECTURE.md,
// Performance targets: memory per idle connection).
func (c *conn) loop() {
	handedOff := false
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			c.bye("Internal server error")
		}
		if !handedOff {
			c.cleanup()
		}
	}()
	if err := c.waitInput(); err != nil {
		c.readFailed(err)
		return
	}
	for {
		if !c.next() {
			return
		}
		// Keep this goroutine, and the stack the command grew, while the
		// client keeps sending; hand over when it pauses.
		if c.rd.buffered() == 0 && !c.burstWait() {
			break
		}
	}
	handedOff = true
	go c.loop()
}

// burstWait is how long a connection's goroutine waits for the next
// command before handing the connection to a fresh goroutine.
const burstWait = 20 * time.Millisecond

// burstWait waits a little for more input; it reports whether some came.
func (c *conn) burstWait() bool {
	c.nc.SetReadDeadline(time.Now().Add(burstWait))
	wait := c.rd.wait
	if c.z != nil {
		wait = c.z.probe
	}
	if err := wait(); err != nil {
		return false // a timeout, or an error waitInput will see again
	}
	timeout := c.srv.opts.IdleTimeout
	if c.state == stateNotAuth {
		timeout = c.srv.opts.LoginTimeout
	}
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	if c.z != nil {
		// Compressed input came, but perhaps no command in it yet: wait
		// for one here, outside next, so that an IDLE session still gets
		// its updates pushed meanwhile.
		if err := c.rd.wait(); err != nil {
			return false // waitInput sees it again
		}
	}
	return true
}

// waitInput blocks until the client sends something, holding only the
// connection's small read buffer.
func (c *conn) waitInput() error {
	timeout := c.srv.opts.IdleTimeout
	if c.state == stateNotAuth {
		timeout = c.srv.opts.LoginTimeout
	}
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	return c.rd.wait()
}

// cleanup runs when the connection ends.
func (c *conn) cleanup() {
	c.mu.Lock()
	c.closed = true
	if c.kickTimer != nil {
		c.kickTimer.Stop()
	}
	c.mu.Unlock()
	c.nc.Close()
	c.notifyOff()
	if c.sel != nil {
		c.sel.folder.Close()
		c.sel = nil
	}
	if c.user != nil {
		c.user.Logout()
	}
	if c.w.bw != nil {
		c.w.bw.Reset(nil)
		c.srv.bufs.writers.Put(c.w.bw)
		c.w.bw = nil
	}
	c.releaseDeflater()
	if c.z != nil {
		c.z.close()
	}
	c.releaseLine()
	c.rd.r, c.rd.w = 0, 0
	c.rd.release()
	c.srv.unregister(c)
}

func (c *conn) acquireWriter() {
	if c.w.bw == nil {
		bw := c.srv.bufs.writers.Get().(*bufio.Writer)
		bw.Reset(c.out())
		c.w.bw = bw
	}
	c.w.utf8 = c.rev2 || c.utf8Accept
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
}

// releaseWriter flushes and returns the writer to its pool.
func (c *conn) releaseWriter() {
	if c.w.bw == nil {
		return
	}
	c.w.flush()
	c.w.bw.Reset(nil)
	c.srv.bufs.writers.Put(c.w.bw)
	c.w.bw = nil
	c.releaseDeflater()
}

// out is where a burst of responses goes: the connection, or after
// COMPRESS a compressor borrowed for the burst (compress.go).
func (c *conn) out() io.Writer {
	if c.z == nil {
		return c.nc
	}
	d := c.srv.bufs.deflater(c.nc)
	c.w.z = d
	return d
}

// releaseDeflater returns the burst's compressor, flushed by the caller.
func (c *conn) releaseDeflater() {
	if c.w.z != nil {
		c.srv.bufs.putDeflater(c.w.z)
		c.w.z = nil
	}
}

func (c *conn) acquireLine() {
	if c.lineBuf == nil {
		c.lineBuf = c.srv.bufs.line.Get().(*[]byte)
	}
}

func (c *conn) releaseLine() {
	if c.lineBuf != nil {
		*c.lineBuf = (*c.lineBuf)[:0]
		c.srv.bufs.line.Put(c.lineBuf)
		c.lineBuf = nil
	}
}

// next runs one command (or ends IDLE) once input is there; it reports
// whether to go on.
func (c *conn) next() bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.busy = true
	wasIdling := c.idling
	c.idling = false
	c.idleFlag.Store(false)
	c.mu.Unlock()

	c.acquireLine()
	c.acquireWriter()
	ctx, cancel := context.WithCancel(c.srv.cmdCtx)
	var goOn bool
	if wasIdling {
		goOn = c.endIdle()
	} else {
		goOn = c.command(ctx)
	}
	cancel()
	c.releaseWriter()
	if c.w.err != nil {
		goOn = false
	}
	c.releaseLine()
	if c.rd.buffered() == 0 {
		c.rd.release()
	}
	if c.z != nil {
		c.z.release()
	}

	c.mu.Lock()
	c.busy = false
	if c.kickTimer != nil {
		c.kickTimer.Stop()
		c.kickTimer = nil
	}
	if c.kickReason != "" && !c.closed && goOn {
		c.writeByeLocked(c.kickReason)
		goOn = false
	}
	if goOn && c.idleTag != "" {
		c.idling = true
		c.idleFlag.Store(true)
	}
	c.mu.Unlock()
	if goOn && c.idleTag != "" && c.changed.Load() {
		c.schedulePush()
	}
	if goOn && c.notifyPending() {
		c.schedulePush()
	}
	return goOn
}

// readFailed handles a read error between commands or inside one.
func (c *conn) readFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		if !c.closed {
			c.writeByeLocked("Autologout; idle for too long")
		}
		c.mu.Unlock()
		return
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.log.Debug("read failed", "err", err)
	}
}

// writeByeLocked writes "* BYE reason" and closes; c.mu is held and no
// command is writing.
func (c *conn) writeByeLocked(reason string) {
	if c.closed {
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	if c.w.bw != nil {
		// A read inside this goroutine's own command failed: its
		// responses go first, and a compressed stream has one writer.
		c.w.raw("* BYE " + reason + "\r\n")
		c.w.flush()
	} else {
		bw := c.srv.bufs.writers.Get().(*bufio.Writer)
		bw.Reset(c.out())
		bw.WriteString("* BYE " + reason + "\r\n")
		if bw.Flush() == nil && c.w.z != nil {
			c.w.z.Flush()
		}
		bw.Reset(nil)
		c.srv.bufs.writers.Put(bw)
		c.releaseDeflater()
	}
	c.closed = true
	if c.srv.cutting.Load() {
		c.closeLingering()
		return
	}
	c.nc.Close()
}

// lingerTime bounds how long a connection cut by Shutdown keeps reading
// what the client still sends after the last response.
const lingerTime = 500 * time.Millisecond

// closeLingering closes the connection without losing the last response:
// closing with unread input (the rest of an interrupted literal) resets
// the connection, and the client may then never read the response. It
// stops sending, drains input for a moment and closes.
func (c *conn) closeLingering() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
	c.nc.Close()
}

// bye writes "* BYE" from the connection's goroutine and ends the connection.
func (c *conn) bye(reason string) {
	if c.w.bw != nil {
		c.w.raw("* BYE " + reason + "\r\n")
		c.w.flush()
	} else {
		c.mu.Lock()
		c.writeByeLocked(reason)
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.nc.Close()
}

// continuation sends a command continuation request and flushes.
func (c *conn) continuation(text string) error {
	c.w.raw("+ " + text + "\r\n")
	c.w.flush()
	if c.w.err != nil {
		return errClose
	}
	return nil
}

// kick ends the session with "* BYE reason" within a second; see
// LoginRequest.Kick. It never blocks and only the first call counts.
func (c *conn) kick(reason string) {
	if !c.kicked.CompareAndSwap(false, true) {
		return
	}
	go c.doKick(reason, true)
}

// shutdown is kick for Server.Shutdown: a command under way is not cut
// after a second but may run until Shutdown's ctx is done.
func (c *conn) shutdown(reason string) {
	if !c.kicked.CompareAndSwap(false, true) {
		return
	}
	go c.doKick(reason, false)
}

func (c *conn) doKick(reason string, cut bool) {
	// An IDLE update being written to a client that does not read holds
	// the lock: give it a second, then cut the connection.
	deadline := time.Now().Add(time.Second)
	for !c.mu.TryLock() {
		if time.Now().After(deadline) {
			c.log.Info("closing session whose writes are stuck after kick")
			c.nc.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.kickReason = reason
	if !c.busy {
		// Waiting for a command or idling: nobody else writes.
		c.writeByeLocked(reason)
		return
	}
	if !cut {
		return // next writes the BYE after the current response
	}
	// After the current response; cut off a command that takes longer.
	c.kickTimer = time.AfterFunc(time.Second, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.closed && c.busy {
			c.log.Info("closing session that did not finish its command after kick")
			c.closed = true
			c.nc.Close()
		}
	})
}

// folderChanged is the change callback given to Backend Open.
func (c *conn) folderChanged() {
	c.changed.Store(true)
	if c.idleFlag.Load() || c.notif.Load() != nil {
		c.schedulePush()
	}
}

// recheck makes an idling session look for changes even without a signal:
// events can be lost (a node crashing between commit and publish). The
// server calls it periodically (Options.IdleRecheck).
func (c *conn) recheck() {
	if c.idleFlag.Load() || c.notifyWantsSelected() {
		c.changed.Store(true)
		c.schedulePush()
	}
}

func (c *conn) schedulePush() {
	if c.pushQueued.CompareAndSwap(false, true) {
		go c.push()
	}
}

// push sends pending changes to an idling client (RFC 2177: within the
// IDLE command, untagged responses flow as changes happen).
func (c *conn) push() {
	c.pushQueued.Store(false)
	if c.notif.Load() != nil {
		c.pushNotify()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.idling || c.busy || c.closed || c.sel == nil || !c.changed.Load() {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in IDLE update", "panic", r, "stack", string(debug.Stack()))
			c.closed = true
			c.nc.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.acquireWriter()
	err := c.sendUpdates(ctx, true, false)
	c.releaseWriter()
	if err != nil || c.w.err != nil {
		c.log.Debug("IDLE update failed", "err", err, "write", c.w.err)
		c.closed = true
		c.nc.Close()
	}
	c.w.err = nil
}

// endIdle reads the line that ends IDLE ("DONE", RFC 2177 §3).
func (c *conn) endIdle() bool {
	tag := c.idleTag
	c.idleTag = ""
	line, _, tooLong, err := c.rd.readLine((*c.lineBuf)[:0], c.srv.opts.MaxLineLength)
	if err != nil {
		c.readFailed(err)
		return false
	}
	if tooLong || !strings.EqualFold(string(line), "DONE") {
		c.w.raw(tag + " BAD Expected DONE\r\n")
		return c.w.err == nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.sendUpdates(ctx, true, false); err != nil {
		c.log.Warn("updates after IDLE failed", "err", err)
	}
	c.notifyAfterCommand(ctx, "IDLE", true)
	c.w.raw(tag + " OK IDLE terminated\r\n")
	return c.w.err == nil
}

// command reads one command and runs it; it reports whether to go on.
// maxTagLength is the longest tag answered as such; a longer "tag" is
// answered with an untagged BAD (RFC 9051 sets no limit; clients use a few
// characters).
const maxTagLength = 128

func (c *conn) command(ctx context.Context) bool {
	line, tail, tooLong, err := c.rd.readLine((*c.lineBuf)[:0], c.srv.opts.MaxLineLength)
	if err != nil {
		c.readFailed(err)
		return false
	}
	p := &parser{c: c, line: line, lineBuf: c.lineBuf, size: int64(len(line)) + 2, maxSize: c.srv.opts.MaxCommandSize}
	tag := p.takeWhile(isTagChar)
	if len(tag) > maxTagLength {
		// Not a tag a client would choose; echoing it would make the
		// answer as long as the junk. Answer untagged.
		tag = ""
	}
	if tooLong {
		// The start of the line is kept, so the tag can still be answered;
		// the rest, and literals announced at its end, are discarded.
		p.line, p.pos = tail, len(tail)
		if err := p.discardRest(false); err != nil {
			return c.finish(p, tag, "", err)
		}
		return c.finish(p, tag, "", &Error{Bad: true, Code: CodeTooBig, Text: "Command line too long"})
	}
	if tag != "" && p.atEOL() {
		p.done = true
		return c.finish(p, tag, "", &Error{Bad: true, Text: "Missing command"})
	}
	if tag == "" || !p.consume(' ') {
		p.pos = len(p.line)
		if err := p.discardRest(false); err != nil {
			return c.finish(p, "", "", err)
		}
		if len(line) == 0 {
			return c.finish(p, "", "", &Error{Bad: true, Text: "Empty command line"})
		}
		return c.finish(p, "", "", &Error{Bad: true, Text: "Missing or invalid tag"})
	}
	name, err := p.keyword()
	if err != nil {
		return c.finish(p, tag, "", err)
	}
	if name == "UID" {
		if err := p.sp(); err != nil {
			return c.finish(p, tag, name, err)
		}
		sub, err := p.keyword()
		if err != nil {
			return c.finish(p, tag, name, err)
		}
		name = "UID " + sub
	}
	cmd := c.srv.commands[name]
	if cmd == nil || (cmd.enabled != nil && !cmd.enabled(c)) {
		return c.finish(p, tag, name, &Error{Bad: true, Text: "Unknown command " + truncate(name, 40)})
	}
	if cmd.states&c.state == 0 {
		return c.finish(p, tag, name, &Error{Bad: true, Text: "Command " + name + " is not valid in this state"})
	}
	if cmd.maxSize != nil {
		p.maxSize = cmd.maxSize(c.srv)
	}
	c.notifyBeforeCommand(ctx, name)
	err = c.run(ctx, cmd, &request{tag: tag, name: name, uid: strings.HasPrefix(name, "UID "), p: p})
	if err == nil || isOK(err) {
		if c.sel != nil && c.state == stateSelected {
			if uerr := c.sendUpdates(ctx, !cmd.noExpunge, cmd.forceUpdate); uerr != nil {
				c.log.Warn("sending updates failed", "err", uerr)
			}
		}
	}
	if (err != errResponded || c.idleTag != "") && err != errClose && err != errPanic {
		c.notifyAfterCommand(ctx, name, !cmd.noExpunge)
	}
	return c.finish(p, tag, name, err)
}

// run calls a command handler, turning a panic into a server error that
// ends the connection.
func (c *conn) run(ctx context.Context, cmd *command, r *request) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			c.log.Error("panic in command", "cmd", r.name, "panic", rec, "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return cmd.handler(ctx, c, r)
}

var errPanic = errors.New("panic")

// truncate shortens s for use in a response.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// okResult is a successful completion with a response code.
type okResult struct {
	code string
	text string
}

func (r *okResult) Error() string { return "OK [" + r.code + "] " + r.text }

func isOK(err error) bool {
	_, ok := err.(*okResult)
	return ok
}

// errResponded means the handler wrote its tagged response itself
// (STARTTLS), or there is none yet (IDLE).
var errResponded = errors.New("responded")

// finish writes the tagged response for err: the one function that maps
// engine errors to the wire. It reports whether to go on.
func (c *conn) finish(p *parser, tag, name string, err error) bool {
	if tag == "" {
		tag = "*"
	}
	var se *syntaxError
	var ie *Error
	var ok *okResult
	switch {
	case err == nil:
		if !p.done {
			// A handler that returns success must have consumed the command.
			c.log.Error("command handler did not read to the end", "cmd", name)
			p.pos = len(p.line)
			if err := p.discardRest(false); err != nil {
				return false
			}
		}
		c.w.raw(tag + " OK " + name + " completed\r\n")
	case err == errResponded:
		return c.w.err == nil
	case errors.As(err, &ok):
		c.w.raw(tag + " OK [" + ok.code + "] " + ok.text + "\r\n")
	case err == errClose:
		return false
	case err == errPanic:
		c.bye("Internal server error")
		return false
	case errors.As(err, &se):
		p.pos = len(p.line)
		if derr := p.discardRest(false); derr != nil {
			return derr != errClose && c.finish(p, tag, name, derr)
		}
		c.w.raw(tag + " BAD " + se.Error() + "\r\n")
	case errors.As(err, &ie):
		if !p.done {
			p.pos = len(p.line)
			if derr := p.discardRest(false); derr != nil {
				return false
			}
		}
		c.w.raw(tag)
		if ie.Bad {
			c.w.raw(" BAD ")
		} else {
			c.w.raw(" NO ")
		}
		if ie.Code != "" {
			c.w.raw("[" + ie.Code + "] ")
		}
		c.w.raw(ie.Text + "\r\n")
	case errors.Is(err, context.Canceled) && c.srv.cutting.Load():
		c.w.raw(tag + " NO [UNAVAILABLE] Server shutting down before the command completed\r\n")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.w.raw(tag + " NO [UNAVAILABLE] Operation timed out\r\n")
	case isNetError(err):
		var ne *netError
		errors.As(err, &ne)
		if c.srv.cutting.Load() && errors.Is(ne.err, os.ErrDeadlineExceeded) {
			// Shutdown interrupted a read inside the command (an APPEND
			// literal): nothing was stored; the BYE follows in next.
			c.w.raw(tag + " NO [UNAVAILABLE] Server shutting down before the command completed\r\n")
			return c.w.err == nil
		}
		c.readFailed(ne.err)
		return false
	default:
		c.log.Error("command failed", "cmd", name, "err", err)
		if !p.done {
			p.pos = len(p.line)
			if derr := p.discardRest(false); derr != nil {
				return false
			}
		}
		c.w.raw(tag + " NO [UNAVAILABLE] Temporary server failure, try again later\r\n")
	}
	if c.state == stateLogout {
		c.w.flush()
		return false
	}
	return c.w.err == nil
}

// netError marks a failure to read from or write to the client.
type netError struct{ err error }

func (e *netError) Error() string { return "network: " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func isNetError(err error) bool {
	var ne *netError
	return errors.As(err, &ne)
}

// isTagChar: tag = 1*<any ASTRING-CHAR except "+">.
func isTagChar(c byte) bool { return isAstringChar(c) && c != '+' }

// request is one command being executed.
type request struct {
	tag  string
	name string
	uid  bool
	p    *parser
}

// no formats a NO response.
func no(code, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

// bad formats a BAD response.
func bad(format string, args ...any) *Error {
	return &Error{Bad: true, Text: fmt.Sprintf(format, args...)}
}
