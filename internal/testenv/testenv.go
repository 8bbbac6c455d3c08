// Package testenv starts a whole Gatehouse server for a test: every
// listener on 127.0.0.1:0, its own data directory, SQLite or a fresh
// PostgreSQL database, stopped in t.Cleanup.
package testenv

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/app"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// AdminPassword and DemoPassword are the passwords of a test server.
const (
	AdminPassword = "Admin-Test-Password-1"
	DemoPassword  = app.DefaultDemoPassword
)

// Options tune a test server.
type Options struct {
	// Postgres runs on a fresh PostgreSQL database instead of SQLite;
	// DB names an existing one (two nodes on one database).
	Postgres bool
	DB       string
	// Demo adds the sample organization.
	Demo bool
	// Configure changes the configuration before the start.
	Configure func(*config.Config)
	// Throttle keeps brute-force throttling on (off by default in tests,
	// which log in many times from one address).
	Throttle bool
}

// Env is a running test server.
type Env struct {
	*app.Server
	Config config.Config
	// DB is the PostgreSQL DSN when the server runs on PostgreSQL.
	DB string
	// Out holds what the server printed at start.
	Out string
	// Log holds the server's structured log.
	Log *SafeBuffer
}

// SafeBuffer is a bytes.Buffer safe for concurrent use.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SafeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SafeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Cheap argon2id parameters: tests log in often and hash with -race.
var testParams = auth.Params{Memory: 256, Time: 1, Threads: 1, KeyLen: 32}

// Start starts a server for t.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Listen = config.Listen{IMAP: "127.0.0.1:0", IMAPS: "127.0.0.1:0", POP3: "127.0.0.1:0", POP3S: "127.0.0.1:0",
		SMTP: "127.0.0.1:0", LMTP: "127.0.0.1:0", Submission: "127.0.0.1:0", Submissions: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	cfg.AdminPassword = AdminPassword
	cfg.Demo = o.Demo
	cfg.DemoPassword = DemoPassword
	cfg.Auth.ThrottleDisabled = !o.Throttle
	cfg.Log.Level = "debug"
	if o.Postgres || o.DB != "" {
		cfg.DB = o.DB
		if cfg.DB == "" {
			cfg.DB = pgtest.NewDatabase(t)
		}
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	var out bytes.Buffer
	logs := &SafeBuffer{}
	params := testParams
	srv, err := app.Start(context.Background(), app.Options{Config: cfg, Out: &out, Log: logs, PasswordParams: &params})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() && os.Getenv("GATEHOUSE_TEST_LOGS") != "" {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &Env{Server: srv, Config: cfg, DB: cfg.DB, Out: out.String(), Log: logs}
}

// Addr returns the address of a listener ("imap", "pop3", "lmtp", ...).
func (e *Env) Addr(name string) string { return e.Addrs[name] }

// URL returns the admin listener's base URL.
func (e *Env) URL() string { return "http://" + e.Addrs["admin"] }
