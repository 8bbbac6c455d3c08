// Package pop3 is Gatehouse's POP3 server: RFC 1939 with RFC 2449 CAPA and
// response codes, RFC 2595 STLS, RFC 5034 AUTH PLAIN and the RFC 3206
// codes. It knows nothing of storage or accounts; everything it needs comes
// through the small Backend interface.
//
// Invariants:
//   - Only QUIT in the TRANSACTION state removes messages (RFC 1939 §6). A
//     dropped connection, a timeout, a kick, a shutdown or a panic ends the
//     session without calling Maildrop.Delete.
//   - Responses go out in the order of the commands, through one buffered
//     writer per connection that is flushed when no further pipelined
//     command is waiting (RFC 2449 §6.6).
//   - Message bodies are streamed in chunks through Maildrop.ReadBody; no
//     whole message is held in memory.
//   - Passwords and AUTH payloads are never logged.
package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/connlimit"
)

// Options configure a Server.
type Options struct {
	// Backend authenticates users and opens maildrops. Required.
	Backend Backend
	// TLSConfig enables STLS (RFC 2595) and ServeTLS. Nil: no TLS at all.
	TLSConfig *tls.Config
	// AllowInsecureAuth allows USER/PASS and AUTH PLAIN without TLS from any
	// address. By default they are allowed without TLS only from loopback
	// addresses, and neither offered in CAPA nor accepted from others.
	AllowInsecureAuth bool
	// Logger receives connection and error logs; nil discards them.
	Logger *slog.Logger
	// Timeouts; zero fields take their defaults.
	Timeouts Timeouts
	// MaxErrors is the number of -ERR responses in a row after which the
	// connection is closed; 0 means 10.
	MaxErrors int
	// MaxConnsPerIP bounds the connections from one IP address (default
	// 100; negative: no limit); MaxConns bounds all connections (default
	// 10,000; negative: no limit). A connection over either is answered
	// "-ERR [SYS/TEMP]" and closed.
	MaxConnsPerIP int
	MaxConns      int
}

// Timeouts bound how long a connection may wait.
type Timeouts struct {
	// Idle is the inactivity autologout timer (RFC 1939 §3: at least 10
	// minutes); 0 means 10 minutes.
	Idle time.Duration
	// PreAuth replaces Idle before login (the AUTHORIZATION state), so that
	// a client that never logs in does not hold its connection for the
	// autologout time; 0 means 60 seconds.
	PreAuth time.Duration
	// Write bounds each write to the client (a client that stops reading a
	// message is dropped); 0 means 1 minute.
	Write time.Duration
	// Handshake bounds the TLS handshake; 0 means 30 seconds.
	Handshake time.Duration
	// Linger bounds how long a closing connection keeps reading what the
	// client still sends after the last response, so that the response is
	// not lost to a TCP reset; 0 means 1 second.
	Linger time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Idle <= 0 {
		t.Idle = 10 * time.Minute
	}
	if t.PreAuth <= 0 {
		t.PreAuth = 60 * time.Second
	}
	if t.Write <= 0 {
		t.Write = time.Minute
	}
	if t.Handshake <= 0 {
		t.Handshake = 30 * time.Second
	}
	if t.Linger <= 0 {
		t.Linger = time.Second
	}
	return t
}

// Server is a POP3 server. Create it with NewServer; serve any number of
// listeners with Serve (plain, with STLS) and ServeTLS (implicit TLS, RFC
// 8314 port 995).
type Server struct {
	backend   Backend
	tlsConfig *tls.Config
	insecure  bool
	log       *slog.Logger
	timeouts  Timeouts
	maxErrors int
	limits    *connlimit.Limiter

	// isLoopback decides whether a client may log in without TLS under the
	// default policy; tests replace it to play a remote client.
	isLoopback func(net.Addr) bool

	chunks sync.Pool // *[]byte of chunkSize, for streaming bodies

	nextID   atomic.Uint64
	closing  atomic.Bool
	mu       sync.Mutex
	lns      map[net.Listener]struct{}
	sessions map[*session]struct{}
	wg       sync.WaitGroup
}

const chunkSize = 32 << 10

// NewServer returns a server with the given options.
func NewServer(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		backend:    opts.Backend,
		tlsConfig:  opts.TLSConfig,
		insecure:   opts.AllowInsecureAuth,
		log:        log.With("proto", "pop3"),
		timeouts:   opts.Timeouts.withDefaults(),
		maxErrors:  opts.MaxErrors,
		limits:     connlimit.New(orDefault(opts.MaxConnsPerIP, 100), orDefault(opts.MaxConns, 10_000)),
		isLoopback: addrIsLoopback,
		lns:        map[net.Listener]struct{}{},
		sessions:   map[*session]struct{}{},
	}
	if s.maxErrors <= 0 {
		s.maxErrors = 10
	}
	s.chunks.New = func() any {
		b := make([]byte, chunkSize)
		return &b
	}
	return s
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func addrIsLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve accepts plain connections on l (STLS available when TLSConfig is
// set) until Shutdown. It returns ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

// ServeTLS accepts implicit-TLS connections on l, a plain TCP listener;
// the handshake happens on each connection's own goroutine.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.tlsConfig == nil {
		return errors.New("pop3: ServeTLS without a TLSConfig")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if !s.trackListener(l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(l, false)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				// Back off on temporary failures such as EMFILE rather
				// than spinning, as net/http does.
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay *= 2; delay > time.Second {
					delay = time.Second
				}
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		release, err := s.limits.Acquire(c.RemoteAddr())
		if err != nil {
			s.refuse(c, implicitTLS, err)
			continue
		}
		sess := s.newSession(c, implicitTLS)
		if !s.trackSession(sess, true) {
			release()
			c.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer release()
			defer s.trackSession(sess, false)
			sess.serve()
		}()
	}
}

// refuse answers a connection over a limit and closes it, off the accept
// loop. Over implicit TLS nothing can be said before the handshake, which
// the refusal is meant to spare; the connection is only closed.
func (s *Server) refuse(c net.Conn, implicitTLS bool, why error) {
	s.log.Warn("connection refused", "remote", c.RemoteAddr().String(), "reason", why)
	if implicitTLS {
		c.Close()
		return
	}
	go func() {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, "-ERR [SYS/TEMP] "+capitalize(why.Error())+"; try again later\r\n")
		c.Close()
	}()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// isTemporary reports an accept error that may go away (too many open
// files and the like).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) trackListener(l net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.lns[l] = struct{}{}
		return true
	}
	delete(s.lns, l)
	return true
}

func (s *Server) trackSession(sess *session, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.sessions[sess] = struct{}{}
		s.wg.Add(1)
		return true
	}
	delete(s.sessions, sess)
	return true
}

// Shutdown stops accepting connections and ends every session: a session
// waiting for a command is closed at once, a command in progress (a QUIT
// that is removing messages, a RETR being sent) may finish until ctx is
// done; then the remaining connections are closed. No session enters the
// UPDATE state because of Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.lns {
		l.Close()
	}
	for sess := range s.sessions {
		sess.interrupt()
	}
	s.mu.Unlock()

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
	// A command still running is writing a message to a client that does
	// not read it (RETR; its response has begun, so there is nothing left
	// to say) or waiting for the store: close the connections, and give a
	// store call a moment to commit or roll back before cancelling it.
	s.mu.Lock()
	for sess := range s.sessions {
		sess.abort()
	}
	s.mu.Unlock()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.mu.Lock()
		for sess := range s.sessions {
			sess.cancel()
		}
		s.mu.Unlock()
		<-done
	}
	return ctx.Err()
}
