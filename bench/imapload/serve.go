package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/backend/imapadapter"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
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
	// SIGUSR1 collects garbage and hands the free heap back to the
	// system, so that imapload idle measures what sessions hold rather
	// than what the collector has not reached yet.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			debug.FreeOSMemory()
		}
	}()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := rig.OpenStore(ctx, db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	logins, hub, closeLogins, err := rig.Logins(ctx, st, db, log)
	if err != nil {
		return err
	}
	defer closeLogins()
	be := imapadapter.New(imapadapter.Options{Mail: st, Hub: hub, Login: imapadapter.LoginFlow{Logins: logins}, Logger: log})
	srv := imap.NewServer(imap.Options{Backend: be, Logger: log, MaxConnsPerIP: -1, MaxConnsPerMailbox: 1000})
	return rig.Serve(addr, srv.Serve, srv.Shutdown, imap.ErrServerClosed)
}
