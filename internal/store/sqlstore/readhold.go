package sqlstore

import (
	"context"
	"sync"
	"time"
)

// bodyReadHold is how long a read of a body keeps it from the sweep. A
// FETCH of BODY[] or a RETR reads a large body in several queries (one per
// chunk of the session's buffer) while it writes the literal or the
// multi-line response it has announced; a body swept between two of them
// leaves a response that cannot be finished, and the connection is closed
// (imap: abortResponse). The grace period (Options.BodyGrace) covers a
// read that starts soon after the expunge; this hold covers one that
// started late or runs long: each read of the body renews it, so only a
// client that stalls longer than this between two chunks can still be cut
// short.
const bodyReadHold = 30 * time.Second

// readHolds remembers the bodies read in the last bodyReadHold, for this
// process only: on PostgreSQL another node's sweep does not see them, and
// the grace period is what protects its readers there. A read that
// returned a whole body in one query takes its hold back (release): only
// reads that more reads of the body may follow stay remembered.
type readHolds struct {
	mu     sync.Mutex
	at     map[int64]readHold
	seq    uint64
	pruned int64 // when at was last pruned (unix nanoseconds)
	// sweeping holds the bodies a sweep is deleting, each with a channel
	// closed when that sweep's transaction has ended: a read of one of
	// them waits for it (and then finds the body gone), every other read
	// goes on.
	sweeping map[int64]chan struct{}
}

type readHold struct {
	at   int64 // unix nanoseconds of the latest read
	seq  uint64
	prev int64 // the read before it (0: none), which a release puts back
}

// note records that the bodies are about to be read and returns the
// mark of this read (for release). It runs before the read's query, so
// that a sweep either sees the hold and leaves the body, or deletes it
// before the query looks for it (which then reads as gone, before
// anything of it was sent). A read that has to wait for a sweep's
// transaction gives up when ctx ends, with ctx's error.
func (h *readHolds) note(ctx context.Context, ids ...int64) (uint64, error) {
	h.mu.Lock()
	for {
		var wait chan struct{}
		for _, id := range ids {
			if ch, ok := h.sweeping[id]; ok {
				wait = ch
				break
			}
		}
		if wait == nil {
			break
		}
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	now := time.Now().UnixNano()
	if h.at == nil {
		h.at = make(map[int64]readHold)
	}
	h.seq++
	for _, id := range ids {
		h.at[id] = readHold{at: now, seq: h.seq, prev: h.at[id].at}
	}
	// Pruned at most twice a hold, so the map holds what was read in the
	// last one and a half holds at most.
	if now-h.pruned > int64(bodyReadHold)/2 {
		h.pruned = now
		for id, r := range h.at {
			if now-r.at > int64(bodyReadHold) {
				delete(h.at, id)
			}
		}
	}
	return h.seq, nil
}

// release takes back the hold a read noted (seq) on a body it read whole,
// unless another read of the body noted one since: the hold of the read
// before it, if any, is put back (another session may be streaming the
// same body).
func (h *readHolds) release(id int64, seq uint64) {
	h.mu.Lock()
	if r, ok := h.at[id]; ok && r.seq == seq {
		if r.prev != 0 {
			h.at[id] = readHold{at: r.prev}
		} else {
			delete(h.at, id)
		}
	}
	h.mu.Unlock()
}

// sweepable returns the ids not read within the hold and marks them as
// being swept: a read of one of them waits until the caller, having
// deleted them (or failed to), calls done.
func (h *readHolds) sweepable(ids []int64) (free []int64, done func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now().UnixNano()
	ch := make(chan struct{})
	for _, id := range ids {
		if r, ok := h.at[id]; ok && now-r.at <= int64(bodyReadHold) {
			continue
		}
		if _, ok := h.sweeping[id]; ok {
			continue // another sweep has it
		}
		if h.sweeping == nil {
			h.sweeping = make(map[int64]chan struct{})
		}
		h.sweeping[id] = ch
		free = append(free, id)
	}
	return free, func() {
		h.mu.Lock()
		for _, id := range free {
			delete(h.sweeping, id)
		}
		h.mu.Unlock()
		close(ch)
	}
}
