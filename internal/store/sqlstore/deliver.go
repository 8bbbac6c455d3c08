package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// maxGroup bounds how many writes share one commit.
const maxGroup = 64

// writeReq is one write waiting for the group committer.
type writeReq struct {
	fn      func(c conn) error
	relaxed bool // writeRelaxed
	err     error
	done    chan struct{}
}

var errClosed = errors.New("store closed")

// Deliver implements store.Mail.
func (db *DB) Deliver(ctx context.Context, mailboxIDs []int64, msg store.NewMessage) ([]store.Delivered, error) {
	if len(mailboxIDs) == 0 {
		return nil, nil
	}
	if db.d.DurablePipeline != nil && db.writes == nil && len(mailboxIDs) <= maxPipelined {
		return db.deliverPipelined(ctx, mailboxIDs, &msg)
	}
	var out []store.Delivered
	err := db.write(ctx, nil, func(c conn) error {
		var err error
		out, err = deliver(ctx, c, mailboxIDs, &msg)
		return err
	})
	return out, err
}

// grouped queues a write for the group committer and waits for its
// commit. One goroutine writes as many queued writes as are waiting in one
// transaction, each under its own savepoint so that one failure does not
// fail the others; on SQLite, where every commit waits for the disk, that
// turns many fsyncs into one. Once queued, the write is waited for even if
// ctx ends: answering early would make a client retry a delivery that may
// be committed.
func (db *DB) grouped(ctx context.Context, relaxed bool, fn func(c conn) error) error {
	req := &writeReq{fn: fn, relaxed: relaxed, done: make(chan struct{})}
	// Holding the read lock while queuing means Close, which takes the
	// write lock before it stops the committer, never strands a write in
	// the queue after the committer's last look at it.
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return errClosed
	}
	select {
	case db.writes <- req:
		db.closeMu.RUnlock()
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return ctx.Err()
	}
	<-req.done
	return req.err
}

