package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// walLog syncs the database's write-ahead log (the -wal file) to disk from
// a file descriptor of its own: sqlstore's group committer commits with
// synchronous=NORMAL, which writes a commit's frames into the log without
// waiting for the disk, and answers a delivery or APPEND only after a sync
// of the log that started after its commit (sqlstore.Options.SyncLog).
// Since the log is written in order, that sync makes the commit and every
// commit before it durable, as synchronous=FULL would have at the commit
// itself; the difference is that the next batch is written while the disk
// works.
//
// Why a second descriptor is safe: fsync applies to the file, whichever
// descriptor names it. SQLite keeps its POSIX locks on the database and
// -shm files, never on the log, so opening and closing the log here cannot
// drop one of its locks (closing any descriptor of a file drops the
// process's locks on that file). SQLite deletes the log only when its last
// connection closes, after checkpointing every frame into the database
// file and syncing it; the writer connection stays open while the store
// is. A log found replaced (another inode) is opened again.
type walLog struct {
	path   string
	before func() error // Options.beforeWALSync

	mu sync.Mutex
	f  *os.File
	fi os.FileInfo
}

// sync makes everything written to the log so far durable.
func (w *walLog) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.before != nil {
		if err := w.before(); err != nil {
			return err
		}
	}
	fi, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		// No log: every commit is in the database file, which SQLite
		// synced when it checkpointed the log before removing it.
		return nil
	}
	if err != nil {
		return err
	}
	if w.f == nil || !os.SameFile(fi, w.fi) {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		f, err := os.Open(w.path)
		if err != nil {
			return err
		}
		// A new log's name must survive a crash too (SQLite syncs the
		// directory at the first sync of a new log, which it no longer
		// makes itself).
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			f.Close()
			return err
		}
		w.f, w.fi = f, fi
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", w.path, err)
	}
	return nil
}

func (w *walLog) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
