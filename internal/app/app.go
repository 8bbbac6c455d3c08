// Package app builds a whole Gatehouse server from a configuration: store,
// change hub, login flow, protocol servers, delivery and the admin listener.
// It is the only package that imports all the others; cmd/gatehouse calls it
// and internal/testenv starts it on 127.0.0.1:0 for tests.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/backend/imapadapter"
	"github.com/gatehouse-mail/gatehouse/internal/backend/pop3adapter"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/delivery"
	"github.com/gatehouse-mail/gatehouse/internal/gcpace"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/submission"
)

// Version is set by the build (-ldflags "-X .../internal/app.Version=...").
var Version = "dev"

// Options are what the command line adds to the configuration.
type Options struct {
	Config config.Config
	// Out receives the start banner (where things listen, the generated
	// admin password); Log receives structured logs.
	Out io.Writer
	Log io.Writer
	// PasswordParams override argon2id parameters (tests use cheap ones).
	PasswordParams *auth.Params
	// Ready, when set, is called with the server once every listener is
	// bound and serving.
	Ready func(*Server)
}

// Server is a running Gatehouse.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	Store    store.Store
	Hub      notify.Hub
	Metrics  *metrics.Metrics
	Registry *access.Registry
	Checker  *auth.Checker
	Throttle *auth.Throttle
	Recorder *backend.Recorder
	Logins   *backend.Logins
	Service  *service.Service
	// Runner sends the outbound queue to the smarthost.
	Runner *submission.Runner

	// Addrs maps listener names (imap, imaps, pop3, pop3s, smtp, lmtp,
	// admin) to the addresses they are bound to.
	Addrs map[string]string
	// AdminPassword is the administrator's password when this start
	// created it (empty otherwise).
	AdminPassword string
	// AdminFingerprint is the SHA-256 fingerprint of the admin listener's
	// certificate when it serves HTTPS with a self-signed one (what
	// gatehouse shell --fingerprint pins); empty otherwise.
	AdminFingerprint string
	// adminTLS is whether the admin listener serves HTTPS.
	adminTLS bool

	// node names this process among the nodes sharing the store (the
	// change hub's and the access registry's name for it).
	node           string
	tlsConfig      *tls.Config
	adminTLSConfig *tls.Config
	listeners      []namedListener
	// servers are the protocol servers and the admin listener, which
	// Shutdown stops together; closers the other parts, stopped after them
	// in the reverse order of their start.
	servers []namedServer
	closers []func(context.Context) error
}

type namedServer struct {
	name     string
	shutdown func(context.Context) error
}

type namedListener struct {
	name string
	l    net.Listener
}

