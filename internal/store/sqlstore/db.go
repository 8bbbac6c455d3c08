// Package sqlstore implements store.Store over database/sql with portable SQL,
// so that the SQLite and PostgreSQL engines share every query and differ only
// in their driver, DDL and a small Dialect.
//
// Queries are written with ? placeholders; the dialect rebinds them. Times are
// stored as microseconds since the Unix epoch (UTC) in 64-bit integers, flags
// as an integer bit mask, keywords as one space-separated text.
//
// Every mail write starts by updating the folder row (taking a new MODSEQ or
// UID), which serializes writers per folder on PostgreSQL; SQLite has one
// writer connection, which serializes all writers.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Dialect holds what differs between engines.
type Dialect struct {
	// Name is the engine name returned by Store.Engine.
	Name string
	// Rebind turns ? placeholders into the engine's form.
	Rebind func(q string) string
	// CustomPlans, when set, is a statement that makes the rest of the
	// transaction plan each statement for its parameters' values: the
	// admin list's queries, whose best plan depends on how many rows a
	// search or filter matches (one mailbox or all of them), where
	// PostgreSQL otherwise keeps one plan for every value (Open's
	// force_generic_plan).
	CustomPlans string
	// IsUnique reports whether err is a unique-constraint violation, and
	// which constraint or column it names when the driver says so.
	IsUnique func(err error) (bool, string)
	// IsRetryable reports a serialization failure that a retry may cure.
	IsRetryable func(err error) bool
	// IsStorageFull reports a write that failed for want of space (a full
	// disk or database); such errors are returned wrapping
	// store.ErrStorageFull. Nil: never.
	IsStorageFull func(err error) bool
	// LockFolders, when not empty, is a statement that row-locks folders
	// given as a list of ids, in id order, to avoid deadlocks between two
	// writers that touch the same two folders (MOVE both ways). It contains
	// one "%s" for the placeholder list.
	LockFolders string
	// SyncPragma, when set, returns the statement that makes the writer
	// connection's commits wait for the disk (relaxed false) or only hand
	// their pages to the operating system (relaxed true). It runs outside
	// transactions, on the one writer connection, and only with group
	// commit (SQLite: PRAGMA synchronous FULL or NORMAL).
	SyncPragma func(relaxed bool) string
	// RelaxedTx, when not empty, runs first in a transaction whose commit
	// need not wait for the disk (PostgreSQL: SET LOCAL synchronous_commit).
	RelaxedTx string
	// LockMailboxes, when not empty, row-locks mailboxes given as a list of
	// ids, in id order, like LockFolders. A write that adds mail to a
	// mailbox with a quota holds it while it sums the mailbox's size and
	// adds to it, so two such writes never both fit in the same room. It
	// is taken before any folder lock.
	LockMailboxes string
	// SkipLocked, when not empty, ends the subquery that picks outbound
	// messages to claim, so that runners on several nodes pass over each
	// other's rows instead of waiting on them (PostgreSQL: FOR UPDATE SKIP
	// LOCKED; SQLite has one writer).
	SkipLocked string
	// UpdateTxOptions are the options of directory Update transactions.
	UpdateTxOptions *sql.TxOptions
	// ReadTxOptions are the options of read transactions of several
	// statements, which must see one snapshot (PostgreSQL: REPEATABLE
	// READ; its default, READ COMMITTED, gives each statement its own).
	// Nil means read-only at the engine's default level.
	ReadTxOptions *sql.TxOptions
	// FolderParam is the placeholder for the folder ID of joins on
	// messages ("?" when empty). SQLite propagates "m.folder_id = ?" into
	// the join and then re-prepares the statement whenever the bound folder
	// changes (14 % of the CPU of a FETCH); "+?" keeps the index and avoids
	// it.
	FolderParam string
	// CacheStatements prepares each fixed statement once per pool.
	CacheStatements bool
	// Pipeline, when set, runs qs in one transaction on one connection of
	// pool, all sent at once (PostgreSQL: a pipeline of the extended
	// protocol, one round trip), fills each query's Row or calls its Each
	// in order, then asks check: nil commits (and Pipeline returns once
	// the commit is as durable as pool's commits are: on the relaxed pool,
	// handed to the server's log without waiting for the disk), an error
	// rolls back and is returned, as is the first error of a query. A nil
	// check sends the COMMIT with the statements (PostgreSQL: the whole
	// transaction in one round trip). StoreFlags and
	// Expunge use it without group commit.
	Pipeline func(ctx context.Context, pool *sql.DB, qs []PipelineQuery, check func() error) error
	// PipelineRead, when set, runs qs as Pipeline does without check and
	// then, in the same round trip, reads as DurablePipelineRead does
	// (readErr: only the reads failed, the write stands). An EXPUNGE
	// reads the changes its session is to be told of with it.
	PipelineRead func(ctx context.Context, pool *sql.DB, qs, reads []PipelineQuery) (readErr, err error)
	// DurablePipeline, when set, runs qs as Pipeline does without check,
	// on pool (whose commits wait for the disk), but commits in two steps
	// sent with the statements: their transaction commits without waiting
	// for the disk, which releases its row locks at once, and a second,
	// synchronous commit after it returns only once both are on disk. New
	// mail holds its folder's row lock for the statements only, not for
	// the log's sync, while the next writer of the folder waits for it;
	// it is answered after the sync all the same. Since the COMMIT goes
	// with the statements, what must stop it is checked in SQL: a
	// statement refuses the commit with gatehouse_refuse_if(condition,
	// reason) (PostgreSQL), and DurablePipeline then returns a
	// RefusedError with that reason. Append and Deliver use it.
	DurablePipeline func(ctx context.Context, pool *sql.DB, qs []PipelineQuery) error
	// DurablePipelineRead, when set, is DurablePipeline followed, in the
	// same round trip, by reads: a read-only snapshot (ReadTxOptions) that
	// begins once the durable commit has returned, in which each of reads
	// runs as in ReadPipeline. readErr is the reads' error: the write
	// stands, and err is nil, when only they failed. An APPEND reads the
	// changes its session is to be told of with it.
	DurablePipelineRead func(ctx context.Context, pool *sql.DB, qs, reads []PipelineQuery) (readErr, err error)
	// ReadPipeline, when set, runs qs as one read-only snapshot
	// (ReadTxOptions) on one connection of pool: its BEGIN, every query
	// and its end are sent at once (PostgreSQL: one round trip instead of
	// one per statement), and each query's Row is filled or its Each
	// called in order. The session's reads of several statements that
	// must agree (a folder's index, the changes since a MODSEQ) use it.
	ReadPipeline func(ctx context.Context, pool *sql.DB, qs []PipelineQuery) error
	// ClaimRecent, when not empty, is one statement that locks a folder
	// row (argument 1, the folder's ID, twice), moves its first_recent_uid
	// to its uid_next when they differ, and returns both as they were
	// when locked; ClaimRecent runs it on its own, outside an explicit
	// transaction (PostgreSQL: one round trip instead of five). Empty:
	// lock, read and update in a transaction.
	ClaimRecent string
	// ReadBodyHeads, when set, reads the first limit octets of each body
	// in ids in one query on a connection of pool and calls head with
	// each body's ID and octets, which are valid only during the call
	// (PostgreSQL: pgx's own rows, whose raw values are copied once, into
	// the caller's buffer, instead of twice more through database/sql).
	// Nil: one query through database/sql.
	ReadBodyHeads func(ctx context.Context, pool *sql.DB, ids []int64, limit int, head func(id int64, data []byte)) error
}

