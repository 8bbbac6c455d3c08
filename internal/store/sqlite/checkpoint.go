package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer copies the write-ahead
// log's committed frames into the database file. Under the mixed IMAP load
// (about 300 commits a second of a few pages each) that is a few hundred
// frames at a time, near SQLite's own 1,000-page automatic checkpoint,
// which stays on the writer only as a backstop (writerAutoCheckpoint).
const checkpointEvery = 500 * time.Millisecond

// writerAutoCheckpoint is the writer's wal_autocheckpoint, in pages: far
// enough that the checkpointer, not the writer, normally does the work.
const writerAutoCheckpoint = 8000

// checkpointer runs PASSIVE checkpoints on a connection of its own, so
// that the one writer does not: SQLite's automatic checkpoint runs inside
// the commit that crosses wal_autocheckpoint, and with it two fsyncs (the
// log, then the database file) that every write queued behind that commit
// waited for. A PASSIVE checkpoint takes no lock the writer needs, so
// commits go on while it copies; one with nothing to copy does no I/O.
// The log is restarted from its start by the writer, as before, once a
// checkpoint has copied all of it.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	done func(logFrames, copied int) // Options.checkpointed
	stop chan struct{}
	wg   sync.WaitGroup
}

func startCheckpointer(db *sql.DB, log *slog.Logger, done func(logFrames, copied int)) *checkpointer {
	c := &checkpointer{db: db, log: log, done: done, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var busy, logFrames, done int
		err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
		cancel()
		switch {
		case err != nil && c.log != nil:
			// The writer's own automatic checkpoint still bounds the log.
			c.log.Warn("checkpoint of the write-ahead log failed", "err", err)
		case err == nil && c.done != nil:
			c.done(logFrames, done)
		}
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}
