package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestReadHolds checks what the sweep may take while bodies are read: not a
// body read within the hold, a body read whole once its read took the hold
// back, a body whose hold is older than bodyReadHold; and that a read of a
// body being swept waits for the sweep's end while a read of another body
// does not.
func TestReadHolds(t *testing.T) {
	var h readHolds
	ctx := context.Background()
	note := func(ids ...int64) uint64 {
		seq, err := h.note(ctx, ids...)
		if err != nil {
			t.Fatalf("note %v: %v", ids, err)
		}
		return seq
	}
	streamed := note(1)
	whole := note(2)
	h.release(2, whole)
	note(3)
	h.release(1, streamed-1) // a mark that is not the latest takes nothing back
	old := time.Now().Add(-bodyReadHold - time.Second).UnixNano()
	h.mu.Lock()
	h.at[3] = readHold{at: old, seq: h.at[3].seq}
	h.mu.Unlock()

	free, done := h.sweepable([]int64{1, 2, 3, 4})
	if want := []int64{2, 3, 4}; !slices.Equal(free, want) {
		t.Fatalf("sweepable: %v; want %v (1 is held)", free, want)
	}
	if again, d := h.sweepable([]int64{2, 4}); len(again) != 0 {
		t.Errorf("bodies another sweep is deleting offered again: %v", again)
	} else {
		d()
	}

	// A session streams body 7 while another reads it whole: the whole
	// read's release leaves the stream's hold.
	note(7)
	h.release(7, note(7))
	free7, d7 := h.sweepable([]int64{7})
	d7()
	if len(free7) != 0 {
		t.Errorf("body streamed by one session, read whole by another: sweepable %v; want none", free7)
	}

	// A read of body 5 goes on during the sweep; one of body 4 waits.
	other := make(chan struct{})
	go func() { h.note(ctx, 5); close(other) }()
	select {
	case <-other:
	case <-time.After(10 * time.Second):
		t.Fatal("a read of a body not being swept waited for the sweep")
	}
	swept := make(chan struct{})
	go func() { h.note(ctx, 9, 4); close(swept) }()
	select {
	case <-swept:
		t.Fatal("a read of a body being swept went on before the sweep ended")
	case <-time.After(50 * time.Millisecond):
	}
	// A read whose context ends while it waits gives up.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() { _, err := h.note(cctx, 4); gaveUp <- err }()
	cancel()
	select {
	case err := <-gaveUp:
		if err == nil {
			t.Error("a read of a body being swept, its context ended: no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read of a body being swept still waits after its context ended")
	}
	done()
	select {
	case <-swept:
	case <-time.After(10 * time.Second):
		t.Fatal("a read of a swept body still waits after the sweep ended")
	}
	// Read now, 4 is held again (it was not deleted, say: referenced by a
	// copy made meanwhile).
	if free, d := h.sweepable([]int64{4, 6}); !slices.Equal(free, []int64{6}) {
		t.Errorf("after the read: sweepable %v; want [6]", free)
	} else {
		d()
	}
}
