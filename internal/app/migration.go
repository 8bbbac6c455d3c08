package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// startMigration loads the key that seals source passwords, starts the
// migration engine and connects it to the service layer. The engine stops
// with the other background parts at Shutdown; a batch it was running
// resumes at the next start from its last committed step.
func (s *Server) startMigration() error {
	keyFile := s.cfg.Migration.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(s.cfg.Data, migration.KeyFileName)
	}
	keys, err := migration.LoadKeyring(keyFile)
	if err != nil {
		return err
	}
	// The data directory's instance lock lets a restart after a crash take
	// its batches over at once; without it (another process holds it) the
	// batches wait for their leases to expire.
	inst, err := migration.ClaimInstance(s.cfg.Data)
	if err != nil {
		s.log.Warn("migration: batches of a crashed process wait for their leases to expire (up to 30 s)", "err", err)
		inst = nil
	} else {
		s.closers = append(s.closers, func(context.Context) error { return inst.Close() })
	}
	eng := migration.New(migration.Options{Store: s.Store, Hub: s.Hub, Keyring: keys, Logger: s.log, Node: s.node, Instance: inst,
		MaxMessageSize: int64(s.cfg.MaxMessageSize), ResyncInterval: time.Duration(s.cfg.Migration.ResyncInterval),
		PollInterval: time.Duration(s.cfg.Migration.PollInterval)})
	s.Service.SetMigrationHooks(service.MigrationHooks{
		Seal: keys.Seal,
		Probe: func(ctx context.Context, server string, port int, security string, trusted []byte, user, password string) ([]string, error) {
			return migration.Source{Server: server, Port: port, Security: security, Trusted: trusted}.Probe(ctx, user, password)
		},
		Trust: func(pem []byte) ([]string, error) {
			certs, err := migration.ParseTrustedCertificates(pem, time.Now())
			return migration.DescribeCertificates(certs), err
		},
		Wake: eng.Wake,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		eng.Run(ctx)
	}()
	s.closers = append(s.closers, func(context.Context) error {
		cancel()
		<-done
		return nil
	})
	return nil
}
