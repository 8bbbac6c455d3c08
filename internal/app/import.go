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
// same store sees the mail at its sessions' next look at the folder.
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
		st, err = postgres.Open(ctx, cfg.DB, postgres.Options{Logger: log})
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
	last := ""
	imp := migration.ImportOptions{Store: st, MailboxID: mb.ID, MaxMessageSize: int64(cfg.MaxMessageSize),
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
