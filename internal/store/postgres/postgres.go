// Package postgres is the multi-node storage engine on PostgreSQL, through
// pgx/v5's database/sql driver. It shares every query with the SQLite engine
// (package sqlstore); only the DDL and the dialect differ.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver

	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure the engine.
type Options struct {
	Logger *slog.Logger
	// MaxConns bounds the connection pool; 0 means a default.
	MaxConns int
	// SummaryCacheBytes bounds the header summaries kept in memory for
	// SEARCH; 0 means a default, negative none.
	SummaryCacheBytes int
	// BodyGrace is how long a body stays readable after its last message
	// went (sqlstore.DefaultBodyGrace when 0; negative: no background sweep).
	BodyGrace time.Duration
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string) and applies pending migrations.
func Open(ctx context.Context, dsn string, o Options) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	n := o.MaxConns
	if n <= 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: cannot reach %s: %s", redact(dsn), oneLine(err))
	}
	// Flag changes and expunges commit without waiting for the disk
	// (ARCHITECTURE.md, Durability). A pool of their own, whose sessions
	// have synchronous_commit off from their start, saves the SET LOCAL
	// that each of their transactions would otherwise begin with: on a
	// busy machine every round trip to the server costs a wake-up of its
	// backend process.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.RuntimeParams["synchronous_commit"] = "off"
	relaxed := stdlib.OpenDB(*cfg)
	relaxed.SetMaxOpenConns(max(2, n/2))
	relaxed.SetMaxIdleConns(max(2, n/2))
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		relaxed.Close()
		return nil, err
	}
	// Two nodes starting at once must not both migrate: a transaction-wide
	// advisory lock is not enough across our per-file transactions, so hold
	// a session lock on one connection for the whole run.
	lockConn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		relaxed.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := lockConn.ExecContext(ctx, `SELECT pg_advisory_lock(7406114)`); err != nil {
		lockConn.Close()
		db.Close()
		relaxed.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Options{
		Dialect:      Dialect,
		Write:        db,
		Read:         db,
		RelaxedWrite: relaxed,
		Migrations:   sub,
		Logger:       o.Logger,

		SummaryCacheBytes: o.SummaryCacheBytes,
		BodyGrace:         o.BodyGrace,
	})
	lockConn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7406114)`)
	lockConn.Close()
	if err != nil {
		db.Close()
		relaxed.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// oneLine folds pgx's multi-line connection errors into one line, so that a
// start failure is one clear line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	}
	return "the configured server"
}

// Dialect is PostgreSQL's.
var Dialect = sqlstore.Dialect{
	Name:   "postgres",
	Rebind: rebind,
	IsUnique: func(err error) (bool, string) {
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "23505" {
			return true, e.ConstraintName
		}
		return false, ""
	},
	// 40001 serialization failure, 40P01 deadlock; and 53200 "out of
	// shared memory", which a SERIALIZABLE transaction gets when the
	// server's table of predicate locks is full: the locks of transactions
	// that overlapped it go when those end, so a retry after the backoff
	// finds room (seen removing thousands of mailboxes one after another
	// while other databases of the server were busy).
	IsRetryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01" || e.Code == "53200")
	},
	// 53100 disk_full ("could not extend file ...: No space left on
	// device"). Not 53200 out_of_memory or 53300 too_many_connections:
	// freeing disk space cures neither.
	IsStorageFull: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "53100"
	},
	LockFolders:     `SELECT id FROM folders WHERE id IN (%s) ORDER BY id FOR UPDATE`,
	RelaxedTx:       `SET LOCAL synchronous_commit TO OFF`,
	SkipLocked:      ` FOR UPDATE SKIP LOCKED`,
	UpdateTxOptions: &sql.TxOptions{Isolation: sql.LevelSerializable},
	ReadTxOptions:   &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	// FOR NO KEY UPDATE: the lock that a quota check holds must not wait
	// for (or block) the key-share locks of inserting a folder.
	LockMailboxes: `SELECT id FROM mailboxes WHERE id IN (%s) ORDER BY id FOR NO KEY UPDATE`,
	Pipeline:      pipeline,
	ReadPipeline:  readPipeline,
	// The CTE's FOR UPDATE takes the row lock and reads the row's newest
	// version (waiting for a concurrent writer to finish); the UPDATE
	// then writes that same locked row, so no two sessions claim the
	// same messages and no UID is left out.
	ClaimRecent: `WITH o AS (SELECT first_recent_uid, uid_next FROM folders WHERE id = ? FOR UPDATE),
		u AS (UPDATE folders SET first_recent_uid = o.uid_next FROM o WHERE folders.id = ? AND o.first_recent_uid < o.uid_next)
		SELECT first_recent_uid, uid_next FROM o`,
}

// rebind turns ? placeholders into $1, $2, ... Our statements never hold a
// ? inside a string literal.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// pipeline implements sqlstore.Dialect.Pipeline with a pgx batch: BEGIN
// and every statement go out together, and pgx reads their results in
// order; then COMMIT (or ROLLBACK) is a second round trip, whose answer
// comes once the commit is flushed (synchronous_commit on).
func pipeline(ctx context.Context, pool *sql.DB, qs []sqlstore.PipelineQuery, check func() error) error {
	c, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		for _, q := range qs {
			b.Queue(rebind(q.SQL), q.Args...)
		}
		br := pc.SendBatch(ctx, b)
		_, err := br.Exec()
		for _, q := range qs {
			if err != nil {
				break
			}
			err = runPipelined(br, q)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = check()
		}
		end := "COMMIT"
		if err != nil {
			end = "ROLLBACK"
		}
		if _, xerr := pc.Exec(ctx, end); xerr != nil {
			// The connection's state is unknown: database/sql drops it.
			pc.Close(context.WithoutCancel(ctx))
			if err == nil {
				err = fmt.Errorf("commit: %w", xerr)
			}
			return errors.Join(err, driver.ErrBadConn)
		}
		return err
	})
}

// readPipeline implements sqlstore.Dialect.ReadPipeline with a pgx batch:
// BEGIN of a read-only REPEATABLE READ snapshot, every query and COMMIT go
// out together and come back in one round trip. Should a query fail, the
// server skips the rest of the batch and leaves the transaction aborted;
// a ROLLBACK then ends it (a second round trip, on errors only), and a
// connection whose state is still unknown is dropped.
func readPipeline(ctx context.Context, pool *sql.DB, qs []sqlstore.PipelineQuery) error {
	c, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		for _, q := range qs {
			b.Queue(rebind(q.SQL), q.Args...)
		}
		b.Queue("COMMIT")
		br := pc.SendBatch(ctx, b)
		_, err := br.Exec()
		for _, q := range qs {
			if err != nil {
				break
			}
			err = runPipelined(br, q)
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if pc.PgConn().TxStatus() != 'I' {
			if _, xerr := pc.Exec(ctx, "ROLLBACK"); xerr != nil {
				pc.Close(context.WithoutCancel(ctx))
				return errors.Join(err, xerr, driver.ErrBadConn)
			}
		}
		return err
	})
}

// runPipelined reads the result of q from br: its one row into q.Row, each
// row to q.Each, or none.
func runPipelined(br pgx.BatchResults, q sqlstore.PipelineQuery) error {
	switch {
	case q.Row != nil:
		return br.QueryRow().Scan(q.Row...)
	case q.Each != nil:
		rows, err := br.Query()
		for err == nil && rows.Next() {
			err = q.Each(rows.Scan)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		return err
	default:
		_, err := br.Exec()
		return err
	}
}
