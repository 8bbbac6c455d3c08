// Package postgres is the multi-node storage engine on PostgreSQL, through
// pgx/v5's database/sql driver. It shares every query with the SQLite engine
// (package sqlstore); only the DDL and the dialect differ.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
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
	// Tracer, when set, is told of every statement and batch sent on the
	// engine's connections (tests count round trips with it).
	Tracer pgx.QueryTracer
	// VacuumEvery is how often the busiest tables are looked at, and
	// vacuumed and analyzed when they need it, while PostgreSQL's
	// autovacuum is off for them (DefaultVacuumEvery when 0; negative: never,
	// the server only warns). With autovacuum on, nothing runs.
	VacuumEvery time.Duration
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string) and applies pending migrations.
func Open(ctx context.Context, dsn string, o Options) (*sqlstore.DB, error) {
	cfg, err := connConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.Tracer = o.Tracer
	db := stdlib.OpenDB(*cfg)
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
	relaxedCfg := cfg.Copy()
	relaxedCfg.RuntimeParams["synchronous_commit"] = "off"
	relaxed := stdlib.OpenDB(*relaxedCfg)
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
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The self-vacuum's own connection: it takes none from the mail
	// traffic's pools, and a test's Tracer does not see it.
	vacuumCfg := cfg.Copy()
	vacuumCfg.Tracer = nil
	vacuumDB := stdlib.OpenDB(*vacuumCfg)
	vacuumDB.SetMaxOpenConns(1)
	vacuumDB.SetMaxIdleConns(1)
	maintain := selfVacuum(vacuumDB, log, o.VacuumEvery, unvacuumed(ctx, vacuumDB))
	closeVacuum := vacuumDB.Close
	if maintain == nil {
		// Autovacuum does the work (or the self-vacuum is off): no idle
		// connection is kept for nothing.
		vacuumDB.Close()
		closeVacuum = nil
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
		Maintain:          maintain,
		Close:             closeVacuum,
	})
	lockConn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7406114)`)
	lockConn.Close()
	if err != nil {
		db.Close()
		relaxed.Close()
		vacuumDB.Close() // closing twice is harmless
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// connConfig parses dsn and sets what every connection of the engine
// starts with. plan_cache_mode = force_generic_plan: every statement is
// sent with parameters and prepared once per connection (pgx's statement
// cache), and by default PostgreSQL plans such a statement afresh at each
// execution for as long as that looks cheaper than its generic plan, which
// for many of ours it always does; under the mixed IMAP load a sixth of
// PostgreSQL's CPU went to getting plans (perf: pg_plan_queries 6.8 % of
// the machine's CPU, 0.8 % with generic plans; the throughput gained
// 0-20 % between A/B series), and on a 200,000-message INBOX no command got
// slower (docs/performance.md, round of 2026-12-06). Each statement names
// what lets a generic plan use the right index (the \Deleted bit as a
// literal, for the partial index messages_deleted). A DSN that sets
// plan_cache_mode itself keeps its value.
func connConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	return cfg, nil
}

// hotTables are the tables that mail traffic rewrites all the time.
var hotTables = []string{"messages", "folders", "expunged", "bodies", "body_orphans", "leases"}

// unvacuumed says where autovacuum is off for Gatehouse's busiest tables:
// "server" (the autovacuum setting), the tables whose own
// autovacuum_enabled is false, or "" when neither. Seen on a test
// machine's PostgreSQL (autovacuum = off): its messages table held ten
// dead rows per live one after minutes of load (docs/performance.md).
func unvacuumed(ctx context.Context, db *sql.DB) string {
	var on string
	if err := db.QueryRowContext(ctx, `SHOW autovacuum`).Scan(&on); err == nil && on == "off" {
		return "server"
	}
	rows, err := db.QueryContext(ctx, `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace
		AND relname = ANY($1) AND 'autovacuum_enabled=false' = ANY(reloptions) ORDER BY relname`, hotTables)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var off []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			off = append(off, name)
		}
	}
	return strings.Join(off, ",")
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
	Name:        "postgres",
	Rebind:      rebind,
	CustomPlans: `SET LOCAL plan_cache_mode = force_custom_plan`,
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
	RelaxedTx:       relaxedTx,
	SkipLocked:      ` FOR UPDATE SKIP LOCKED`,
	UpdateTxOptions: &sql.TxOptions{Isolation: sql.LevelSerializable},
	ReadTxOptions:   &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	// FOR NO KEY UPDATE: the lock that a quota check holds must not wait
	// for (or block) the key-share locks of inserting a folder.
	LockMailboxes:       `SELECT id FROM mailboxes WHERE id IN (%s) ORDER BY id FOR NO KEY UPDATE`,
	Pipeline:            pipeline,
	PipelineRead:        pipelineRead,
	DurablePipeline:     durablePipeline,
	DurablePipelineRead: durablePipelineRead,
	ReadPipeline:        readPipeline,
	ReadBodyHeads:       readBodyHeads,
	// The CTE's FOR UPDATE takes the row lock and reads the row's newest
	// version (waiting for a concurrent writer to finish); the UPDATE
	// then writes that same locked row, so no two sessions claim the
	// same messages and no UID is left out.
	ClaimRecent: `WITH o AS (SELECT first_recent_uid, uid_next FROM folders WHERE id = ? FOR UPDATE),
		u AS (UPDATE folders SET first_recent_uid = o.uid_next FROM o WHERE folders.id = ? AND o.first_recent_uid < o.uid_next)
		SELECT first_recent_uid, uid_next FROM o`,
}

// relaxedTx makes a transaction's commit not wait for the disk.
const relaxedTx = `SET LOCAL synchronous_commit TO OFF`

// refusedCode is the SQLSTATE of gatehouse_refuse_if (migration 0016).
const refusedCode = "GH001"

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
// order. Without check, COMMIT goes in the same batch: one round trip.
// With check, COMMIT (or ROLLBACK) is a second round trip, once check has
// seen the results. A COMMIT answers once the commit is as durable as the
// pool's connections make it (synchronous_commit on, or off on the
// relaxed pool).
func pipeline(ctx context.Context, pool *sql.DB, qs []sqlstore.PipelineQuery, check func() error) error {
	_, err := runBatch(ctx, pool, "BEGIN", qs, check, nil, nil)
	return err
}

// pipelineRead implements sqlstore.Dialect.PipelineRead: pipeline without
// check, then, in the same round trip, reads in a read-only REPEATABLE
// READ snapshot that begins once the COMMIT has returned.
func pipelineRead(ctx context.Context, pool *sql.DB, qs, reads []sqlstore.PipelineQuery) (readErr, err error) {
	return runBatch(ctx, pool, "BEGIN", qs, nil, nil, reads)
}

// durableTail is what durablePipeline sends after its transaction's
// COMMIT: a transaction that commits synchronously, and so answers only
// once the server's log is on disk up to its commit record, which comes
// after the first transaction's. A commit waits for the disk only when its
// transaction wrote to the log: the barrier row is the server process's
// own (migration 0016), so no two sessions wait for each other on it.
var durableTail = []string{
	"BEGIN",
	`INSERT INTO commit_barriers (pid, n) VALUES (pg_backend_pid(), 1)
		ON CONFLICT (pid) DO UPDATE SET n = commit_barriers.n + 1`,
	"COMMIT",
}

// durablePipeline implements sqlstore.Dialect.DurablePipeline: qs in a
// transaction whose commit does not wait for the disk, so that its row
// locks (a folder's, which every writer of the folder takes) are released
// as soon as it commits rather than after the log's sync, then
// durableTail; all in one round trip. The pool's sessions must commit
// synchronously.
func durablePipeline(ctx context.Context, pool *sql.DB, qs []sqlstore.PipelineQuery) error {
	_, err := durablePipelineRead(ctx, pool, qs, nil)
	return err
}

// durablePipelineRead implements sqlstore.Dialect.DurablePipelineRead:
// durablePipeline with, in the same round trip, reads in a read-only
// REPEATABLE READ snapshot that begins once the durable commit has
// returned (its statements come after the COMMIT on one connection).
func durablePipelineRead(ctx context.Context, pool *sql.DB, qs, reads []sqlstore.PipelineQuery) (readErr, err error) {
	relaxed := make([]sqlstore.PipelineQuery, 0, len(qs)+1)
	relaxed = append(relaxed, sqlstore.PipelineQuery{SQL: relaxedTx})
	return runBatch(ctx, pool, "BEGIN", append(relaxed, qs...), nil, durableTail, reads)
}

// readPipeline implements sqlstore.Dialect.ReadPipeline: BEGIN of a
// read-only REPEATABLE READ snapshot, every query and COMMIT go out
// together and come back in one round trip.
func readPipeline(ctx context.Context, pool *sql.DB, qs []sqlstore.PipelineQuery) error {
	_, err := runBatch(ctx, pool, readSnapshot, qs, nil, nil, nil)
	return err
}

// readSnapshot begins the transaction of a read pipeline.
const readSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// runBatch sends begin, qs and, when check is nil, COMMIT, then tail and
// then reads (in a read snapshot of their own) as one pgx batch on a
// connection of pool and reads their results in order;
// with check, it then commits when check returns nil and rolls back
// otherwise. Should a query fail, the server skips the rest of the batch
// (its COMMIT too) and leaves the transaction aborted; a ROLLBACK then
// ends it (a second round trip, on errors only), and a connection whose
// state is still unknown is dropped. A query refused by
// gatehouse_refuse_if fails with a sqlstore.RefusedError. An error of tail
// comes after the transaction committed: it is never one that
// sqlstore retries. An error of reads is readErr, not err: what was
// written stands.
func runBatch(ctx context.Context, pool *sql.DB, begin string, qs []sqlstore.PipelineQuery, check func() error, tail []string, reads []sqlstore.PipelineQuery) (readErr, err error) {
	c, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		b.Queue(begin)
		for _, q := range qs {
			b.Queue(rebind(q.SQL), q.Args...)
		}
		if check == nil {
			b.Queue("COMMIT")
			for _, q := range tail {
				b.Queue(q)
			}
			if len(reads) > 0 {
				b.Queue(readSnapshot)
				for _, q := range reads {
					b.Queue(rebind(q.SQL), q.Args...)
				}
				b.Queue("COMMIT")
			}
		}
		br := pc.SendBatch(ctx, b)
		_, err := br.Exec()
		for _, q := range qs {
			if err != nil {
				break
			}
			err = runPipelined(br, q)
		}
		if err == nil && check == nil {
			if _, err = br.Exec(); err != nil {
				err = fmt.Errorf("commit: %w", err)
			}
			for i := 0; err == nil && i < len(tail); i++ {
				if _, terr := br.Exec(); terr != nil {
					err = fmt.Errorf("committed, but not confirmed on disk: %v", terr)
				}
			}
			if err == nil && len(reads) > 0 {
				readErr = readAfter(br, reads)
			}
		}
		if cerr := br.Close(); cerr != nil && err == nil {
			if len(reads) > 0 && check == nil {
				// The write was confirmed before the reads: what
				// failed after it is theirs.
				readErr = cmp.Or(readErr, cerr)
			} else {
				err = cerr
			}
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == refusedCode {
			err = &sqlstore.RefusedError{Reason: pe.Message}
		}
		if err == nil && check != nil {
			err = check()
		}
		end := "ROLLBACK"
		if err == nil && readErr == nil {
			end = "COMMIT"
		}
		if pc.PgConn().TxStatus() == 'I' {
			return err
		}
		if _, xerr := pc.Exec(ctx, end); xerr != nil {
			// The connection's state is unknown: database/sql drops it.
			pc.Close(context.WithoutCancel(ctx))
			if err == nil && readErr != nil {
				// The write stands; the closed connection is
				// dropped when it is next handed out.
				readErr = errors.Join(readErr, xerr)
				return nil
			}
			if err == nil {
				return errors.Join(fmt.Errorf("commit: %w", xerr), driver.ErrBadConn)
			}
			return errors.Join(err, xerr, driver.ErrBadConn)
		}
		return err
	})
	return readErr, err
}

// readAfter reads the results of a batch's reads: their snapshot's
// BEGIN, each query, its COMMIT.
func readAfter(br pgx.BatchResults, reads []sqlstore.PipelineQuery) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("read after commit: %w", err)
	}
	for _, q := range reads {
		if err := runPipelined(br, q); err != nil {
			return fmt.Errorf("read after commit: %w", err)
		}
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("read after commit: %w", err)
	}
	return nil
}

// readBodyHeads implements sqlstore.Dialect.ReadBodyHeads: one statement
// for every batch size (the IDs as one array), read with pgx's own rows,
// whose raw values (binary format) are handed to head without a copy.
func readBodyHeads(ctx context.Context, pool *sql.DB, ids []int64, limit int, head func(id int64, data []byte)) error {
	c, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		rows, err := pc.Query(ctx, `SELECT id, substr(data, 1, $1) FROM bodies WHERE id = ANY($2)`,
			pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.BinaryFormatCode}, limit, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v := rows.RawValues()
			if len(v) != 2 || len(v[0]) != 8 {
				return fmt.Errorf("read body heads: unexpected row of %d columns", len(v))
			}
			head(int64(binary.BigEndian.Uint64(v[0])), v[1])
		}
		return rows.Err()
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
