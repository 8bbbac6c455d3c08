package app

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/admincenter"
	"github.com/gatehouse-mail/gatehouse/internal/api"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// adminWriteTimeout bounds the writing of one response, so that a client
// that stops reading does not hold a connection (and its slot) for ever.
// It is long: a bulk Set-CASMailbox over 100,000 mailboxes answers only
// when done.
const adminWriteTimeout = 10 * time.Minute

// adminMaxHeaderBytes bounds the request line and headers. A -Filter travels
// in the query string and is at most opath.MaxLength characters (12 KB once
// escaped); net/http's default would let 1 MB through.
const adminMaxHeaderBytes = 64 << 10

// adminHandler serves the admin listener: the admin center under /admin/,
// the REST API under /api/v1/, /metrics and /healthz.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Options{Service: s.Service, Logger: s.log.With("surface", "api")}).Handler())
	mux.Handle("/admin/", admincenter.New(admincenter.Options{Service: s.Service, Logger: s.log}).Handler())
	s.mountUserSurfaces(mux)
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusSeeOther))
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Store.View(ctx, func(tx store.Tx) error { _, err := tx.OrgConfig(ctx); return err }); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return adminTransport(mux, time.Duration(s.cfg.Admin.ReadHeaderTimeout), time.Duration(s.cfg.Admin.ReadTimeout))
}

// adminTransport adds what every admin response needs whatever handler
// serves it: HSTS under TLS (the admin center sets it too; the API and
// /metrics did not), and a body that must keep arriving. net/http's
// ReadTimeout bounds a whole request, but a body trickled one byte at a time
// would hold the connection until then; here each read of the body must get
// a byte within stall, and the whole request within total.
func adminTransport(next http.Handler, stall, total time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &stallReader{ReadCloser: r.Body, rc: http.NewResponseController(w), stall: stall, end: time.Now().Add(total)}
		}
		next.ServeHTTP(w, r)
	})
}

// stallReader sets the connection's read deadline before each read of a
// request body: now + stall, but never past end.
type stallReader struct {
	io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
}

func (b *stallReader) Read(p []byte) (int, error) {
	d := time.Now().Add(b.stall)
	if d.After(b.end) {
		d = b.end
	}
	b.rc.SetReadDeadline(d) // an error: the connection cannot (HTTP/1 hijacked); nothing to do
	return b.ReadCloser.Read(p)
}

// newAdminServer returns the admin listener's HTTP server and the listener
// it serves: ln limited to the configured connections, under TLS when tlsc
// is set.
func (s *Server) newAdminServer(ln net.Listener, tlsc *tls.Config) (*http.Server, net.Listener) {
	a := s.cfg.Admin
	srv := &http.Server{
		Handler:           s.adminHandler(),
		ReadHeaderTimeout: time.Duration(a.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(a.ReadTimeout),
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       time.Duration(a.IdleTimeout),
		MaxHeaderBytes:    adminMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln = &limitListener{Listener: ln, total: a.MaxConns, perIP: a.MaxConnsPerIP, byIP: map[string]int{},
		log: s.log.With("listener", "admin"), refuse: tlsc == nil}
	if tlsc != nil {
		c := tlsc.Clone()
		c.NextProtos = []string{"h2", "http/1.1"}
		srv.TLSConfig = c
		ln = tls.NewListener(ln, c)
	}
	return srv, ln
}

// adminTLS decides whether the admin listener bound to addr speaks TLS.
func adminTLS(a config.Admin, addr net.Addr) bool {
	switch a.TLS {
	case "on":
		return true
	case "off":
		return false
	}
	ta, ok := addr.(*net.TCPAddr)
	return !ok || !ta.IP.IsLoopback()
}

// limitListener refuses connections beyond total in all or perIP from one
// address: it closes them at once (after a 503 on a plain HTTP listener),
// so that a client holding many slow connections cannot take the admin
// listener from everyone else.
type limitListener struct {
	net.Listener
	total, perIP int
	refuse       bool // answer 503 before closing (plain HTTP only)
	log          *slog.Logger

	mu   sync.Mutex
	n    int
	byIP map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ""
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			ip = ta.IP.String()
		}
		l.mu.Lock()
		ok := l.n < l.total && l.byIP[ip] < l.perIP
		if ok {
			l.n++
			l.byIP[ip]++
		}
		l.mu.Unlock()
		if ok {
			return &limitConn{Conn: c, l: l, ip: ip}, nil
		}
		l.log.Warn("admin connection refused: too many open", "remote", ip)
		if l.refuse {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n\r\nToo many open connections.\r\n")
		}
		c.Close()
	}
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	ip   string
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