func (db *DB) committer() {
	defer db.wg.Done()
	if db.syncs != nil {
		// The syncer answers what it holds, then stops.
		defer close(db.syncs)
	}
	for {
		var batch []*writeReq
		select {
		case r := <-db.writes:
			batch = append(batch, r)
		case <-db.done:
			// Refuse what is still queued.
			for {
				select {
				case r := <-db.writes:
					r.err = errClosed
					close(r.done)
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case r := <-db.writes:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.commitBatch(batch)
	}
}

func (db *DB) commitBatch(batch []*writeReq) {
	// Nothing cancels a batch: its writes are waited for once queued
	// (grouped), and a context that can end costs every statement the
	// drivers' watcher goroutines.
	ctx := context.Background()
	if db.syncLog != nil {
		db.commitBatchPipelined(ctx, batch)
		return
	}
	// Relaxed writes (flag changes, expunges) commit first, in a
	// transaction of their own that does not wait for the disk, and are
	// answered at once; the durable ones follow in one that does, and its
	// sync covers both. A session waits for each of its writes, so the
	// writes of one batch come from different sessions and their order
	// among themselves is free.
	relaxed, durable := splitRelaxed(batch)
	for _, group := range []struct {
		reqs    []*writeReq
		relaxed bool
	}{{relaxed, true}, {durable, false}} {
		if len(group.reqs) == 0 {
			continue
		}
		err := db.setSync(ctx, group.relaxed)
		if err == nil {
			err = db.commitGroup(ctx, group.reqs, group.relaxed)
		}
		for _, r := range group.reqs {
			if err != nil && r.err == nil {
				r.err = fmt.Errorf("commit: %w", err)
			}
			close(r.done)
		}
	}
}

// commitBatchPipelined commits a batch in transactions that do not wait
// for the disk (Options.SyncLog): its relaxed writes in one, its durable
// ones in another. Flag changes and expunges are
// answered at once; the durable writes go to the syncer, which answers
// them after a sync of the log that began after this commit.
func (db *DB) commitBatchPipelined(ctx context.Context, batch []*writeReq) {
	err := db.setSync(ctx, true)
	if err != nil {
		db.answerPipelined(batch, err)
		return
	}
	// Flag changes and expunges go first, in a commit of their own, and
	// are answered at once: a STORE that joined a batch of APPENDs does
	// not wait for their bodies to be written.
	relaxed, durable := splitRelaxed(batch)
	if len(relaxed) > 0 && len(durable) > 0 {
		db.answerPipelined(relaxed, db.commitGroup(ctx, relaxed, true))
		batch = durable
	}
	db.answerPipelined(batch, db.commitGroup(ctx, batch, true))
}

// splitRelaxed splits a batch into its relaxed writes (flag changes,
// expunges) and its durable ones, each in the batch's order.
func splitRelaxed(batch []*writeReq) (relaxed, durable []*writeReq) {
	for _, r := range batch {
		if r.relaxed {
			relaxed = append(relaxed, r)
		} else {
			durable = append(durable, r)
		}
	}
	return relaxed, durable
}

// answerPipelined answers the writes of a committed batch (or fails them
// with err): relaxed ones at once, durable ones through the syncer.
func (db *DB) answerPipelined(batch []*writeReq, err error) {
	var durable []*writeReq
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err = fmt.Errorf("commit: %w", err)
		}
		if r.relaxed || r.err != nil {
			close(r.done)
			continue
		}
		durable = append(durable, r)
	}
	if len(durable) > 0 {
		db.syncs <- durable
	}
}

// syncer answers the durable writes of committed batches once a sync of
// the log that started after their commit has returned. While one sync
// runs, the committer commits more batches; the next sync covers all of
// them.
func (db *DB) syncer() {
	defer db.wg.Done()
	for reqs := range db.syncs {
	more:
		for {
			select {
			case rs, ok := <-db.syncs:
				if !ok {
					break more
				}
				reqs = append(reqs, rs...)
			default:
				break more
			}
		}
		err := db.sync()
		for _, r := range reqs {
			if err != nil {
				r.err = fmt.Errorf("commit: %w", err)
			}
			close(r.done)
		}
	}
}

// sync makes every commit so far durable (Options.SyncLog). After a
// failed sync it keeps failing (DB.syncErr).
func (db *DB) sync() error {
	db.syncMu.Lock()
	defer db.syncMu.Unlock()
	if db.syncErr != nil {
		return db.syncErr
	}
	if err := db.syncLog(); err != nil {
		db.syncErr = fmt.Errorf("sync the write-ahead log: %w", err)
		db.log.Error("durable commits refused until restart", "err", err)
		return db.syncErr
	}
	return nil
}

// setSync sets the writer connection's commit durability (SyncPragma)
// when it is not what the next batch needs.
func (db *DB) setSync(ctx context.Context, relaxed bool) error {
	if db.d.SyncPragma == nil || db.relaxedNow == relaxed {
		return nil
	}
	if _, err := db.w.ExecContext(ctx, db.d.SyncPragma(relaxed)); err != nil {
		return fmt.Errorf("set commit durability: %w", err)
	}
	db.relaxedNow = relaxed
	return nil
}

// commitGroup runs a batch in one transaction, each write under its own
// savepoint.
func (db *DB) commitGroup(ctx context.Context, batch []*writeReq, relaxed bool) error {
	return db.direct(ctx, nil, relaxed, func(c conn) error {
		c.shared = true
		for _, r := range batch {
			r.err = nil
			if len(batch) == 1 {
				r.err = safeCall(r.fn, c)
				return r.err
			}
			if _, err := c.execDynamic(ctx, `SAVEPOINT grouped`); err != nil {
				return err
			}
			if r.err = safeCall(r.fn, c); r.err != nil {
				if _, err := c.execDynamic(ctx, `ROLLBACK TO SAVEPOINT grouped`); err != nil {
					// SQLite rolls the whole transaction back by itself
					// on some errors (SQLITE_FULL): the savepoint is gone
					// then, and the write's own error says why the
					// batch failed.
					return errors.Join(r.err, err)
				}
			}
			if _, err := c.execDynamic(ctx, `RELEASE SAVEPOINT grouped`); err != nil {
				return err
			}
		}
		return nil
	})
}

// safeCall runs one queued write, turning a panic into its error: the
// committer serves every connection, so a panic must end only the write
// that caused it.
func safeCall(fn func(c conn) error, c conn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return fn(c)
}

// PipelineQuery is one statement of a pipelined transaction
// (Dialect.Pipeline).
type PipelineQuery struct {
	// SQL has ? placeholders, as every statement here.
	SQL  string
	Args []any
	// Row, when not nil, receives the statement's one row (sql.ErrNoRows
	// when it has none); Each, when not nil, is called for each of its
	// rows with a scan function. With neither, the result is dropped.
	Row  []any
	Each func(scan func(dest ...any) error) error
}

// maxPipelined bounds the recipients of a delivery sent as one pipeline;
// beyond, the transaction goes statement by statement.
const maxPipelined = 100

// deliverPipelined is Deliver as one durable pipeline
// (Dialect.DurablePipeline): every statement and the commit are sent at
// once, one round trip against nine (eleven with a quota) for the
// statements one by one on PostgreSQL. The statements are those of
// deliver with each value that one statement hands the next taken in SQL instead:
// the body's ID from its sequence (currval, which is the session's own),
// the folder's new UID and MODSEQ from the folder row this transaction just
// updated and holds locked. The quota check reads what it needs in the same
// pipeline, after the lock, and refuses the commit in SQL when a recipient
// would go beyond its quota (quotaLimits.refusal); folderGone refuses it
// when a recipient's INBOX is not there.
func (db *DB) deliverPipelined(ctx context.Context, mailboxIDs []int64, msg *store.NewMessage) ([]store.Delivered, error) {
	size := int64(len(msg.Raw))
	ids := make([]any, len(mailboxIDs))
	for i, id := range mailboxIDs {
		ids[i] = id
	}
	in := placeholders(len(ids))
	var limits quotaLimits
	qs := []PipelineQuery{
		// reserveQuota: lock the mailboxes that have a quota, in ID order,
		// then check their size under the lock.
		{SQL: `SELECT id FROM mailboxes WHERE id IN (` + in + `) AND prohibit_send_receive_quota IS NOT NULL
			ORDER BY id FOR NO KEY UPDATE`, Args: ids, Each: func(func(...any) error) error { return nil }},
	}
	qs = append(qs, limits.refusal(newQuotaCheck(fmt.Sprintf(quotaOfMailboxes, in)), size, ids...)...)
	qs = append(qs, bodyPipeline(msg)...)
	idate := msg.InternalDate
	if idate.IsZero() {
		idate = time.Now()
	}
	out := make([]store.Delivered, len(mailboxIDs))
	var uidValidity uint32
	for i, mb := range mailboxIDs {
		out[i].MailboxID = mb
		qs = append(qs,
			PipelineQuery{SQL: `UPDATE folders SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
				messages = messages + 1, unseen = unseen + ?, size = size + ? WHERE mailbox_id = ? AND name = 'INBOX'
				RETURNING id, uid_validity, uid_next - 1, highest_modseq`, Args: []any{unseenDelta(msg.Flags), size, mb},
				Row: []any{&out[i].FolderID, &uidValidity, &out[i].UID, &out[i].ModSeq}},
			PipelineQuery{SQL: `INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
				SELECT id, uid_next - 1, highest_modseq, ?, ?, ?, ?, ` + pipelinedBodyID + `, ?, ? FROM folders WHERE mailbox_id = ? AND name = 'INBOX'`,
				Args: []any{int64(msg.Flags), joinKeywords(msg.Keywords), micros(idate), size, micros(time.Now()), msg.HasBinary, mb}},
			refuseGone(inboxGone, mb),
		)
	}
	if err := db.durablePipeline(ctx, qs, limits.reset); err != nil {
		return nil, db.addErr(limits.refused(err, size, "INBOX"), "INBOX")
	}
	return out, nil
}

// addErr is the error of a write that adds mail to folder (a name or an
// ID): an OverQuotaError as it is, the rest as the folder's ErrNotFound
// or store.ErrStorageFull when they are that.
func (db *DB) addErr(err error, folder string) error {
	var over *OverQuotaError
	if errors.As(err, &over) {
		return err
	}
	return db.storageErr(folderNotFound(err, folder))
}

// pipeline runs qs with Dialect.Pipeline on pool, again after a
// serialization failure or a deadlock (as direct runs a transaction
// again), with start called before each try to reset what the queries
// collect. check is Dialect.Pipeline's.
func (db *DB) pipeline(ctx context.Context, pool *sql.DB, qs []PipelineQuery, start func(), check func() error) error {
	return db.retryPipeline(ctx, start, func() error { return db.d.Pipeline(ctx, pool, qs, check) })
}

// durablePipeline runs qs with Dialect.DurablePipeline on the write pool,
// again after a serialization failure or a deadlock, as pipeline does.
func (db *DB) durablePipeline(ctx context.Context, qs []PipelineQuery, start func()) error {
	return db.retryPipeline(ctx, start, func() error { return db.d.DurablePipeline(ctx, db.w, qs) })
}

// retryPipeline calls run, again after a serialization failure or a
// deadlock, with start called before each try.
func (db *DB) retryPipeline(ctx context.Context, start func(), run func() error) error {
	for attempt := 0; ; attempt++ {
		if start != nil {
			start()
		}
		err := run()
		if err == nil || attempt >= maxRetries || db.d.IsRetryable == nil || !db.d.IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryDelay(attempt)):
		}
	}
}

