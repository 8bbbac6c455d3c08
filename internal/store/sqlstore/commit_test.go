package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestRelaxedAnsweredBeforeDurable: in a batch of the group committer with
// Options.SyncLog, the relaxed writes (flag changes, expunges) are
// committed and answered before the durable writes of the same batch run:
// a STORE does not wait for the APPENDs it was queued with.
func TestRelaxedAnsweredBeforeDurable(t *testing.T) {
	w, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "commit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	db := &DB{d: Dialect{Rebind: func(q string) string { return q }}, w: w, syncs: make(chan []*writeReq, 1),
		syncLog: func() error { return nil }}
	relaxed := &writeReq{relaxed: true, done: make(chan struct{}), fn: func(c conn) error { return nil }}
	var answeredFirst bool
	durable := &writeReq{done: make(chan struct{}), fn: func(c conn) error {
		select {
		case <-relaxed.done:
			answeredFirst = true
		default:
		}
		return nil
	}}
	db.commitBatchPipelined(context.Background(), []*writeReq{durable, relaxed})
	select {
	case <-relaxed.done:
	default:
		t.Fatal("relaxed write not answered after its batch")
	}
	if !answeredFirst {
		t.Error("relaxed write answered only after the durable write of its batch ran")
	}
	if got := <-db.syncs; len(got) != 1 || got[0] != durable {
		t.Errorf("handed to the syncer: %v; want the durable write", got)
	}
	if relaxed.err != nil || durable.err != nil {
		t.Errorf("errors: %v, %v", relaxed.err, durable.err)
	}
}

// TestCancelledWriteKeepsItsBatch: a session whose context ends while its
// write runs in a batch of the group committer interrupts nothing. On
// SQLite an interrupted write statement rolls back the whole transaction,
// and with it the writes of the other sessions in the batch.
func TestCancelledWriteKeepsItsBatch(t *testing.T) {
	w, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "commit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db := &DB{d: Dialect{Rebind: func(q string) string { return q }}, w: w}
	const rows = 1_000_000
	long := &writeReq{done: make(chan struct{}), fn: func(c conn) error {
		ctx, cancel := context.WithCancel(context.Background())
		// Its client goes away while the statement runs (it takes far
		// longer than this).
		time.AfterFunc(5*time.Millisecond, cancel)
		_, err := c.exec(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO t SELECT i FROM n`, rows)
		return err
	}}
	other := &writeReq{done: make(chan struct{}), fn: func(c conn) error {
		_, err := c.exec(context.Background(), `INSERT INTO t VALUES (-1)`)
		return err
	}}
	db.commitBatch([]*writeReq{other, long})
	if other.err != nil {
		t.Errorf("the other session's write: %v", other.err)
	}
	if long.err != nil {
		t.Errorf("the cancelled session's write, queued before its context ended: %v", long.err)
	}
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != rows+1 {
		t.Errorf("%d rows committed; want %d", n, rows+1)
	}
}
