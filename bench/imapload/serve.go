package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/backend/imapadapter"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// serve runs Gatehouse's IMAP4 server over the database (a SQLite file or
// a PostgreSQL DSN), wired as the server wires it: store, login flow with
// argon2id and the credential cache, access registry, login recorder,
// adapter, engine. It runs until SIGINT or SIGTERM.
func serve(db, addr, cpuProfile string) error {
	stopProfile, err := cli.Profile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var st store.Store
	if strings.HasPrefix(db, "postgres://") || strings.Contains(db, "dbname=") {
		st, err = postgres.Open(ctx, db, postgres.Options{Logger: log})
	} else {
		st, err = sqlite.Open(ctx, db, sqlite.Options{Logger: log})
	}
	if err != nil {
		return err
	}
	defer st.Close()
	hub := notify.NewLocal()
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub, Logger: log})
	defer reg.Close()
	rec := backend.NewRecorder(st, backend.RecorderOptions{Logger: log})
	defer rec.Close()
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams, CacheTTL: 5 * time.Minute})
	logins := backend.NewLogins(backend.LoginsOptions{Store: st, Checker: checker, Registry: reg, Recorder: rec, Logger: log})
	be := imapadapter.New(imapadapter.Options{Mail: st, Hub: hub, Login: imapadapter.LoginFlow{Logins: logins}, Logger: log})
	srv := imap.NewServer(imap.Options{Backend: be, Logger: log, MaxConnsPerIP: -1, MaxConnsPerMailbox: 1000})

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
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, imap.ErrServerClosed) {
		return err
	}
	return nil
}

func slicesSort(v []int) { slices.Sort(v) }