// RefusedError is the error of a durable pipeline that a statement
// refused to commit (Dialect.DurablePipeline), with the reason that the
// statement gave: refuseQuota or refuseNoFolder.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "commit refused: " + e.Reason }

// The reasons of the statements that refuse a durable pipeline's commit.
const (
	refuseQuota    = "over quota"
	refuseNoFolder = "no such folder"
)

// refusedFor reports whether err is a RefusedError for reason.
func refusedFor(err error, reason string) bool {
	var r *RefusedError
	return errors.As(err, &r) && r.Reason == reason
}

// folderGone is the statement of a durable pipeline, after the UPDATE of
// a folder row that new mail goes to (where, with args, selects it), that
// refuses the commit when that UPDATE found no row: a check that
// Pipeline's Row made in Go, after the commit here. The UPDATE holds the
// row locked when it found it, so it cannot go in between.
func folderGone(where string) string {
	return `SELECT gatehouse_refuse_if(NOT EXISTS (SELECT 1 FROM folders WHERE ` + where + `), '` + refuseNoFolder + `')`
}

// The folderGone statements of APPEND (by folder ID) and of delivery (a
// mailbox's INBOX), made once.
var (
	folderIDGone = folderGone(`id = ?`)
	inboxGone    = folderGone(`mailbox_id = ? AND name = 'INBOX'`)
)

