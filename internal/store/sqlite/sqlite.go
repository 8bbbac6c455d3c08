// Package sqlite is the embedded storage engine: one SQLite file in WAL mode,
// through modernc.org/sqlite (pure Go, so the binary needs no C toolchain).
//
// Writes go through one connection (SQLite has one writer at a time; queuing
// in Go avoids SQLITE_BUSY), reads through a pool of read-only connections
// that WAL lets run beside the writer. Concurrent writes share commits
// (group commit); a delivery or APPEND is acknowledged only after a sync of
// the WAL that began after its commit (walLog), which runs while the next
// batch is written.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure the engine.
type Options struct {
	Logger *slog.Logger
	// ReadConns is the size of the read pool; 0 means a default.
	ReadConns int
	// NoGroupCommit turns group commit of writes off (for measuring).
	NoGroupCommit bool
	// SummaryCacheBytes bounds the header summaries kept in memory for
	// SEARCH; 0 means a default, negative none.
	SummaryCacheBytes int
	// BodyGrace is how long a body stays readable after its last message
	// went (sqlstore.DefaultBodyGrace when 0; negative: no background sweep).
	BodyGrace time.Duration
	// Pragmas are added to every connection's, in the DSN's _pragma form
	// ("max_page_count(2000)": tests make a database full with it).
	Pragmas []string

	// beforeWALSync, when set, runs at the start of every sync of the
	// write-ahead log; an error fails that sync (tests).
	beforeWALSync func() error
	// checkpointed, when set, is told the log's frames and those copied
	// into the database file after every checkpoint of the checkpointer
	// (tests).
	checkpointed func(logFrames, copied int)
	// sweepListed is sqlstore.Options.SweepListed (tests).
	sweepListed func()
}

// Open opens (creating when missing) the database file at path.
func Open(ctx context.Context, path string, o Options) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	// cache_size is each pool's own (the driver applies only the first
	// of two pragmas of one name).
	pragmas := []string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)"}
	pragmas = append(pragmas, o.Pragmas...)
	const cacheKiB = "cache_size(-32000)"
	dsn := func(extra ...string) string {
		v := url.Values{}
		for _, p := range append(pragmas, extra...) {
			v.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
	}
	// temp_store(2) keeps the writer's statement journals in memory: a
	// savepoint (one per created mailbox, per item of a bulk edit) that
	// outgrew SQLite's 64 KiB spill threshold wrote its journal to an
	// unlinked temporary file, a write(2) per page it touched, a third of
	// the CPU of creating 20,000 mailboxes (docs/performance.md). The
	// journal holds only the pages a savepoint changed that existed when
	// it began. The readers keep temp_store's default: a large ORDER BY
	// may spill its sort to a file there rather than hold it.
	w, err := sql.Open("sqlite", dsn(cacheKiB, fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint), "temp_store(2)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Creating the schema needs write access; fail early with the path.
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS gatehouse_probe (x INTEGER); DROP TABLE gatehouse_probe`); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %s is not writable: %w", path, err)
	}
	// The read connections read through SQLite's page cache (pread), not
	// a memory map: in WAL mode every write makes each reader drop what it
	// holds at its next transaction, and a mapped reader does so with
	// munmap and then a page fault per page it touches again, which cost
	// a third of the server's CPU under a load that writes while it reads
	// (bench/imapload -mode mixed; see docs/performance.md).
	r, err := sql.Open("sqlite", dsn("query_only(1)", cacheKiB))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := o.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// Message bodies are read through connections of their own with a
	// small page cache. A body's pages are read once per download; in a
	// large cache they pile up until the next write anywhere makes the
	// connection drop its whole cache, and freeing those pages (the
	// allocator hands them back to the kernel with madvise, and faults
	// them in again on the next allocation) cost an eighth of the CPU of
	// a POP3 download (docs/performance.md). A cache that is full
	// recycles its own pages instead. The B-tree's inner pages are
	// touched by every read and stay.
	rb, err := sql.Open("sqlite", dsn("query_only(1)", fmt.Sprintf("cache_size(%d)", bodyCacheKiB)))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	rb.SetMaxOpenConns(n)
	rb.SetMaxIdleConns(n)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		w.Close()
		r.Close()
		rb.Close()
		return nil, err
	}
	// The checkpointer's connection: small cache, it reads nothing.
	ck, err := sql.Open("sqlite", dsn("cache_size(-64)"))
	if err != nil {
		w.Close()
		r.Close()
		rb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	cp := startCheckpointer(ck, o.Logger, o.checkpointed)
	d := Dialect
	dir := filepath.Dir(path)
	d.IsStorageFull = func(err error) bool { return storageFull(err, dir) }
	wal := &walLog{path: path + "-wal", before: o.beforeWALSync}
	db, err := sqlstore.Open(ctx, sqlstore.Options{
		Dialect:     d,
		Write:       w,
		Read:        r,
		BodyRead:    rb,
		Migrations:  sub,
		Logger:      o.Logger,
		GroupCommit: !o.NoGroupCommit,
		SyncLog:     wal.sync,
		Close:       func() error { return errors.Join(cp.close(), wal.close()) },

		SummaryCacheBytes: o.SummaryCacheBytes,
		BodyGrace:         o.BodyGrace,
		SweepListed:       o.sweepListed,
	})
	if err != nil {
		cp.close()
		w.Close()
		r.Close()
		rb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return db, nil
}

// bodyCacheKiB is the page cache of a body-reading connection, in KiB as
// the negative form of PRAGMA cache_size says (about 60 pages).
const bodyCacheKiB = -256

// Dialect is SQLite's.
var Dialect = sqlstore.Dialect{
	Name:            "sqlite",
	FolderParam:     "+?",
	CacheStatements: true,
	Rebind:          func(q string) string { return q },
	SyncPragma: func(relaxed bool) string {
		if relaxed {
			return "PRAGMA synchronous = NORMAL"
		}
		return "PRAGMA synchronous = FULL"
	},
	IsUnique: func(err error) (bool, string) {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false, ""
		}
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// "UNIQUE constraint failed: mailboxes.alias_lc"
			msg := e.Error()
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				return true, strings.TrimSuffix(strings.TrimSpace(msg[i+len("failed: "):]), ")")
			}
			return true, ""
		}
		return false, ""
	},
	IsRetryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY)
	},
	IsStorageFull: func(err error) bool { return storageFull(err, "") },
}

// storageFull reports a write that failed for want of space. SQLite's unix
// VFS answers a write that hit ENOSPC with SQLITE_FULL, as it does a
// database at its max_page_count; a few other paths (growing the -shm
// file, preallocating) answer SQLITE_IOERR_* without the errno, which
// modernc.org/sqlite does not pass on. For those, the free space of the
// database's directory (dir, when known) decides.
func storageFull(err error, dir string) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return true
	case sqlite3.SQLITE_IOERR:
		return dir != "" && lowOnSpace(dir)
	}
	return false
}