// Run starts the server and serves until ctx ends, then shuts down
// gracefully. Errors at start (a port in use, an unwritable data directory,
// an unreachable database) come back before anything is served.
func Run(ctx context.Context, o Options) error {
	// The collector's pacing is the process's, so it is set here rather
	// than in Start, which tests run many times in one process.
	defer gcpace.Start()()
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	<-ctx.Done()
	// The grace bounds the work under way; the margin bounds what follows
	// (the last login records, closing the database).
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.Config.ShutdownGrace)+10*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Start builds everything, binds every listener and starts serving.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	s := &Server{cfg: cfg, log: newLogger(cfg, o.Log), Addrs: map[string]string{}, Metrics: metrics.New(), node: notify.NewNodeID()}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Shutdown(sctx)
		}
	}()

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	if err := checkWritable(cfg.Data); err != nil {
		return nil, err
	}
	if cfg.DB == "" {
		// One server per SQLite data directory: a second one would share
		// the database file but not the in-process change hub, so neither
		// would see the other's changes (IDLE, kicks).
		unlock, err := lockData(cfg.Data)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func(context.Context) error { unlock(); return nil })
	}
	s.tightenData()
	if s.tlsConfig, err = loadOrCreateTLS(cfg, s.log); err != nil {
		return nil, err
	}
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}
	s.checkStore(ctx)

	params := auth.DefaultParams
	if o.PasswordParams != nil {
		params = *o.PasswordParams
	}
	s.Checker = auth.NewChecker(auth.CheckerOptions{Params: params, CacheTTL: time.Duration(cfg.Auth.CredentialCacheTTL)})
	if err := s.bootstrap(ctx, o.Out); err != nil {
		return nil, err
	}

	s.Registry = access.NewRegistry(access.RegistryOptions{Store: s.Store, Hub: s.Hub, Logger: s.log, Node: s.node,
		OnKick: func(p access.Protocol) { s.Metrics.Kicked(string(p)) }})
	s.closers = append(s.closers, func(context.Context) error { s.Registry.Close(); return nil })
	// Password changes and removals drop cached credentials on every node.
	cancelSub := s.Hub.Subscribe(0, func(e notify.Event) {
		if e.Kind == notify.CredentialsChanged || e.Kind == notify.MailboxRemoved {
			s.Checker.Forget(e.MailboxID)
		}
	})
	s.closers = append(s.closers, func(context.Context) error { cancelSub(); return nil })
	s.Recorder = backend.NewRecorder(s.Store, backend.RecorderOptions{Retention: time.Duration(cfg.Login.Retention),
		Logger: s.log, Metrics: s.Metrics})
	s.closers = append(s.closers, func(context.Context) error { s.Recorder.Close(); return nil })
	throttle := auth.DefaultThrottle
	throttle.Disabled = cfg.Auth.ThrottleDisabled
	throttle.Free = cfg.Auth.ThrottleFree
	throttle.LockAfter = cfg.Auth.ThrottleLockAfter
	throttle.LockUserAfter = cfg.Auth.ThrottleLockUser
	throttle.LockFor = time.Duration(cfg.Auth.ThrottleLockFor)
	// One throttle for IMAP4, POP3 and the admin sign-in: guesses at one
	// user add up whatever the surface.
	s.Throttle = auth.NewThrottle(throttle)
	lo := backend.LoginsOptions{Store: s.Store, Checker: s.Checker, Throttle: s.Throttle,
		Registry: s.Registry, Recorder: s.Recorder, Logger: s.log, Metrics: s.Metrics}
	if cfg.OAuth.Issuer != "" {
		lo.Tokens = auth.NewOIDCVerifier(auth.OIDCOptions{Issuer: cfg.OAuth.Issuer, Audience: cfg.OAuth.Audience,
			Claim: cfg.OAuth.Claim})
	}
	s.Logins = backend.NewLogins(lo)

	hostname, _ := os.Hostname()
	if err := s.startRunner(hostname); err != nil {
		return nil, err
	}
	s.Service = service.New(service.Options{Store: s.Store, Hub: s.Hub, Registry: s.Registry, Checker: s.Checker,
		Throttle: s.Throttle, Logger: s.log, Metrics: s.Metrics, Server: hostname,
		Smarthost: cfg.Outbound.Smarthost, QueueWake: s.Runner.Wake})
	if err := s.startMigration(); err != nil {
		return nil, err
	}

	if cfg.Demo {
		if err := s.seedDemo(ctx, o.Out); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.serve()
	s.banner(o.Out)
	if o.Ready != nil {
		o.Ready(s)
	}
	return s, nil
}

// startRunner starts the outbound queue runner; it stops before the store
// closes.
func (s *Server) startRunner(hostname string) error {
	o := s.cfg.Outbound
	var tlsc *tls.Config
	if o.Smarthost != "" {
		host, _, _ := net.SplitHostPort(o.Smarthost)
		tlsc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.TLS == "insecure"}
	}
	if hostname == "" {
		hostname = "localhost"
	}
	s.Runner = submission.NewRunner(submission.RunnerOptions{Store: s.Store, Hub: s.Hub, Smarthost: o.Smarthost,
		Username: o.Username, Password: o.Password, TLS: tlsc, RequireTLS: o.TLS == "required", Hostname: hostname,
		Holder: s.node, Interval: time.Duration(o.ScanInterval), RetryBase: time.Duration(o.RetryInterval),
		RetryMax: time.Duration(o.RetryMax), Lease: time.Duration(o.Lease), Logger: s.log.With("proto", "outbound")})
	ctx, cancel := context.WithCancel(context.Background())
	s.Runner.Start(ctx)
	s.closers = append(s.closers, func(context.Context) error {
		cancel()
		s.Runner.Wait()
		return nil
	})
	return nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// tightenData keeps the data directory and what it holds (the database,
