package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store/movestore"
)

// MoveStoreOptions configure MoveStore.
type MoveStoreOptions struct {
	// Data is the SQLite data directory (the source).
	Data string
	// To is the DSN of the empty PostgreSQL database (the target).
	To       string
	Progress io.Writer
}

// MoveStore copies the store of a stopped SQLite data directory into an
// empty PostgreSQL database and verifies the copy (see package movestore).
// The data directory's lock is held throughout, so no server can start on
// it meanwhile, and the move is refused while one runs.
func MoveStore(ctx context.Context, o MoveStoreOptions) (movestore.Report, error) {
	if o.Data == "" || o.To == "" {
		return movestore.Report{}, errors.New("--data DIR and --to postgres://... are required")
	}
	path := filepath.Join(o.Data, "gatehouse.db")
	if _, err := os.Stat(path); err != nil {
		return movestore.Report{}, fmt.Errorf("no database at %s (is --data right?): %w", path, err)
	}
	unlock, err := lockData(o.Data)
	if err != nil {
		return movestore.Report{}, err
	}
	defer unlock()
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	start := time.Now()
	rep, err := movestore.Move(ctx, movestore.Options{SQLite: path, Postgres: o.To, Progress: w})
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(w, "move complete in %v: serve from PostgreSQL with --db and the same --data (its TLS certificate and migration key stay there)\n",
		time.Since(start).Round(time.Millisecond))
	return rep, nil
}
