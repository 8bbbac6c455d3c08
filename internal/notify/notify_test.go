package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

type recorder struct {
	mu  sync.Mutex
	got []notify.Event
	ch  chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) fn(e notify.Event) {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) wait(t *testing.T, n int) []notify.Event {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("waited for %d events; got %d", n, i)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Event(nil), r.got...)
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case <-r.ch:
		t.Fatalf("unexpected event: %+v", r.got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestLocalRouting(t *testing.T) {
	h := notify.NewLocal()
	one, all := newRecorder(), newRecorder()
	cancel := h.Subscribe(7, one.fn)
	h.Subscribe(0, all.fn)
	ctx := context.Background()
	h.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: 7, FolderID: 3, ModSeq: 9})
	h.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: 8})
	h.Publish(ctx, notify.Event{Kind: notify.AccessChanged})
	if got := one.wait(t, 1); got[0].FolderID != 3 || got[0].ModSeq != 9 {
		t.Errorf("mailbox subscriber: got %+v", got)
	}
	one.none(t)
	if got := all.wait(t, 3); len(got) != 3 {
		t.Errorf("all-events subscriber: got %+v", got)
	}
	cancel()
	cancel()
	h.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: 7})
	one.none(t)
}

func TestPostgresBetweenNodes(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	a, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: dsn, Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: dsn, Node: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ra, rb := newRecorder(), newRecorder()
	a.Subscribe(5, ra.fn)
	b.Subscribe(5, rb.fn)
	e := notify.Event{Kind: notify.AccessChanged, MailboxID: 5}
	if err := a.Publish(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := ra.wait(t, 1); got[0] != e {
		t.Errorf("local delivery: got %+v", got)
	}
	if got := rb.wait(t, 1); got[0] != e {
		t.Errorf("other node: got %+v; want %+v", got, e)
	}
	ra.none(t) // no echo of its own event

	// A question travels with its own ID, not in ModSeq.
	q := notify.Event{Kind: notify.SessionsQuery, MailboxID: 5, QueryID: 1<<63 + 42, Origin: "a"}
	if err := a.Publish(ctx, q); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, 1)
	if got := rb.wait(t, 1); got[len(got)-1] != q {
		t.Errorf("sessions query on the other node: got %+v; want %+v", got[len(got)-1], q)
	}
}