// Options configure a DB.
type Options struct {
	Dialect Dialect
	// Write is the pool for writes; Read for reads. They may be the same.
	Write *sql.DB
	Read  *sql.DB
	// RelaxedWrite, when set, is the pool of writeRelaxed's transactions
	// outside group commit: its connections commit without waiting for
	// the disk by a setting of their own (PostgreSQL: synchronous_commit
	// off as a connection parameter), which saves Dialect.RelaxedTx's
	// round trip in every flag change and expunge. Not with
	// CacheStatements: a statement prepared on Write cannot run in its
	// transactions.
	RelaxedWrite *sql.DB
	// BodyRead, when set, is the pool that reads message bodies
	// (ReadBody, ReadBodyHeads); nil: Read. A body is read once per
	// download and its pages are not wanted again, so SQLite gives this
	// pool a small page cache that recycles its pages, while the pages of
	// indexes and folders stay in Read's (see sqlite.Open).
	BodyRead *sql.DB
	// Migrations holds NNNN_name.sql files applied in order.
	Migrations fs.FS
	Logger     *slog.Logger
	// GroupCommit batches concurrent writes into one transaction (SQLite:
	// one writer, and every commit waits for the disk).
	GroupCommit bool
	// SyncLog, when set with GroupCommit, makes every commit made so far
	// on the writer connection durable (SQLite: fsync of the write-ahead
	// log). The committer then commits each batch without waiting for the
	// disk (SyncPragma relaxed), goes on with the next batch, and a second
	// goroutine answers the batch's durable writes once SyncLog returned
	// after their commit. The wait for the disk no longer holds up the
	// writes queued behind it (flag changes and expunges are answered at
	// their commit), and one sync covers every batch committed while the
	// previous one ran.
	SyncLog func() error
	// Close releases engine resources after the pools are closed.
	Close func() error
	// Maintain, when set, runs in a goroutine of its own from Open on
	// (PostgreSQL: the self-vacuum); Close cancels its context and waits
	// for it to return before it closes the pools.
	Maintain func(ctx context.Context)
	// SummaryCacheBytes bounds the memory of the header summaries kept
	// for SEARCH SUBJECT/FROM/TO/CC; 0 means 64 MiB, negative none.
	SummaryCacheBytes int
	// BodyGrace is how long a body stays readable after its last message
	// went (DefaultBodyGrace when 0); negative turns the background sweep
	// off (tests call SweepBodies themselves).
	BodyGrace time.Duration
	// SweepListed, when set, runs in SweepBodies after each listing of
	// marked bodies, before they are deleted (tests).
	SweepListed func()
}