// refuseGone is the pipelined query of a folderGone statement.
func refuseGone(sql string, args ...any) PipelineQuery {
	return PipelineQuery{SQL: sql, Args: args, Row: []any{new(bool)}}
}

// quotaLimits are the quotas and sizes of the mailboxes that a pipelined
// write adds to, read under their lock in the same pipeline.
type quotaLimits []struct{ id, limit, used int64 }

// query reads the rows of q (mailbox ID, quota, size) into l.
func (l *quotaLimits) query(q string, args ...any) PipelineQuery {
	return PipelineQuery{SQL: q, Args: args, Each: func(scan func(...any) error) error {
		*l = append(*l, struct{ id, limit, used int64 }{})
		m := &(*l)[len(*l)-1]
		return scan(&m.id, &m.limit, &m.used)
	}}
}

// quotaOfFolder and quotaOfMailboxes are, after FROM, the mailboxes (as
// m) that new mail of a durable pipeline adds to and that have a quota:
// the mailbox of a folder (argument: its ID), or mailboxes by ID (%s:
// their placeholders).
const (
	quotaOfFolder    = `mailboxes m JOIN folders f ON f.mailbox_id = m.id WHERE f.id = ? AND m.prohibit_send_receive_quota IS NOT NULL`
	quotaOfMailboxes = `mailboxes m WHERE m.id IN (%s) AND m.prohibit_send_receive_quota IS NOT NULL`
)

// quotaCheck is the text of a durable pipeline's quota check over the
// mailboxes of one FROM clause (quotaOfFolder, quotaOfMailboxes): the read
// of their quotas and sizes, for the error, and the statement that refuses
// the commit (gatehouse_refuse_if) when adding the message's size (its
// first argument) takes one of them beyond its quota; limits is the query
// of their quotas and sizes (lim, used) that refuse reads, for a refusal
// that adds something else (copyPipelined).
type quotaCheck struct{ read, refuse, limits string }

