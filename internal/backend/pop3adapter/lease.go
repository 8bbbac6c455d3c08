package pop3adapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The maildrop lock has two parts (see the package comment): the lock in
// this process (Backend.locked), which alone decides between two sessions
// on this node, and the lease in the store, which keeps other nodes out.
//
// The lease's holder is the node, not the session: the in-process lock
// already orders this node's sessions, and a holder that outlives a
// session means that a lease left in the store by this node's last session
// never blocks this node's next one (the store renews a lease for the
// holder that has it). A lease whose release the store refused (a full
// disk, an outage) is released in this process at once and kept in
// Backend.unreleased, from where a goroutine retries it until it is gone
// or has lapsed; a new session of the mailbox on this node takes it over
// instead, so that no retry can delete the new session's lease.

// releaseTimeout bounds one attempt to release a lease in the store; the
// QUIT answer waits for the first one (RFC 1939 §6: the maildrop is
// released in the UPDATE state, so that a client that reconnects at once,
// perhaps to another node, finds it free).
const releaseTimeout = 5 * time.Second

// Backoff of the background release: from the first to the last delay,
// doubling.
const (
	retryFirst = time.Second
	retryMax   = 30 * time.Second
)

var errLeaseHeld = errors.New("maildrop lease held by another session")

func leaseName(mailboxID int64) string { return fmt.Sprintf("pop3:%d", mailboxID) }

// pendingRelease is a lease released in this process and not yet in the
// store.
type pendingRelease struct {
	mailboxID int64
	expires   time.Time // when the lease in the store lapses by itself

	// While a retry runs (set and cleared under Backend.mu): cancel ends
	// it, done is closed when it has ended.
	cancel context.CancelFunc
	done   chan struct{}
}

// heldLease is the lease of one session: renewed until release.
type heldLease struct {
	b         *Backend
	mailboxID int64
	stop      chan struct{}
	done      chan struct{}

	mu      sync.Mutex
	expires time.Time // of the lease last written for this node; zero: none
}

// lock takes the in-process lock of a mailbox, taking over a release of
// this node's lease still pending from an earlier session. It returns
// false when a session of this node holds the mailbox, and otherwise when
// the lease in the store, if any, lapses.
func (b *Backend) lock(ctx context.Context, mailboxID int64) (time.Time, bool) {
	b.mu.Lock()
	if _, ok := b.locked[mailboxID]; ok {
		b.mu.Unlock()
		return time.Time{}, false
	}
	b.locked[mailboxID] = struct{}{}
	p := b.unreleased[mailboxID]
	delete(b.unreleased, mailboxID)
	var running chan struct{}
	if p != nil && p.done != nil {
		p.cancel()
		running = p.done
	}
	b.mu.Unlock()
	if p == nil {
		return time.Time{}, true
	}
	if running != nil {
		// The retry was cancelled and ends at once; the lease is taken
		// only after it, so that it cannot delete the new lease.
		select {
		case <-running:
		case <-ctx.Done():
		}
	}
	b.log.Info("maildrop lease of the previous session taken over", "mailbox", mailboxID)
	return p.expires, true
}

// unlock releases the in-process lock; p, when not nil, is the session's
// lease that the store did not release, to retry in the background.
func (b *Backend) unlock(mailboxID int64, p *pendingRelease) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.locked, mailboxID)
	if p == nil {
		return
	}
	b.unreleased[mailboxID] = p
	if !b.retrying {
		b.retrying = true
		go b.retryReleases()
	}
}

// lease takes the maildrop lease in the store for this node and renews it
// until release. inherited is when a lease this node left in the store
// lapses (zero: none known).
//
// When the store cannot write (store.ErrStorageFull), the session goes on
// under the in-process lock alone, and renewing writes the lease once
// space is back: POP3 reads, and its login must not depend on a write.
// On SQLite (one node) nothing is lost by that; on a PostgreSQL cluster
// whose database is full, another node that cannot write its lease either
// may open the same maildrop, with the outcome the package comment
// describes for two sessions (deletions stay correct).
func (b *Backend) lease(ctx context.Context, mailboxID int64, inherited time.Time) (*heldLease, error) {
	l := &heldLease{b: b, mailboxID: mailboxID, stop: make(chan struct{}), done: make(chan struct{}), expires: inherited}
	now := time.Now()
	ok, err := b.mail.AcquireLease(ctx, leaseName(mailboxID), b.node, leaseTTL)
	switch {
	case errors.Is(err, store.ErrStorageFull):
		b.log.Warn("maildrop lease not written: storage full; only this node's lock guards the maildrop until it is",
			"mailbox", mailboxID, "err", err)
	case err != nil:
		return nil, err
	case !ok:
		return nil, errLeaseHeld
	default:
		l.expires = now.Add(leaseTTL)
	}
	go l.renew()
	return l, nil
}

func (l *heldLease) renew() {
	defer close(l.done)
	t := time.NewTicker(leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			now := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ok, err := l.b.mail.AcquireLease(ctx, leaseName(l.mailboxID), l.b.node, leaseTTL)
			cancel()
			switch {
			case err != nil:
				l.b.log.Warn("renew maildrop lease", "mailbox", l.mailboxID, "err", err)
			case !ok:
				// Another node took it while it could not be written
				// here; this session keeps the in-process lock.
				l.b.log.Warn("renew maildrop lease: held by another node", "mailbox", l.mailboxID)
			default:
				l.mu.Lock()
				l.expires = now.Add(leaseTTL)
				l.mu.Unlock()
			}
		}
	}
}

// release stops renewing and releases the lease in the store. When the
// store refuses, it returns the release to retry in the background (nil
// otherwise, and for a lease that has lapsed by now).
func (l *heldLease) release() *pendingRelease {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	expires := l.expires
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	err := l.b.mail.ReleaseLease(ctx, leaseName(l.mailboxID), l.b.node)
	if err == nil || !expires.After(time.Now()) {
		return nil
	}
	l.b.log.Warn("maildrop lease not released in the store; released on this node, retried in the background",
		"mailbox", l.mailboxID, "lapses", expires.UTC().Format(time.RFC3339), "err", err)
	return &pendingRelease{mailboxID: l.mailboxID, expires: expires}
}

// retryReleases retries the releases in b.unreleased, with backoff, until
// each is done, taken over by a new session, or lapsed.
func (b *Backend) retryReleases() {
	type attempt struct {
		p   *pendingRelease
		ctx context.Context
	}
	delay := retryFirst
	for {
		time.Sleep(delay)
		delay = min(2*delay, retryMax)
		now := time.Now()
		b.mu.Lock()
		var todo []attempt
		for id, p := range b.unreleased {
			if !p.expires.After(now) {
				delete(b.unreleased, id)
				b.log.Info("maildrop lease not released in the store has lapsed", "mailbox", id)
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
			p.cancel, p.done = cancel, make(chan struct{})
			todo = append(todo, attempt{p, ctx})
		}
		if len(todo) == 0 {
			b.retrying = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		for _, a := range todo {
			err := b.mail.ReleaseLease(a.ctx, leaseName(a.p.mailboxID), b.node)
			a.p.cancel()
			b.mu.Lock()
			if b.unreleased[a.p.mailboxID] == a.p {
				if err == nil {
					delete(b.unreleased, a.p.mailboxID)
					b.log.Info("maildrop lease released in the store after a retry", "mailbox", a.p.mailboxID)
				} else {
					b.log.Debug("maildrop lease still not released", "mailbox", a.p.mailboxID, "err", err)
				}
			}
			close(a.p.done)
			a.p.cancel, a.p.done = nil, nil
			b.mu.Unlock()
		}
	}
}