// DB is the shared implementation of store.Store.
type DB struct {
	d      Dialect
	w, r   *sql.DB
	wr     *sql.DB // Options.RelaxedWrite; nil: w
	rb     *sql.DB // body reads; r when the engine has no pool of its own
	log    *slog.Logger
	closer func() error
	// sweepListed is Options.SweepListed.
	sweepListed func()

	writes chan *writeReq // nil without group commit
	// syncLog is Options.SyncLog; syncs carries the durable writes of
	// each committed batch from the committer to the syncer, which
	// answers them after syncLog (nil without SyncLog).
	syncLog func() error
	syncs   chan []*writeReq
	// syncErr is the first failed sync's error (only the syncer and
	// direct durable writes touch it, under syncMu): after a failed fsync
	// the kernel may have dropped the pages it could not write, so a later
	// sync that succeeds proves nothing about them, and no durable write
	// is acknowledged again until the process restarts and SQLite
	// recovers from what the log really holds.
	syncMu  sync.Mutex
	syncErr error
	// relaxedNow is whether the writer connection was last set to relaxed
	// commits (SyncPragma); only the committer goroutine touches it. A
	// connection the pool opens afresh starts durable, so a stale true
	// errs on the durable side.
	relaxedNow bool
	done       chan struct{}
	// stopMaintain cancels Options.Maintain's context (nil without it).
	stopMaintain func()
	wg           sync.WaitGroup
	closeOnce    sync.Once
	closeErr     error

	closeMu sync.RWMutex
	closed  bool

	// holds keeps bodies being read from the sweep (readhold.go).
	holds readHolds

	stmts     sync.Map // stmtKey → *sql.Stmt
	preparing sync.Map // stmtKey → true once asked for

	summaries *summaryCache // nil when turned off

	// lockOne row-locks one folder (Dialect.LockFolders for one ID), made
	// once: every mail write runs it; lockTwo two (a COPY's or MOVE's).
	lockOne, lockTwo string
}

var _ store.Store = (*DB)(nil)

