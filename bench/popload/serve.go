package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/backend/pop3adapter"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
)

// serve runs Gatehouse's POP3 server over the database until SIGINT or
// SIGTERM.
func serve(db, addr, cpuProfile string) error {
	stopProfile, err := cli.Profile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, closeAll, err := newGatehouse(db, log)
	if err != nil {
		return err
	}
	defer closeAll()
	return rig.Serve(addr, srv.Serve, srv.Shutdown, pop3.ErrServerClosed)
}

// newGatehouse builds the POP3 server over the database, wired as the
// server wires it (rig.Logins).
func newGatehouse(db string, log *slog.Logger) (*pop3.Server, func(), error) {
	ctx := context.Background()
	st, err := rig.OpenStore(ctx, db, log)
	if err != nil {
		return nil, nil, err
	}
	logins, hub, closeLogins, err := rig.Logins(ctx, st, db, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	be := pop3adapter.New(pop3adapter.Options{Mail: st, Login: pop3adapter.LoginFlow{Logins: logins}, Hub: hub, Logger: log})
	srv := pop3.NewServer(pop3.Options{Backend: be, Logger: log})
	return srv, func() {
		closeLogins()
		st.Close()
	}, nil
}