func newQuotaCheck(from string) quotaCheck {
	const used = `(SELECT coalesce(sum(size), 0) FROM folders WHERE mailbox_id = m.id)`
	limits := `SELECT m.prohibit_send_receive_quota AS lim, ` + used + ` AS used FROM ` + from
	return quotaCheck{
		read: `SELECT m.id, m.prohibit_send_receive_quota, ` + used + ` FROM ` + from + ` ORDER BY m.id`,
		refuse: `SELECT gatehouse_refuse_if(coalesce(bool_or(q.used + ? > q.lim), false), '` + refuseQuota + `') FROM
			(` + limits + `) q`,
		limits: limits,
	}
}

// folderQuotaCheck is APPEND's, made once; lockFolderQuota locks the
// mailbox it checks first.
var (
	folderQuotaCheck = newQuotaCheck(quotaOfFolder)
	lockFolderQuota  = `SELECT m.id FROM ` + quotaOfFolder + ` FOR NO KEY UPDATE OF m`
)

// refusal returns the statements of c with args (those of its FROM
// clause), sent after the statements that lock those mailboxes: the read
// into l, then the refusal. There is no round trip between the check and
// the COMMIT.
func (l *quotaLimits) refusal(c quotaCheck, size int64, args ...any) []PipelineQuery {
	return []PipelineQuery{
		l.query(c.read, args...),
		{SQL: c.refuse, Args: append([]any{size}, args...), Row: []any{new(bool)}},
	}
}

// refused turns the RefusedError of a durable pipeline with l's refusal
// into the error it stands for: the OverQuotaError, or folder's
// ErrNotFound.
func (l *quotaLimits) refused(err error, size int64, folder string) error {
	switch {
	case refusedFor(err, refuseQuota):
		if over := l.check(size)(); over != nil {
			return over
		}
		return err
	case refusedFor(err, refuseNoFolder):
		return fmt.Errorf("folder %s: %w", folder, store.ErrNotFound)
	}
	return err
}

func (l *quotaLimits) reset() { *l = (*l)[:0] }

// check returns the pipeline's check: an OverQuotaError when adding size
// octets takes a mailbox beyond its quota.
func (l *quotaLimits) check(size int64) func() error {
	return func() error {
		for _, m := range *l {
			if m.used+size > m.limit {
				return &OverQuotaError{MailboxID: m.id, Used: m.used, Add: size, Limit: m.limit}
			}
		}
		return nil
	}
}

// pipelinedBodyID is, inside a pipeline, the ID of the body that its
// INSERT INTO bodies made: the session's own value of the sequence.
const pipelinedBodyID = `currval(pg_get_serial_sequence('bodies', 'id'))`

// bodyPipeline is insertBody as pipelined statements: the body's first
// chunk, its summary, structure and preview, and its further chunks, each
// naming the body by pipelinedBodyID.
func bodyPipeline(msg *store.NewMessage) []PipelineQuery {
	raw := msg.Raw
	size := int64(len(raw))
	first := raw
	if len(first) > ChunkSize {
		first = first[:ChunkSize]
	}
	const bodyID = pipelinedBodyID
	qs := []PipelineQuery{
		{SQL: `INSERT INTO bodies (size, data) VALUES (?, ?)`, Args: []any{size, first}},
		{SQL: `INSERT INTO body_summaries (body_id, subject, from_addr, to_addr, cc_addr, sent_date) VALUES (` + bodyID + `, ?, ?, ?, ?, ?)`,
			Args: []any{msg.Subject, msg.From, msg.To, msg.Cc, micros(msg.SentDate)}},
		{SQL: `INSERT INTO body_structures (body_id, structure) VALUES (` + bodyID + `, ?)`, Args: []any{nonNilBytes(msg.Structure)}},
	}
	if msg.HasPreview {
		qs = append(qs, PipelineQuery{SQL: `INSERT INTO body_previews (body_id, preview) VALUES (` + bodyID + `, ?)`, Args: []any{msg.Preview}})
	}
	for n := int64(1); n*ChunkSize < size; n++ {
		end := min((n+1)*ChunkSize, size)
		qs = append(qs, PipelineQuery{SQL: `INSERT INTO body_chunks (body_id, n, data) VALUES (` + bodyID + `, ?, ?)`,
			Args: []any{n, raw[n*ChunkSize : end]}})
	}
	return qs
}
