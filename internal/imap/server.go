// Package imap is Gatehouse's IMAP4 protocol engine: IMAP4rev2 (RFC 9051)
// and IMAP4rev1 (RFC 3501), chosen per connection with ENABLE IMAP4rev2,
// with the extensions listed in commands.go (the capability list is built
// from it).
//
// The engine knows nothing of users or storage beyond the small Backend
// interface it defines; package backend/imapadapter implements it over the
// store.
//
// Invariants:
//   - One goroutine per connection reads and executes commands; none other
//     exists while the connection waits (IDLE updates are pushed by a
//     short-lived goroutine started by the change callback). A waiting
//     connection holds only a small read buffer and a fresh, small stack:
//     after a command and a short pause the connection moves to a new
//     goroutine, and large buffers return to pools (about 7 kB per idle
//     connection, BenchmarkIdleMemory).
//   - A literal the engine refuses is never parsed as commands: a refused
//     synchronizing literal is never asked for, a refused non-synchronizing
//     one is read and thrown away (or the connection is closed), and the
//     rest of its command is discarded to its end.
//   - Untagged responses are written only by the connection's goroutine,
//     except while it idles (IDLE) or waits for a command, when change
//     notifications, Kick and Shutdown may write under the connection's
//     lock. No backend call made while writing to the network holds a store
//     lock or transaction.
//   - EXPUNGE responses are never sent during FETCH, STORE, SEARCH, COPY or
//     MOVE by sequence number (RFC 9051 §7.5.1); they wait for a command that
//     allows them.
//   - A panic ends only its connection, with "* BYE".
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/connlimit"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	Backend Backend
	Logger  *slog.Logger // default slog.Default()
	// TLSConfig enables STARTTLS on plain listeners.
	TLSConfig *tls.Config
	// AllowPlaintextAuth allows LOGIN and AUTHENTICATE without TLS from
	// non-loopback addresses; loopback clients may always log in.
	AllowPlaintextAuth bool
	// Greeting is the text of the "* OK" greeting (default "Gatehouse IMAP4 ready").
	Greeting string

	// MaxLineLength bounds one command line (default 64 KiB).
	MaxLineLength int
	// MaxCommandSize bounds a whole command other than APPEND, lines and
	// literals together (default 1 MiB).
	MaxCommandSize int64
	// AppendLimit bounds the message of an APPEND (default 64 MiB);
	// advertised as APPENDLIMIT (RFC 7889).
	AppendLimit int64
	// AppendBatchLimit bounds all messages of one APPEND together
	// (MULTIAPPEND, RFC 3502), which are held until they are stored at
	// once (default twice AppendLimit; never less than AppendLimit).
	AppendBatchLimit int64
	// MaxCompressors bounds the COMPRESS=DEFLATE compressors that exist at
	// once, about 1.2 MB each (default 128). A burst of responses that
	// finds none free is sent in stored deflate blocks, uncompressed.
	MaxCompressors int

	// LoginTimeout is the idle timeout before login (default 60 s);
	// IdleTimeout after it, also during IDLE (default 30 min).
	LoginTimeout time.Duration
	IdleTimeout  time.Duration
	// WriteTimeout bounds each write to a client (default 2 min).
	WriteTimeout time.Duration
	// IdleRecheck is how often an idling session asks for changes even
	// without a change signal (default 30 s).
	IdleRecheck time.Duration

	// MaxConnsPerIP bounds connections from one IP address (default 100;
	// negative: no limit). MaxConns bounds all connections (default
	// 200,000, above the 100,000 idle sessions one node is built for;
	// negative: no limit). MaxConnsPerMailbox bounds logged-in sessions of
	// one mailbox (default 16; negative: no limit).
	MaxConnsPerIP      int
	MaxConns           int
	MaxConnsPerMailbox int
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Greeting == "" {
		o.Greeting = "Gatehouse IMAP4 ready"
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = 64 << 10
	}
	if o.MaxCommandSize <= 0 {
		o.MaxCommandSize = 1 << 20
	}
	if o.AppendLimit <= 0 {
		o.AppendLimit = 64 << 20
	}
	if o.AppendBatchLimit < o.AppendLimit {
		o.AppendBatchLimit = 2 * o.AppendLimit
	}
	if o.MaxCompressors <= 0 {
		o.MaxCompressors = 128
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Minute
	}
	if o.IdleRecheck <= 0 {
		o.IdleRecheck = 30 * time.Second
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 100
	}
	if o.MaxConns == 0 {
		o.MaxConns = 200_000
	}
	if o.MaxConnsPerMailbox == 0 {
		o.MaxConnsPerMailbox = 16
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imap: server closed")

// Server is an IMAP4 server. Create it with NewServer.
type Server struct {
	opts     Options
	log      *slog.Logger
	commands map[string]*command
	bufs     bufPools

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]func() // each with its release from limits
	limits    *connlimit.Limiter
	perUser   map[string]int
	closing   bool
	nextID    uint64
	wg        sync.WaitGroup
	ticker    *time.Ticker // IDLE re-checks; one for all connections

	// cmdCtx is the parent of every command's context; Shutdown cancels
	// it (stopCmds) when its grace is over, and sets cutting first.
	cmdCtx   context.Context
	stopCmds context.CancelFunc
	cutting  atomic.Bool

	// loopback, when set, overrides the loopback test of client addresses
	// (tests of the plaintext login policy run on 127.0.0.1).
	loopback func(net.Addr) bool
}

