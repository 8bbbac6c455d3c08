package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
)

// checkStore compares the store's counters with its rows at start and
// repairs what is wrong, saying so in the log. A failed check does not stop
// the start: the database constraints still refuse impossible writes, and
// the read path does not depend on the counters being right.
func (s *Server) checkStore(ctx context.Context) {
	start := time.Now()
	rep, err := s.Store.Repair(ctx, false)
	if err != nil {
		s.log.Warn("store check at start failed; run 'gatehouse repair' once the database answers", "err", err)
		return
	}
	if rep.OK() {
		s.log.Debug("store check at start: nothing wrong", "folders", rep.Checked, "took", time.Since(start))
		return
	}
	s.log.Warn("store check at start found counters that do not match the stored messages; repairing",
		"folders_wrong", len(rep.Wrong), "unreferenced_bodies", rep.UnmarkedBodies)
	rep, err = s.Store.Repair(ctx, true)
	if err != nil {
		s.log.Error("store repair at start failed", "err", err)
		return
	}
	logRepair(s.log, rep)
}

func logRepair(log *slog.Logger, rep store.RepairReport) {
	for _, w := range rep.Wrong {
		log.Warn("repaired folder counters", "folder_id", w.FolderID, "mailbox_id", w.MailboxID, "folder", w.Name,
			"stored", fmt.Sprintf("%+v", w.Stored), "now", fmt.Sprintf("%+v", w.Actual))
	}
	if rep.UnmarkedBodies > 0 {
		log.Warn("marked unreferenced message bodies for the sweep", "bodies", rep.UnmarkedBodies)
	}
}

// RepairOptions configure Repair.
type RepairOptions struct {
	Config config.Config
	// Check only reports; nothing is written.
	Check bool
	Out   io.Writer
}

// Repair opens the configured store (it may be in use by running servers:
// each folder is fixed under its lock), compares every folder's counters
// with its rows and the admin search's words with the mailboxes, and
// unless Check, sets them right, marks unreferenced bodies and sweeps
// those past the grace period. It reports what it found
// on Out and returns it.
func Repair(ctx context.Context, o RepairOptions) (store.RepairReport, error) {
	cfg := o.Config
	log := slog.New(slog.DiscardHandler)
	var st store.Store
	var err error
	if cfg.DB == "" {
		// Never create a database to check: a mistyped --data would
		// otherwise be reported healthy.
		path := filepath.Join(cfg.Data, "gatehouse.db")
		if _, err := os.Stat(path); err != nil {
			return store.RepairReport{}, fmt.Errorf("no database at %s (is --data right?): %w", path, err)
		}
		st, err = sqlite.Open(ctx, path, sqlite.Options{Logger: log, BodyGrace: -1})
	} else {
		st, err = postgres.Open(ctx, cfg.DB, postgres.Options{Logger: log, BodyGrace: -1, VacuumEvery: -1})
	}
	if err != nil {
		return store.RepairReport{}, err
	}
	defer st.Close()
	rep, err := st.Repair(ctx, !o.Check)
	if err != nil {
		return rep, err
	}
	verb := "wrong"
	if rep.Fixed {
		verb = "repaired"
	}
	fmt.Fprintf(o.Out, "checked %d folders\n", rep.Checked)
	for _, w := range rep.Wrong {
		fmt.Fprintf(o.Out, "%s: folder %q (id %d, mailbox %d): messages %d→%d, unseen %d→%d, size %d→%d, uidnext %d→%d, highestmodseq %d→%d\n",
			verb, w.Name, w.FolderID, w.MailboxID, w.Stored.Messages, w.Actual.Messages, w.Stored.Unseen, w.Actual.Unseen,
			w.Stored.Size, w.Actual.Size, w.Stored.UIDNext, w.Actual.UIDNext, w.Stored.HighestModSeq, w.Actual.HighestModSeq)
	}
	if rep.UnmarkedBodies > 0 {
		if rep.Fixed {
			fmt.Fprintf(o.Out, "marked %d unreferenced message bodies for the sweep\n", rep.UnmarkedBodies)
		} else {
			fmt.Fprintf(o.Out, "wrong: %d message bodies are referenced by no message and not marked for the sweep\n", rep.UnmarkedBodies)
		}
	}
	rep.SearchWordsMissing, rep.SearchWordsExtra, err = st.RepairSearchWords(ctx, !o.Check)
	if err != nil {
		return rep, err
	}
	if n := rep.SearchWordsMissing + rep.SearchWordsExtra; n > 0 {
		what := fmt.Sprintf("the admin list's search words: %d missing, %d naming no mailbox's value (the search misses or wrongly finds mailboxes)",
			rep.SearchWordsMissing, rep.SearchWordsExtra)
		if o.Check {
			fmt.Fprintf(o.Out, "wrong: %s\n", what)
		} else {
			fmt.Fprintf(o.Out, "repaired: %s\n", what)
		}
	}
	if !o.Check {
		n, err := st.SweepBodies(ctx, time.Now().Add(-sqlstore.DefaultBodyGrace))
		if err != nil {
			return rep, err
		}
		if n > 0 {
			fmt.Fprintf(o.Out, "deleted %d message bodies unreferenced for longer than the grace period\n", n)
		}
	}
	if rep.OK() {
		fmt.Fprintln(o.Out, "nothing wrong")
	}
	return rep, nil
}

// bodyGrace is the configured grace for expunged messages' content. The
// configuration's default is 10 minutes; "0s" means "at the next sweep"
// (within a second), which the store spells as a tiny positive grace since
// its own zero means its default.
func (s *Server) bodyGrace() time.Duration {
	if g := time.Duration(s.cfg.BodyGrace); g > 0 {
		return g
	}
	return time.Millisecond
}

// vacuumEvery is the configured self-vacuum interval as postgres.Options
// takes it: the configuration's 0 (never) is the store's negative.
func (s *Server) vacuumEvery() time.Duration {
	if v := time.Duration(s.cfg.VacuumInterval); v > 0 {
		return v
	}
	return -1
}
