package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// ImportOptions are the parameters of 'gatehouse import'.
type ImportOptions struct {
	Config  config.Config
	Mailbox string // an address of the mailbox
	Maildir string
	Mbox    string
	Folder  string // the folder an mbox goes into (INBOX by default)
	Out     io.Writer
}

// Import copies a Maildir or an mbox file into a mailbox, through the
// store as delivery does (one transaction per message with its import
// key, so a re-run adds only what is missing). A server running on the
// same store is told of every imported message as of a delivery, so its
// IDLE sessions see the mail at once.
func Import(ctx context.Context, o ImportOptions) (migration.ImportStats, error) {
	cfg := o.Config
	log := slog.New(slog.DiscardHandler)
	var st store.Store
	var err error
	if cfg.DB == "" {
		path := filepath.Join(cfg.Data, "gatehouse.db")
		if _, err := os.Stat(path); err != nil {
			return migration.ImportStats{}, fmt.Errorf("no database at %s (is --data right?): %w", path, err)
		}
		st, err = sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	} else {
		st, err = postgres.Open(ctx, cfg.DB, postgres.Options{Logger: log, VacuumEvery: -1})
	}
	if err != nil {
		return migration.ImportStats{}, err
	}
	defer st.Close()
	var mb store.Mailbox
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		mb, err = tx.MailboxByAddress(ctx, o.Mailbox)
		return err
	}); err != nil {
		return migration.ImportStats{}, fmt.Errorf("mailbox %s: %w", o.Mailbox, err)
	}
	// The running server hears of the imported mail as of a delivery:
	// through PostgreSQL's NOTIFY like its other nodes, or on one node
	// through its notify socket.
	var hub notify.Hub
	if cfg.DB != "" {
		h, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: cfg.DB, Logger: log})
		if err != nil {
			fmt.Fprintf(o.Out, "note: running servers will not be told of the imported mail at once (%v); their sessions see it at their next check\n", err)
		} else {
			defer h.Close()
			hub = h
		}
	} else {
		h, err := notify.DialSocket(filepath.Join(cfg.Data, notify.SocketName))
		if err != nil {
			fmt.Fprintf(o.Out, "note: no running server to tell of the imported mail at once (%v); its sessions see it at their next check\n", err)
		} else {
			defer h.Close()
			hub = h
		}
	}
	last := ""
	imp := migration.ImportOptions{Store: st, MailboxID: mb.ID, MaxMessageSize: int64(cfg.MaxMessageSize), Hub: hub,
		Progress: func(folder string, s migration.ImportStats) {
			if folder != last || s.Seen%100 == 0 {
				fmt.Fprintf(o.Out, "%s: %d messages read, %d imported, %d already there, %d skipped\n", folder, s.Seen, s.Imported, s.Already, s.Skipped)
				last = folder
			}
		}}
	var res migration.ImportStats
	if o.Maildir != "" {
		res, err = migration.ImportMaildir(ctx, imp, o.Maildir)
	} else {
		res, err = migration.ImportMbox(ctx, imp, o.Mbox, o.Folder)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(o.Out, "skipped: %s\n", p)
	}
	fmt.Fprintf(o.Out, "done: %d folders, %d messages read, %d imported, %d already imported before, %d skipped\n",
		res.Folders, res.Seen, res.Imported, res.Already, res.Skipped)
	return res, err
}