// the TLS key) to the server's user: a group- or world-readable directory
// or file is logged as a warning and made private (0700, 0600). A
// directory created before the first start keeps its mode otherwise.
func (s *Server) tightenData() {
	tighten := func(path string, mode os.FileMode) {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			return
		}
		s.log.Warn("data is readable by other users; making it private", "path", path,
			"mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "new_mode", fmt.Sprintf("%04o", mode))
		if err := os.Chmod(path, mode); err != nil {
			s.log.Warn("cannot make data private", "path", path, "err", err)
		}
	}
	tighten(s.cfg.Data, 0o700)
	for _, f := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "gatehouse.db-journal", "tls-key.pem"} {
		tighten(filepath.Join(s.cfg.Data, f), 0o600)
	}
}

// createPrivate creates the file path with mode 0600 unless it exists.
// SQLite creates its -wal and -shm files with the mode of the database
// file, so creating that one first keeps all of them private whatever the
// umask.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *Server) openStore(ctx context.Context) error {
	if s.cfg.DB == "" {
		path := filepath.Join(s.cfg.Data, "gatehouse.db")
		if err := createPrivate(path); err != nil {
			return fmt.Errorf("database %s: %w", path, err)
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: s.log, BodyGrace: s.bodyGrace()})
		if err != nil {
			return err
		}
		s.Store = st
		s.Hub = notify.NewLocal()
		// gatehouse import, another process, hands its events in here, so
		// that IDLE sessions see imported mail at once.
		if l, err := notify.ListenSocket(filepath.Join(s.cfg.Data, notify.SocketName), s.Hub, s.log); err != nil {
			s.log.Warn("notify socket: gatehouse import cannot wake this server's sessions (they see its mail at their next check)", "err", err)
		} else {
			s.closers = append(s.closers, func(context.Context) error { return l.Close() })
		}
	} else {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		st, err := postgres.Open(cctx, s.cfg.DB, postgres.Options{Logger: s.log, BodyGrace: s.bodyGrace(), VacuumEvery: s.vacuumEvery()})
		if err != nil {
			return err
		}
		s.Store = st
		hub, err := notify.NewPostgres(cctx, notify.PostgresOptions{DSN: s.cfg.DB, Node: s.node, Logger: s.log})
		if err != nil {
			return err
		}
		s.Hub = hub
		s.closers = append(s.closers, func(context.Context) error { return hub.Close() })
	}
	st := s.Store
	s.closers = append(s.closers, func(context.Context) error { return st.Close() })
	return nil
}

// listen binds every configured listener before anything is served, so
// that a port in use fails the start with one clear line.
func (s *Server) listen() error {
	for _, l := range []struct{ name, addr string }{
		{"imap", s.cfg.Listen.IMAP}, {"imaps", s.cfg.Listen.IMAPS},
		{"pop3", s.cfg.Listen.POP3}, {"pop3s", s.cfg.Listen.POP3S},
		{"smtp", s.cfg.Listen.SMTP}, {"lmtp", s.cfg.Listen.LMTP},
		{"submission", s.cfg.Listen.Submission}, {"submissions", s.cfg.Listen.Submissions},
		{"admin", s.cfg.Listen.Admin}, {"autoconfig", s.cfg.Listen.Autoconfig},
	} {
		if l.addr == "" {
			continue
		}
		network, addr := "tcp", l.addr
		if p, ok := strings.CutPrefix(addr, "unix:"); ok {
			network, addr = "unix", p
			os.Remove(p)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("listen %s on %s: %w", l.name, l.addr, err)
		}
		if l.name == "admin" {
			if err := s.checkAdminAddr(ln.Addr()); err != nil {
				ln.Close()
				return err
			}
		}
		s.listeners = append(s.listeners, namedListener{l.name, ln})
		if network == "unix" {
			s.Addrs[l.name] = "unix:" + addr
		} else {
			s.Addrs[l.name] = ln.Addr().String()
		}
	}
	return nil
}