// Open applies pending migrations and returns the store.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{d: o.Dialect, w: o.Write, r: o.Read, rb: o.BodyRead, wr: o.RelaxedWrite, log: o.Logger, closer: o.Close, sweepListed: o.SweepListed,
		done: make(chan struct{})}
	if db.r == nil {
		db.r = db.w
	}
	if db.rb == nil {
		db.rb = db.r
	}
	if o.Dialect.LockFolders != "" {
		db.lockOne = fmt.Sprintf(o.Dialect.LockFolders, "?")
		db.lockTwo = fmt.Sprintf(o.Dialect.LockFolders, placeholders(2))
	}
	switch {
	case o.SummaryCacheBytes == 0:
		db.summaries = newSummaryCache(64 << 20)
	case o.SummaryCacheBytes > 0:
		db.summaries = newSummaryCache(o.SummaryCacheBytes)
	}
	if err := db.migrate(ctx, o.Migrations); err != nil {
		return nil, err
	}
	if o.GroupCommit {
		db.writes = make(chan *writeReq, 256)
		if o.SyncLog != nil {
			db.syncLog = o.SyncLog
			db.syncs = make(chan []*writeReq, 64)
			db.wg.Add(1)
			go db.syncer()
		}
		db.wg.Add(1)
		go db.committer()
	}
	if o.BodyGrace >= 0 {
		grace := o.BodyGrace
		if grace == 0 {
			grace = DefaultBodyGrace
		}
		db.wg.Add(1)
		go db.sweeper(grace)
	}
	if o.Maintain != nil {
		ctx, cancel := context.WithCancel(context.Background())
		db.stopMaintain = cancel
		db.wg.Add(1)
		go func() {
			defer db.wg.Done()
			o.Maintain(ctx)
		}()
	}
	return db, nil
}

// folderParam is the placeholder for the folder ID in joins on messages.
func (db *DB) folderParam() string {
	if db.d.FolderParam != "" {
		return db.d.FolderParam
	}
	return "?"
}

// Engine implements store.Store.
func (db *DB) Engine() string { return db.d.Name }

// Close implements store.Store. Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closeMu.Lock()
		db.closed = true
		db.closeMu.Unlock()
		close(db.done)
		if db.stopMaintain != nil {
			db.stopMaintain()
		}
		db.wg.Wait()
		db.stmts.Range(func(_, v any) bool {
			v.(*sql.Stmt).Close()
			return true
		})
		err := db.w.Close()
		if db.r != db.w {
			err = errors.Join(err, db.r.Close())
		}
		if db.rb != db.r && db.rb != db.w {
			err = errors.Join(err, db.rb.Close())
		}
		if db.wr != nil {
			err = errors.Join(err, db.wr.Close())
		}
		if db.closer != nil {
			err = errors.Join(err, db.closer())
		}
		db.closeErr = err
	})
	return db.closeErr
}

func (db *DB) migrate(ctx context.Context, migrations fs.FS) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and _", name)
		}
		var n int
		if err := db.w.QueryRowContext(ctx, db.d.Rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range splitSQL(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w\n%s", name, err, stmt)
			}
		}
		if _, err := tx.ExecContext(ctx, db.d.Rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, micros(time.Now())); err != nil {
			tx.Rollback()
			if ok, _ := db.d.IsUnique(err); ok {
				// Another node applied it at the same moment.
				continue
			}
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		db.log.Info("applied migration", "engine", db.d.Name, "migration", name)
	}
	return nil
}

// splitSQL splits a migration into statements at lines that hold only ";".
// Statements are separated so, rather than by every semicolon, because
// trigger bodies contain semicolons.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == ";" {
			if q := strings.TrimSpace(cur.String()); q != "" {
				out = append(out, q)
			}
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if q := strings.TrimSpace(cur.String()); q != "" {
		out = append(out, q)
	}
	return out
}

// conn is what a query runs on: a transaction of either pool, or the read
// pool itself for single reads.
//
// Statements with a fixed text are prepared once per pool and reused (on
// SQLite, preparing costs more than running a small statement). A statement
// is never prepared on the pool inside a transaction: that needs a free
// connection while the transaction holds one, which deadlocks SQLite's
// single writer. So the first use runs unprepared and asks a goroutine to
// prepare it for the next uses; inside a transaction the pool's statement
// is bound to the transaction's connection (Tx.StmtContext), which prepares
// it there at most once per connection. pgx caches prepared statements per
// connection by itself, so PostgreSQL does not need this.
type conn struct {
	db    *DB
	tx    *sql.Tx // nil: the read pool
	write bool
	body  bool // outside a transaction: the body-read pool (Options.BodyRead)
	// shared: the transaction holds the writes of several sessions (the
	// group committer). No one caller's context may interrupt a statement
	// of it: on SQLite an interrupted write rolls back the whole
	// transaction, the other sessions' writes with it. It also spares
	// each statement the drivers' watcher goroutines for a context that
	// can end.
	shared bool
}