// NewServer returns a server; it serves nothing until Serve.
func NewServer(o Options) *Server {
	o.setDefaults()
	s := &Server{
		opts:      o,
		log:       o.Logger.With("proto", "imap"),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]func()),
		limits:    connlimit.New(o.MaxConnsPerIP, o.MaxConns),
		perUser:   make(map[string]int),
	}
	s.bufs.init(o.MaxLineLength, o.MaxCompressors)
	s.cmdCtx, s.stopCmds = context.WithCancel(context.Background())
	s.loopback = isLoopback
	s.commands = commandTable()
	return s
}

// Serve accepts connections on l until Shutdown or an accept error. A
// listener made with tls.NewListener serves implicit TLS (port 993).
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	if s.ticker == nil {
		s.ticker = time.NewTicker(s.opts.IdleRecheck)
		go s.recheckIdle(s.ticker)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imap: accept: %w", err)
		}
		delay = 0
		c, ok := s.register(nc)
		if !ok {
			continue
		}
		go c.serve()
	}
}

// recheckIdle periodically makes idling sessions look for changes; one
// goroutine and no timer per connection.
func (s *Server) recheckIdle(t *time.Ticker) {
	for range t.C {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return
		}
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.recheck()
		}
	}
}

// register accounts a new connection, refusing it over the per-IP or total
// limit or during shutdown.
func (s *Server) register(nc net.Conn) (*conn, bool) {
	ip := hostOf(nc.RemoteAddr())
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return nil, false
	}
	release, err := s.limits.Acquire(nc.RemoteAddr())
	if err != nil {
		s.mu.Unlock()
		text := "Too many connections from your address"
		if errors.Is(err, connlimit.ErrTotal) {
			text = "Too many connections, try again later"
		}
		s.log.Warn("connection refused", "remote", ip, "reason", err)
		// Best effort, off the accept loop.
		go func() {
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			nc.Write([]byte("* BYE [UNAVAILABLE] " + text + "\r\n"))
			nc.Close()
		}()
		return nil, false
	}
	s.nextID++
	c := newConn(s, nc, ip, s.nextID)
	s.conns[c] = release
	s.wg.Add(1)
	s.mu.Unlock()
	return c, true
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	if release := s.conns[c]; release != nil {
		release()
	}
	delete(s.conns, c)
	if c.userKey != "" {
		if s.perUser[c.userKey]--; s.perUser[c.userKey] <= 0 {
			delete(s.perUser, c.userKey)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

// addUser counts a logged-in session of a mailbox; false when over the limit.
func (s *Server) addUser(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnsPerMailbox > 0 && s.perUser[key] >= s.opts.MaxConnsPerMailbox {
		return false
	}
	s.perUser[key]++
	return true
}

// shutdownBye is the text of the BYE a shutdown sends (RFC 5530
// UNAVAILABLE: the client may try again later, or elsewhere).
const shutdownBye = "[UNAVAILABLE] Server shutting down, try again later"

// answerWindow is how long Shutdown waits, once ctx is done, for
// interrupted commands to send their answer before it closes their
// connections.
const answerWindow = time.Second

// Shutdown stops accepting connections and sends "* BYE [UNAVAILABLE]" to
// every session: at once to those waiting for a command or idling, after
// the tagged response to those running one. Commands may finish until ctx
// is done; then a command still reading from the client (an APPEND literal)
// is answered "NO [UNAVAILABLE]" and any other is cancelled, each session
// gets its BYE, and after a short answer window the remaining connections
// are closed. It returns ctx.Err() when it had to interrupt commands.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ticker != nil {
		s.ticker.Stop()
	}
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown(shutdownBye)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cutting.Store(true)
	s.stopCmds()
	s.mu.Lock()
	for c := range s.conns {
		// A command blocked reading from the client fails with a timeout,
		// which finish answers as a shutdown.
		c.nc.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	t := time.NewTimer(answerWindow)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	return ctx.Err()
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// isLoopback reports whether the client connects from a loopback address.
func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	ip := net.ParseIP(hostOf(a))
	return ip != nil && ip.IsLoopback()
}