func (s *Server) serve() {
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = "localhost"
	}
	var imapSrv *imap.Server
	var popSrv *pop3.Server
	var lmtpSrv, smtpSrv, submitSrv *delivery.Server
	// SMTP and LMTP share the memory of messages being stored; what they
	// receive above 256 KiB waits in files under the data directory.
	var dataMemory *delivery.MemoryBudget
	spoolDir := filepath.Join(s.cfg.Data, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		s.log.Warn("spool directory; using the system's temporary directory", "err", err)
		spoolDir = ""
	}
	var httpSrv *http.Server
	var wg sync.WaitGroup
	for _, nl := range s.listeners {
		ln, name := nl.l, nl.name
		var serve func() error
		switch name {
		case "imap", "imaps":
			if imapSrv == nil {
				imapSrv = imap.NewServer(imap.Options{
					Backend: imapadapter.New(imapadapter.Options{Mail: s.Store, Hub: s.Hub,
						Login: imapadapter.LoginFlow{Logins: s.Logins}, Logger: s.log,
						MessageCacheBytes: messageCacheBytes(s.cfg.IMAP.MessageCache)}),
					Logger:             s.log.With("proto", "imap4"),
					TLSConfig:          s.tlsConfig,
					AllowPlaintextAuth: s.cfg.AllowInsecureAuth,
					AppendLimit:        int64(s.cfg.MaxMessageSize),
					IdleTimeout:        time.Duration(s.cfg.IMAP.IdleTimeout),
					LoginTimeout:       time.Duration(s.cfg.IMAP.PreAuthTimeout),
					MaxConnsPerIP:      s.cfg.IMAP.MaxConnsPerIP,
					MaxConns:           s.cfg.IMAP.MaxConns,
					MaxConnsPerMailbox: s.cfg.IMAP.MaxConnsPerMailbox,
				})
				s.servers = append(s.servers, namedServer{"imap", imapSrv.Shutdown})
			}
			if name == "imaps" {
				ln = tls.NewListener(ln, s.tlsConfig)
			}
			srv := imapSrv
			serve = func() error { return srv.Serve(ln) }
		case "pop3", "pop3s":
			if popSrv == nil {
				popSrv = pop3.NewServer(pop3.Options{
					Backend: pop3adapter.New(pop3adapter.Options{Mail: s.Store, Hub: s.Hub,
						Login: pop3adapter.LoginFlow{Logins: s.Logins}, Logger: s.log}),
					TLSConfig:         s.tlsConfig,
					AllowInsecureAuth: s.cfg.AllowInsecureAuth,
					Logger:            s.log.With("proto", "pop3"),
					Timeouts: pop3.Timeouts{Idle: time.Duration(s.cfg.POP3.IdleTimeout),
						PreAuth: time.Duration(s.cfg.POP3.PreAuthTimeout)},
					MaxConnsPerIP: s.cfg.POP3.MaxConnsPerIP,
					MaxConns:      s.cfg.POP3.MaxConns,
				})
				s.servers = append(s.servers, namedServer{"pop3", popSrv.Shutdown})
			}
			srv := popSrv
			if name == "pop3s" {
				serve = func() error { return srv.ServeTLS(ln) }
			} else {
				serve = func() error { return srv.Serve(ln) }
			}
		case "lmtp", "smtp", "submission", "submissions":
			if dataMemory == nil {
				n := int64(s.cfg.Delivery.DataMemory)
				if n <= 0 {
					n = max(int64(s.cfg.MaxMessageSize), 1<<20)
				}
				dataMemory = delivery.NewMemoryBudget(n)
			}
			o := delivery.Options{Store: s.Store, Hub: s.Hub, Hostname: hostname, MaxMessageSize: int64(s.cfg.MaxMessageSize),
				Logger: s.log, Metrics: s.Metrics, TLSConfig: s.tlsConfig,
				MaxConnsPerIP: s.cfg.Delivery.MaxConnsPerIP, MaxConns: s.cfg.Delivery.MaxConns,
				IdleTimeout: time.Duration(s.cfg.Delivery.IdleTimeout), Memory: dataMemory, SpoolDir: spoolDir}
			var srv *delivery.Server
			switch name {
			case "lmtp":
				lmtpSrv = delivery.NewLMTP(o)
				srv = lmtpSrv
			case "smtp":
				smtpSrv = delivery.NewSMTP(o)
				srv = smtpSrv
			default:
				// One submission server for both listeners, as IMAP4 has.
				if submitSrv == nil {
					submitSrv = delivery.NewSubmission(o, submission.New(submission.Options{Logins: s.Logins, Store: s.Store,
						AllowInsecureAuth: s.cfg.AllowInsecureAuth, QueueLifetime: time.Duration(s.cfg.Outbound.QueueLifetime),
						Queued: s.Runner.Wake, Smarthost: s.cfg.Outbound.Smarthost, Logger: s.log.With("proto", "submission")}))
					s.servers = append(s.servers, namedServer{"submission", submitSrv.Shutdown})
				}
				srv = submitSrv
			}
			if name != "submission" && name != "submissions" {
				s.servers = append(s.servers, namedServer{name, srv.Shutdown})
			}
			if name == "submissions" {
				serve = func() error { return srv.ServeTLS(ln, s.tlsConfig) }
			} else {
				serve = func() error { return srv.Serve(ln) }
			}
		case "admin":
			var tlsc *tls.Config
			if s.adminTLS {
				tlsc = s.adminTLSConfig
			}
			httpSrv, ln = s.newAdminServer(ln, tlsc)
			srv := httpSrv
			s.servers = append(s.servers, namedServer{"admin", func(ctx context.Context) error {
				err := srv.Shutdown(ctx)
				if ctx.Err() != nil {
					srv.Close() // requests still running after the grace
				}
				return err
			}})
			serve = func() error { return srv.Serve(ln) }
		case "autoconfig":
			srv := s.newAutoconfigServer()
			ln = &limitListener{Listener: ln, total: s.cfg.Admin.MaxConns, perIP: s.cfg.Admin.MaxConnsPerIP, byIP: map[string]int{},
				log: s.log.With("listener", "autoconfig"), refuse: true}
			s.servers = append(s.servers, namedServer{"autoconfig", func(ctx context.Context) error {
				err := srv.Shutdown(ctx)
				if ctx.Err() != nil {
					srv.Close()
				}
				return err
			}})
			serve = func() error { return srv.Serve(ln) }
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				s.log.Error("listener stopped", "listener", name, "err", err)
			}
		}()
	}
}