// ctx is the context a statement of c runs under.
func (c conn) ctx(ctx context.Context) context.Context {
	if c.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

type stmtKey struct {
	write bool
	body  bool
	q     string
}

// readPool is the pool that c reads from outside a transaction.
func (c conn) readPool() *sql.DB {
	if c.body {
		return c.db.rb
	}
	return c.db.r
}

// prepared returns the prepared form of q, or nil the first time.
func (c conn) prepared(ctx context.Context, q string) *sql.Stmt {
	if !c.db.d.CacheStatements {
		return nil
	}
	k := stmtKey{c.write, c.body && c.tx == nil, q}
	if v, ok := c.db.stmts.Load(k); ok {
		st := v.(*sql.Stmt)
		if c.tx != nil {
			return c.tx.StmtContext(ctx, st)
		}
		return st
	}
	c.db.prepareLater(k)
	return nil
}

func (db *DB) prepareLater(k stmtKey) {
	if _, busy := db.preparing.LoadOrStore(k, true); busy {
		return
	}
	db.wg.Add(1)
	go func() {
		defer db.wg.Done()
		pool := db.r
		switch {
		case k.write:
			pool = db.w
		case k.body:
			pool = db.rb
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-db.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		st, err := pool.PrepareContext(ctx, db.d.Rebind(k.q))
		if err != nil {
			return
		}
		db.stmts.Store(k, st)
	}()
}

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = c.ctx(ctx)
	if st := c.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.execDynamic(ctx, q, args...)
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = c.ctx(ctx)
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.queryDynamic(ctx, q, args...)
}

func (c conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = c.ctx(ctx)
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	q = c.db.d.Rebind(q)
	if c.tx != nil {
		return c.tx.QueryRowContext(ctx, q, args...)
	}
	return c.readPool().QueryRowContext(ctx, q, args...)
}

// queryDynamic and execDynamic run statements whose text varies (IN lists,
// filters): never prepared, since they rarely repeat.
func (c conn) queryDynamic(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = c.ctx(ctx)
	q = c.db.d.Rebind(q)
	if c.tx != nil {
		return c.tx.QueryContext(ctx, q, args...)
	}
	return c.readPool().QueryContext(ctx, q, args...)
}

func (c conn) execDynamic(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = c.ctx(ctx)
	q = c.db.d.Rebind(q)
	if c.tx != nil {
		return c.tx.ExecContext(ctx, q, args...)
	}
	return c.db.w.ExecContext(ctx, q, args...)
}

func (db *DB) txConn(tx *sql.Tx, write bool) conn {
	return conn{db: db, tx: tx, write: write}
}

// savepoint runs fn under a savepoint, so that a statement that fails as
// expected (a unique violation) leaves the transaction usable: PostgreSQL
// aborts a whole transaction at its first error otherwise.
func (c conn) savepoint(ctx context.Context, fn func() error) error {
	if c.tx == nil {
		return fn()
	}
	ctx = c.ctx(ctx)
	if _, err := c.tx.ExecContext(ctx, "SAVEPOINT dir"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := c.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT dir"); rerr != nil {
			return errors.Join(err, rerr)
		}
		c.tx.ExecContext(ctx, "RELEASE SAVEPOINT dir")
		return err
	}
	_, err := c.tx.ExecContext(ctx, "RELEASE SAVEPOINT dir")
	return err
}

// write runs fn in a write transaction, retrying serialization failures.
// Every write goes through here, so this is where a full disk becomes
// store.ErrStorageFull for the callers.
func (db *DB) write(ctx context.Context, opts *sql.TxOptions, fn func(c conn) error) error {
	return db.writeDurability(ctx, opts, false, fn)
}

