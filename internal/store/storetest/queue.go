package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func enqueue(t *testing.T, s store.Store, m store.OutboundMessage) int64 {
	t.Helper()
	id, err := s.Enqueue(ctx, m)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return id
}

func listQueue(t *testing.T, s store.Store, q store.OutboundQuery) []store.OutboundMessage {
	t.Helper()
	var out []store.OutboundMessage
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.OutboundMessages(ctx, q)
		return err
	}); err != nil {
		t.Fatalf("list queue: %v", err)
	}
	return out
}

func testQueueLifecycle(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Queue Sender")
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.Enqueue(ctx, store.OutboundMessage{MailboxID: a.ID, From: "a@contoso.com", Data: []byte("x")}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("enqueue without recipients: got %v; want ErrInvalid", err)
	}
	if _, err := s.Enqueue(ctx, store.OutboundMessage{MailboxID: a.ID, Recipients: []string{"a\r\nb@x"}, Data: []byte("x")}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("enqueue with a line break in a recipient: got %v; want ErrInvalid", err)
	}
	data := []byte("Subject: out\r\n\r\nhello\r\n")
	id := enqueue(t, s, store.OutboundMessage{MailboxID: a.ID, From: "queue.sender@contoso.com",
		Recipients: []string{"x@fabrikam.com", "y@fabrikam.com"}, Data: data,
		DateReceived: now, Expires: now.Add(48 * time.Hour)})
	later := enqueue(t, s, store.OutboundMessage{MailboxID: a.ID, From: "queue.sender@contoso.com",
		Recipients: []string{"z@fabrikam.com"}, Data: []byte("later"), DateReceived: now, NextRetry: now.Add(time.Hour),
		Expires: now.Add(48 * time.Hour)})

	var got store.OutboundMessage
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.OutboundMessage(ctx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := store.OutboundMessage{ID: id, MailboxID: a.ID, From: "queue.sender@contoso.com",
		Recipients: []string{"x@fabrikam.com", "y@fabrikam.com"}, Size: int64(len(data)),
		DateReceived: now, Expires: now.Add(48 * time.Hour), NextRetry: now}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OutboundMessage: got %+v; want %+v", got, want)
	}
	if st := got.Status(now); st != "Ready" {
		t.Errorf("status: got %s; want Ready", st)
	}

	// Only the due message is claimed, with its data; a second runner gets
	// nothing while the lease holds.
	c, err := s.ClaimOutbound(ctx, "runner-1", now, time.Minute, 10)
	if err != nil || len(c) != 1 || c[0].ID != id || string(c[0].Data) != string(data) {
		t.Fatalf("claim: got %+v, %v; want message %d with its data", c, err, id)
	}
	if c2, err := s.ClaimOutbound(ctx, "runner-2", now, time.Minute, 10); err != nil || len(c2) != 0 {
		t.Errorf("second claim during the lease: got %d messages, %v; want none", len(c2), err)
	}
	if st := listQueue(t, s, store.OutboundQuery{})[0].Status(now); st != "Active" {
		t.Errorf("status while leased: got %s; want Active", st)
	}
	// A lapsed lease lets another runner claim; the first can no longer
	// finish it.
	c2, err := s.ClaimOutbound(ctx, "runner-2", now.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(c2) != 1 || c2[0].ID != id {
		t.Fatalf("claim after the lease lapsed: got %+v, %v", c2, err)
	}
	if ok, err := s.CompleteOutbound(ctx, id, "runner-1"); err != nil || ok {
		t.Errorf("complete by the runner that lost the lease: got %v, %v; want false", ok, err)
	}
	next := now.Add(10 * time.Minute)
	if ok, err := s.DeferOutbound(ctx, id, "runner-2", store.OutboundDeferral{Remaining: []string{"y@fabrikam.com"},
		NextRetry: next, LastError: "451 4.3.0 try later"}); err != nil || !ok {
		t.Fatalf("defer: got %v, %v; want true", ok, err)
	}
	l := listQueue(t, s, store.OutboundQuery{})
	if len(l) != 2 || l[0].ID != id || l[1].ID != later {
		t.Fatalf("list: got %+v; want %d, %d", l, id, later)
	}
	if m := l[0]; !slices.Equal(m.Recipients, []string{"y@fabrikam.com"}) || m.RetryCount != 1 || m.LastError != "451 4.3.0 try later" ||
		!m.NextRetry.Equal(next) || m.LeaseHolder != "" || m.Data != nil || m.Status(now) != "Retry" {
		t.Errorf("after defer: got %+v; want one recipient left, retry 1, next %v, status Retry", m, next)
	}
	// Paging by ID.
	if p := listQueue(t, s, store.OutboundQuery{AfterID: id, Limit: 1}); len(p) != 1 || p[0].ID != later {
		t.Errorf("page after %d: got %+v; want %d", id, p, later)
	}
	if p := listQueue(t, s, store.OutboundQuery{Limit: 1}); len(p) != 1 || p[0].ID != id {
		t.Errorf("first page of 1: got %+v; want %d", p, id)
	}

	// Retry-Queue makes both due now; the claim then takes both, oldest due first.
	var n int64
	if err := s.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.RetryOutbound(ctx, nil, now.Add(time.Minute))
		return err
	}); err != nil || n != 2 {
		t.Fatalf("retry all: got %d, %v; want 2", n, err)
	}
	c3, err := s.ClaimOutbound(ctx, "runner-3", now.Add(time.Minute), time.Minute, 10)
	if err != nil || len(c3) != 2 {
		t.Fatalf("claim after retry: got %d, %v; want 2", len(c3), err)
	}
	if ok, err := s.CompleteOutbound(ctx, id, "runner-3"); err != nil || !ok {
		t.Errorf("complete: got %v, %v; want true", ok, err)
	}
	// Remove-Message, also of a leased message; then it is gone.
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.RemoveOutbound(ctx, later) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.RemoveOutbound(ctx, later) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remove twice: got %v; want ErrNotFound", err)
	}
	if ok, err := s.DeferOutbound(ctx, later, "runner-3", store.OutboundDeferral{Remaining: []string{"z@fabrikam.com"}, NextRetry: now}); err != nil || ok {
		t.Errorf("defer of a removed message: got %v, %v; want false", ok, err)
	}
	if l := listQueue(t, s, store.OutboundQuery{}); len(l) != 0 {
		t.Errorf("queue at the end: got %+v; want empty", l)
	}
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.OutboundMessage(ctx, id); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("completed message: got %v; want ErrNotFound", err)
	}
}