func (s *Server) banner(w io.Writer) {
	engine := "SQLite " + filepath.Join(s.cfg.Data, "gatehouse.db")
	if s.cfg.DB != "" {
		engine = "PostgreSQL"
	}
	fmt.Fprintf(w, "Gatehouse %s serving %s (%s), data in %s\n", Version, s.cfg.Domain, engine, s.cfg.Data)
	for _, l := range []struct{ name, label, hint string }{
		{"imap", "IMAP4 (STARTTLS)", "imap://%s"},
		{"imaps", "IMAP4 over TLS  ", "imaps://%s"},
		{"pop3", "POP3 (STLS)     ", "pop3://%s"},
		{"pop3s", "POP3 over TLS   ", "pop3s://%s"},
		{"smtp", "SMTP inbound    ", "smtp://%s"},
		{"lmtp", "LMTP            ", "lmtp %s"},
		{"submission", "Submission      ", "smtp://%s (STARTTLS, AUTH)"},
		{"submissions", "Submission (TLS)", "smtps://%s (AUTH)"},
		{"autoconfig", "Autoconfig      ", "http://%s/mail/config-v1.1.xml"},
	} {
		if a, ok := s.Addrs[l.name]; ok {
			fmt.Fprintf(w, "  %s  "+l.hint+"\n", l.label, a)
		}
	}
	if u := s.AdminURL(); u != "" {
		fmt.Fprintf(w, "  Admin center      %s/admin\n", u)
		fmt.Fprintf(w, "  User account      %s/account\n", u)
		fmt.Fprintf(w, "  REST API          %s/api/v1  (metrics: /metrics, health: /healthz)\n", u)
		pin := ""
		if s.AdminFingerprint != "" {
			fmt.Fprintf(w, "  Admin certificate self-signed, SHA-256 fingerprint %s\n", s.AdminFingerprint)
			pin = " --fingerprint " + s.AdminFingerprint
		}
		fmt.Fprintf(w, "  Admin shell       gatehouse shell --server %s%s --user admin\n", u, pin)
	}
}