// writeRelaxed runs fn as write does, for a change that must survive a
// crash of this process but may be lost with the machine's power: flag
// changes and expunges. Its commit hands the change to the operating system
// (SQLite: the WAL is written, not synced; PostgreSQL: synchronous_commit
// off) instead of waiting for the disk, as Dovecot treats flag changes
// (mail_fsync=optimized). What power loss can take is only a suffix of the
// relaxed writes: the write-ahead log is sequential, and every durable
// commit (a delivery, an APPEND, a directory change) syncs it up to itself,
// including the relaxed commits before it.
func (db *DB) writeRelaxed(ctx context.Context, fn func(c conn) error) error {
	return db.writeDurability(ctx, nil, true, fn)
}

func (db *DB) writeDurability(ctx context.Context, opts *sql.TxOptions, relaxed bool, fn func(c conn) error) error {
	var err error
	if db.writes != nil && opts == nil {
		err = db.grouped(ctx, relaxed, fn)
	} else {
		err = db.direct(ctx, opts, relaxed, fn)
		if err == nil && !relaxed && db.syncLog != nil {
			// The writer connection may be set to relaxed commits by
			// the committer (Options.SyncLog).
			err = db.sync()
		}
	}
	return db.storageErr(err)
}

// storageErr wraps err with store.ErrStorageFull when the engine says the
// write failed for want of space.
func (db *DB) storageErr(err error) error {
	if err == nil || db.d.IsStorageFull == nil || errors.Is(err, store.ErrStorageFull) || !db.d.IsStorageFull(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrStorageFull, err)
}

// maxRetries bounds how often a transaction that lost a serialization
// conflict or a deadlock is tried again. Twelve tries (about 1.5 s of
// backoff in all) ran out for 21 of 2,500 Remove-Mailbox calls sent
// sixteen at a time to PostgreSQL on a machine with a load average of
// 30; thirty give about 6 s, which a conflict that clears at all clears
// in, and bound a livelock all the same.
const maxRetries = 30

// retryDelay is how long to wait before try attempt+1: exponential with
// full jitter (5 ms, 10 ms, ... capped at 250 ms, each drawn uniformly
// below that), so that transactions that collided do not collide again in
// lockstep. Sixteen removals at once on PostgreSQL exhausted five evenly
// spaced retries.
func retryDelay(attempt int) time.Duration {
	limit := min(5*time.Millisecond<<attempt, 250*time.Millisecond)
	return time.Duration(rand.Int64N(int64(limit))) + time.Millisecond
}

// direct runs fn in a transaction of its own, retrying serialization
// failures and deadlocks. relaxed is the durability writeRelaxed asks for.
func (db *DB) direct(ctx context.Context, opts *sql.TxOptions, relaxed bool, fn func(c conn) error) error {
	pool, relaxedTx := db.w, relaxed && db.d.RelaxedTx != ""
	if relaxed && db.wr != nil {
		pool, relaxedTx = db.wr, false
	}
	for attempt := 0; ; attempt++ {
		tx, err := pool.BeginTx(ctx, opts)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if relaxedTx {
			if _, err := tx.ExecContext(ctx, db.d.RelaxedTx); err != nil {
				tx.Rollback()
				return fmt.Errorf("relaxed commit: %w", err)
			}
		}
		err = fn(db.txConn(tx, true))
		if err == nil {
			err = tx.Commit()
			if err != nil {
				err = fmt.Errorf("commit: %w", err)
			}
		} else {
			tx.Rollback()
		}
		if err != nil && attempt < maxRetries && db.d.IsRetryable != nil && db.d.IsRetryable(err) {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(retryDelay(attempt)):
			}
			continue
		}
		return err
	}
}

func (db *DB) read(ctx context.Context, fn func(c conn) error) error {
	opts := db.d.ReadTxOptions
	if opts == nil {
		opts = &sql.TxOptions{ReadOnly: true}
	}
	tx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(db.txConn(tx, false))
}

// Update implements store.Store.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.write(ctx, db.d.UpdateTxOptions, func(c conn) error { return fn(dirTx{c}) })
}

// View implements store.Store.
func (db *DB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.read(ctx, func(c conn) error { return fn(dirTx{c}) })
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// uniqueErr maps a unique violation to store.ErrExists naming what clashed.
func (db *DB) uniqueErr(err error, what string) error {
	if ok, detail := db.d.IsUnique(err); ok {
		if detail != "" {
			return fmt.Errorf("%s: %w (%s)", what, store.ErrExists, detail)
		}
		return fmt.Errorf("%s: %w", what, store.ErrExists)
	}
	return err
}
