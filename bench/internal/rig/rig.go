// Package rig is what the load tools under bench/ share on Gatehouse's
// side: the load users and their messages in a store, the login flow wired
// as gatehouse serve wires it, and the server run as a child process, so
// that the server and the load are separate processes, as with Dovecot.
package rig

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/gcpace"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create load databases
)

// UserName is the address of load user i on every server.
func UserName(i int) string { return fmt.Sprintf("user%d@example.com", i) }

// MedianSize is the median size of the messages, for the tools' reports.
func MedianSize(msgs [][]byte) int {
	if len(msgs) == 0 {
		return 0
	}
	sizes := make([]int, len(msgs))
	for i, m := range msgs {
		sizes[i] = len(m)
	}
	slices.Sort(sizes)
	return sizes[len(sizes)/2]
}

// Seed creates the load users with password, each with every message in
// INBOX, delivered by several goroutines so that the store groups commits.
func Seed(ctx context.Context, st store.Store, users int, msgs [][]byte, password string) error {
	hash, err := auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams}).Hash(password)
	if err != nil {
		return err
	}
	var ids []int64
	err = st.Update(ctx, func(tx store.Tx) error {
		ids = ids[:0]
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Bench", Domain: "example.com"}); err != nil {
			return err
		}
		for i := range users {
			name := fmt.Sprintf("user%d", i)
			m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: UserName(i),
				UserPrincipalName: UserName(i), PasswordHash: hash, PopEnabled: true, ImapEnabled: true}
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create users: %w", err)
	}
	type job struct {
		raw []byte
		p   *message.Message
		id  int64
	}
	work := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				_, err := st.Deliver(ctx, []int64{j.id}, store.NewMessage{
					InternalDate: time.Now(), Raw: j.raw, Structure: j.p.Marshal(),
					Summary: store.Summary{Subject: j.p.Subject(), From: j.p.From(), To: j.p.To(), Cc: j.p.Cc(), SentDate: j.p.Date()},
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("deliver: %w", err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, raw := range msgs {
		p := message.Parse(raw)
		for _, id := range ids {
			work <- job{raw, p, id}
		}
	}
	close(work)
	wg.Wait()
	return firstErr
}

// IsPostgres reports whether db names a PostgreSQL database (a DSN)
// rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") || strings.Contains(db, "dbname=")
}

// OpenStore opens db: a PostgreSQL DSN or a SQLite file.
func OpenStore(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	if IsPostgres(db) {
		return postgres.Open(ctx, db, postgres.Options{Logger: log})
	}
	return sqlite.Open(ctx, db, sqlite.Options{Logger: log})
}

// Logins wires the login flow over st as gatehouse serve does: argon2id
// with the credential cache, access registry, login recorder, and the
// notification hub gatehouse serve would use for db (the database st was
// opened on): on PostgreSQL the hub every node shares, whose events go
// through the database (notify.Postgres), so that the figures include
// what each change costs to publish; on SQLite the in-process hub. close
// stops them (not the store).
func Logins(ctx context.Context, st store.Store, db string, log *slog.Logger) (logins *backend.Logins, hub notify.Hub, close func(), err error) {
	hub = notify.NewLocal()
	closeHub := func() error { return nil }
	if IsPostgres(db) {
		pg, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: db, Logger: log})
		if err != nil {
			return nil, nil, nil, err
		}
		hub, closeHub = pg, pg.Close
	}
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub, Logger: log})
	rec := backend.NewRecorder(st, backend.RecorderOptions{Logger: log})
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams, CacheTTL: 5 * time.Minute})
	logins = backend.NewLogins(backend.LoginsOptions{Store: st, Checker: checker, Registry: reg, Recorder: rec, Logger: log})
	return logins, hub, func() {
		rec.Close()
		reg.Close()
		if err := closeHub(); err != nil && log != nil {
			log.Warn("closing the notification hub", "err", err)
		}
	}, nil
}

// Serve listens on addr, prints "listening ADDR" for StartChild, and
// serves until SIGINT or SIGTERM, then shuts down; closed is the error
// serve returns after a shutdown.
func Serve(addr string, serve func(net.Listener) error, shutdown func(context.Context) error, closed error) error {
	// Paced as gatehouse serve paces its collector (app.Run).
	defer gcpace.Start()()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", l.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown(ctx)
	}()
	if err := serve(l); !errors.Is(err, closed) {
		return err
	}
	return nil
}

// StartChild runs this program's "serve -db db" subcommand and returns the
// address it listens on and the function that stops it.
func StartChild(db string) (addr string, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "serve", "-db", db, "-addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		cmd.Process.Kill()
		cmd.Wait()
		return "", nil, fmt.Errorf("serve: %q %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "listening ")), func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}, nil
}

// CreateDatabase drops the PostgreSQL database name, when it exists, and
// creates it afresh, through the maintenance database adminDSN names.
func CreateDatabase(ctx context.Context, adminDSN, name string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}
