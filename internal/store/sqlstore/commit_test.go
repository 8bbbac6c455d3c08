package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

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