// AdminURL returns the admin listener's base URL (https:// when it serves
// TLS), or "" when it is off.
func (s *Server) AdminURL() string {
	a, ok := s.Addrs["admin"]
	if !ok {
		return ""
	}
	// A listener on every interface is reached by the host's name.
	if host, port, err := net.SplitHostPort(a); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			if h, err := os.Hostname(); err == nil && h != "" {
				a = net.JoinHostPort(h, port)
			}
		}
	}
	if s.adminTLS {
		return "https://" + a
	}
	return "http://" + a
}

// checkAdminAddr decides whether the admin listener, bound to addr, serves
// TLS, and refuses plain HTTP on an address other than loopback unless
// admin.allow_insecure says a proxy in front takes care of TLS. The
// address checked is the bound one, so that a name resolving to a public
// address is caught too.
func (s *Server) checkAdminAddr(addr net.Addr) error {
	s.adminTLS = adminTLS(s.cfg.Admin, addr)
	if !s.adminTLS {
		if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsLoopback() && !s.cfg.Admin.AllowInsecure {
			return fmt.Errorf("listen.admin (--admin): %s is not a loopback address and admin.tls (--admin-tls) is off, "+
				"so administrators' passwords and tokens would cross the network in clear text; "+
				"use --admin-tls auto or on, or add --allow-insecure-admin behind a TLS-terminating proxy", addr)
		}
		if !config.LoopbackAddr(s.cfg.Listen.Admin) {
			s.log.Warn("the admin listener serves plain HTTP on a non-loopback address (allow-insecure-admin)", "addr", addr.String())
		}
		return nil
	}
	c, err := adminTLSConfig(s.cfg, s.tlsConfig)
	if err != nil {
		return err
	}
	s.adminTLSConfig = c
	if leaf := selfSigned(c); leaf != nil {
		s.AdminFingerprint = Fingerprint(leaf.Raw)
	}
	return nil
}

// Shutdown stops the server. Every listener stops accepting first. Then the
// protocol servers and the admin listener stop together: sessions waiting
// for a command are told at once (IMAP4 "* BYE [UNAVAILABLE]", POP3 "-ERR
// [SYS/TEMP]", SMTP and LMTP "421 4.3.2"), and commands and mail transfers
// under way may finish within the shutdown grace (or until ctx ends, if
// sooner); those still running then are answered with a temporary failure,
// nothing of them stored, and closed. The other parts stop last, in the
// reverse order of their start, so that nothing still running uses one that
// stopped (the login recorder writes its last records before the store
// closes).
func (s *Server) Shutdown(ctx context.Context) error {
	for _, nl := range s.listeners {
		nl.l.Close()
	}
	grace := time.Duration(s.cfg.ShutdownGrace)
	started := time.Now()
	if len(s.servers) > 0 {
		s.log.Info("shutting down", "grace", grace)
		defer func() { s.log.Info("stopped", "took", time.Since(started).Round(time.Millisecond)) }()
	}
	gctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		cut  []string
		errs []error
	)
	for _, ns := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := ns.shutdown(gctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil, errors.Is(err, http.ErrServerClosed), errors.Is(err, net.ErrClosed):
				// net.ErrClosed: the listener closed above.
			case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
				// The grace ran out: expected when a client is slow, and
				// each client was answered.
				cut = append(cut, ns.name)
			default:
				errs = append(errs, fmt.Errorf("shut down %s: %w", ns.name, err))
			}
		}()
	}
	wg.Wait()
	s.servers = nil
	if len(cut) > 0 {
		s.log.Info("shutdown grace over; work still under way was refused with a temporary failure", "servers", strings.Join(cut, ","))
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

// messageCacheBytes is imapadapter.Options.MessageCacheBytes for the
// configured imap.message_cache, where 0 turns the cache off.
func messageCacheBytes(size config.Size) int64 {
	if size <= 0 {
		return -1
	}
	return int64(size)
}
