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

// TestPostgresManyPublishers: events published at once by many sessions of
// one node all reach the other node, each publisher's in its order (the
// publisher sends what has gathered in one round trip); a Publish after
// Close fails at once, and what was published before Close went out.
func TestPostgresManyPublishers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	a, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: dsn, Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := notify.NewPostgres(ctx, notify.PostgresOptions{DSN: dsn, Node: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const publishers, each = 8, 300
	var mu sync.Mutex
	got := map[int64][]int64{}
	all := make(chan struct{}, publishers*each)
	for m := int64(1); m <= publishers; m++ {
		b.Subscribe(m, func(e notify.Event) {
			mu.Lock()
			got[e.MailboxID] = append(got[e.MailboxID], e.FolderID)
			mu.Unlock()
			all <- struct{}{}
		})
	}
	var wg sync.WaitGroup
	for m := int64(1); m <= publishers; m++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1); i <= each; i++ {
				if err := a.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: m, FolderID: i}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// The last events are still queued when Close begins: it sends them.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < publishers*each; n++ {
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Fatalf("the other node got %d events of %d", n, publishers*each)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for m := int64(1); m <= publishers; m++ {
		seq := got[m]
		if len(seq) != each {
			t.Fatalf("mailbox %d: got %d events; want %d", m, len(seq), each)
		}
		for i, f := range seq {
			if f != int64(i+1) {
				t.Fatalf("mailbox %d: event %d is folder %d; want %d (out of order)", m, i, f, i+1)
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- a.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: 1}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Publish after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish after Close hangs")
	}
}
