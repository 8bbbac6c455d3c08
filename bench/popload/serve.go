package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/backend/pop3adapter"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// serve runs Gatehouse's POP3 server over the database until SIGINT or
// SIGTERM.
func serve(dbPath, addr, cpuProfile string) error {
	stopProfile, err := cli.Profile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, closeAll, err := newGatehouse(dbPath, log)
	if err != nil {
		return err
	}
	defer closeAll()

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
	if err := srv.Serve(l); !errors.Is(err, pop3.ErrServerClosed) {
		return err
	}
	return nil
}

// newGatehouse builds the POP3 server over the database, wired as the
// server wires it: store, login flow with argon2id and the credential
// cache, access registry, login recorder, adapter, engine.
func newGatehouse(dbPath string, log *slog.Logger) (*pop3.Server, func(), error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	hub := notify.NewLocal()
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub, Logger: log})
	rec := backend.NewRecorder(st, backend.RecorderOptions{Logger: log})
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams, CacheTTL: 5 * time.Minute})
	logins := backend.NewLogins(backend.LoginsOptions{Store: st, Checker: checker, Registry: reg, Recorder: rec, Logger: log})
	be := pop3adapter.New(pop3adapter.Options{Mail: st, Login: pop3adapter.LoginFlow{Logins: logins}, Hub: hub, Logger: log})
	srv := pop3.NewServer(pop3.Options{Backend: be, Logger: log})
	return srv, func() {
		rec.Close()
		reg.Close()
		st.Close()
	}, nil
}
