package sqlstore

import (
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
	var relaxed, durable []*writeReq
	for _, r := range batch {
		if r.relaxed {
			relaxed = append(relaxed, r)
		} else {
			durable = append(durable, r)
		}
	}
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

// commitBatchPipelined commits a batch in one transaction that does not
// wait for the disk (Options.SyncLog). Flag changes and expunges are
// answered at once; the durable writes go to the syncer, which answers
// them after a sync of the log that began after this commit.
func (db *DB) commitBatchPipelined(ctx context.Context, batch []*writeReq) {
	err := db.setSync(ctx, true)
	if err == nil {
		err = db.commitGroup(ctx, batch, true)
	}
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