// testQueueConcurrentClaims races runners over one queue: every message is
// claimed by exactly one of them.
func testQueueConcurrentClaims(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Queue Racer")
	const msgs = 40
	now := time.Now()
	for i := range msgs {
		enqueue(t, s, store.OutboundMessage{MailboxID: a.ID, From: "queue.racer@contoso.com",
			Recipients: []string{fmt.Sprintf("r%d@fabrikam.com", i)}, Data: []byte("m"), DateReceived: now, Expires: now.Add(time.Hour)})
	}
	var mu sync.Mutex
	claimed := map[int64]string{}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("runner-%d", r)
			for {
				c, err := s.ClaimOutbound(ctx, holder, time.Now(), time.Hour, 3)
				if err != nil {
					t.Errorf("%s: claim: %v", holder, err)
					return
				}
				if len(c) == 0 {
					return
				}
				mu.Lock()
				for _, m := range c {
					if prev, dup := claimed[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, holder)
					}
					claimed[m.ID] = holder
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != msgs {
		t.Errorf("claimed %d messages; want %d", len(claimed), msgs)
	}
}

func testSmtpClientAuthSwitch(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Smtp Switch")
	get := func() store.Mailbox {
		t.Helper()
		l := find(t, s, "Smtp Switch")
		if len(l) != 1 {
			t.Fatalf("find: got %d", len(l))
		}
		return l[0]
	}
	if v := get().SmtpClientAuthenticationDisabled; v != nil {
		t.Errorf("new mailbox: got %v; want nil (follow the organization)", *v)
	}
	for _, v := range []*bool{new(true), new(false), nil} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxSmtpClientAuth(ctx, a.ID, v, time.Now()) }); err != nil {
			t.Fatal(err)
		}
		m := get()
		if (v == nil) != (m.SmtpClientAuthenticationDisabled == nil) || v != nil && *v != *m.SmtpClientAuthenticationDisabled {
			t.Errorf("after setting %v: got %v", fmtBoolPtr(v), fmtBoolPtr(m.SmtpClientAuthenticationDisabled))
		}
		// UpdateMailbox leaves it alone.
		m.DisplayName = "Smtp Switch"
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		if got := get().SmtpClientAuthenticationDisabled; fmtBoolPtr(got) != fmtBoolPtr(v) {
			t.Errorf("after UpdateMailbox: got %s; want %s", fmtBoolPtr(got), fmtBoolPtr(v))
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxSmtpClientAuth(ctx, a.ID+1000, nil, time.Now()) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown mailbox: got %v; want ErrNotFound", err)
	}
}

func fmtBoolPtr(v *bool) string {
	if v == nil {
		return "$null"
	}
	return fmt.Sprint(*v)
}
