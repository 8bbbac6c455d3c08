// Package migration moves mailboxes in from an existing IMAP server, as
// Exchange's IMAP migration batches do, and imports Maildir and mbox files
// from disk.
//
// The source side is go-imap v2's imapclient. Every message goes into
// Gatehouse through the store (store.MigrationStore.CopyMigrated), in steps
// whose progress (source UIDVALIDITY, last UID copied, HIGHESTMODSEQ) is
// committed in the same transaction as the messages, so that a crash, a
// kill -9 or a dropped source connection never copies a message twice or
// loses one: the next attempt goes on from the last commit.
//
// The Engine runs batches: it looks at the stored batches every
// PollInterval and syncs those that are Syncing or Completing, and those
// Synced longer ago than ResyncInterval; with several nodes on one
// PostgreSQL a lease in the store makes one node run a batch. States are
// Exchange's: Created, Syncing, Synced, Stopped, Completing, Completed,
// Failed. The admin changes them (Start-, Stop-, Complete-MigrationBatch)
// through the service layer; the engine only moves a batch it runs.
package migration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Options configure an Engine.
type Options struct {
	Store   store.Store
	Hub     notify.Hub // new mail is announced to IDLE sessions; nil: none
	Keyring *Keyring
	Logger  *slog.Logger
	// Node names this process for the batch leases (notify.NewNodeID).
	Node string
	// Instance, when set, is this installation's claimed identity
	// (ClaimInstance): the engine holds leases as "Instance/Node" and
	// takes over those of an earlier process of its instance at once
	// (after a kill -9, a restart goes on with its batches without
	// waiting for the lease to expire).
	Instance *Instance
	// LeaseTTL is how long a batch's lease outlives a node that stopped
	// renewing it (default 30 s).
	LeaseTTL time.Duration
	// MaxMessageSize: larger source messages are skipped and listed
	// (default 35 MB, Gatehouse's max_message_size).
	MaxMessageSize int64
	// StepMessages and StepBytes bound one committed step (default 200
	// messages, 32 MiB; a larger single message is its own step).
	StepMessages int
	StepBytes    int64
	// ResyncInterval is how often a Synced batch is synced again until it
	// is completed (default 24 h, as Exchange).
	ResyncInterval time.Duration
	// PollInterval is how often the stored batches are looked at (default
	// 5 s).
	PollInterval time.Duration
	// Attempts is how often a user's sync is tried in one run before the
	// user is Failed (default 5); RetryDelay the first wait between
	// attempts, doubled each time up to a minute (default 1 s).
	Attempts   int
	RetryDelay time.Duration
	// TLS is the client configuration for Ssl and Tls endpoints (nil:
	// system roots).
	TLS *tls.Config
	// IdleTimeout: see Source.
	IdleTimeout time.Duration
}

// Engine runs migration batches.
type Engine struct {
	o       Options
	mu      sync.Mutex
	running map[int64]bool
	wg      sync.WaitGroup
	wake    chan struct{}
	// holder is the name the leases are held by; orphans the prefix of
	// the holders of earlier processes of this instance ("" without one).
	holder, orphans string
}

// New returns an engine; Run starts it.
func New(o Options) *Engine {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Node == "" {
		o.Node = notify.NewNodeID()
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 35e6
	}
	if o.StepMessages <= 0 {
		o.StepMessages = 200
	}
	if o.StepBytes <= 0 {
		o.StepBytes = 32 << 20
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = 24 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = leaseTTL
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	e := &Engine{o: o, running: map[int64]bool{}, wake: make(chan struct{}, 1), holder: o.Node}
	if o.Instance != nil {
		e.orphans = o.Instance.ID + "/"
		e.holder = e.orphans + o.Node
	}
	return e
}

// acquire takes or renews a batch's lease.
func (e *Engine) acquire(ctx context.Context, id int64) (bool, error) {
	return e.o.Store.AcquireLeaseFrom(ctx, leaseName(id), e.holder, e.orphans, e.o.LeaseTTL)
}

// Wake makes Run look at the batches now (after Start-MigrationBatch).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run looks at the batches until ctx ends, then waits for the batches it
// runs to stop (they stop at once: their next step is not started, and a
// step under way is either committed or not).
func (e *Engine) Run(ctx context.Context) {
	defer e.wg.Wait()
	t := time.NewTicker(e.o.PollInterval)
	defer t.Stop()
	for {
		if err := e.scan(ctx); err != nil && ctx.Err() == nil {
			e.o.Logger.Warn("migration: look at batches", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

func leaseName(batchID int64) string { return "migration-batch-" + strconv.FormatInt(batchID, 10) }

// leaseTTL is the default of Options.LeaseTTL, how long a batch's lease outlives its node: a batch whose
// node was killed resumes on another node after at most this long; at the
// restart of the same installation (Options.Instance) at once. The
// running node renews it every quarter.
const leaseTTL = 30 * time.Second

func (e *Engine) due(b store.MigrationBatch, now time.Time) bool {
	switch b.Status {
	case store.MigrationSyncing, store.MigrationCompleting:
		return true
	case store.MigrationSynced:
		return now.Sub(b.LastSyncedTime) >= e.o.ResyncInterval
	}
	return false
}

func (e *Engine) scan(ctx context.Context) error {
	var batches []store.MigrationBatch
	if err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		batches, err = tx.MigrationBatches(ctx, "", 0)
		return err
	}); err != nil {
		return err
	}
	now := time.Now()
	for _, b := range batches {
		if !e.due(b, now) {
			continue
		}
		e.mu.Lock()
		busy := e.running[b.ID]
		e.mu.Unlock()
		if busy {
			continue
		}
		ok, err := e.acquire(ctx, b.ID)
		if err != nil {
			return err
		}
		if !ok {
			continue // another node runs it
		}
		e.mu.Lock()
		e.running[b.ID] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer func() {
				if r := recover(); r != nil {
					e.o.Logger.Error("migration: batch panicked", "batch", b.Name, "panic", r)
				}
				e.o.Store.ReleaseLease(context.WithoutCancel(ctx), leaseName(b.ID), e.holder)
				e.mu.Lock()
				delete(e.running, b.ID)
				e.mu.Unlock()
			}()
			e.runBatch(ctx, b)
		}()
	}
	return nil
}

// watch keeps the lease and cancels the run when the batch is stopped or
// removed (or the lease is lost).
func (e *Engine) watch(ctx context.Context, cancel context.CancelFunc, id int64) {
	t := time.NewTicker(min(e.o.PollInterval, time.Second))
	defer t.Stop()
	renew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var b store.MigrationBatch
		err := e.o.Store.View(ctx, func(tx store.Tx) error {
			var err error
			b, err = tx.MigrationBatch(ctx, "", id)
			return err
		})
		if errors.Is(err, store.ErrNotFound) || (err == nil && b.Status == store.MigrationStopped) {
			cancel()
			return
		}
		if time.Since(renew) > e.o.LeaseTTL/4 {
			ok, err := e.acquire(ctx, id)
			if err == nil && !ok {
				e.o.Logger.Warn("migration: lease lost; stopping here", "batch", id)
				cancel()
				return
			}
			renew = time.Now()
		}
	}
}

func (e *Engine) runBatch(parent context.Context, b store.MigrationBatch) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	go e.watch(ctx, cancel, b.ID)
	log := e.o.Logger.With("batch", b.Name)
	var ep store.MigrationEndpoint
	var users []store.MigrationUser
	err := e.o.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.MigrationBatch(ctx, "", b.ID)
		if err != nil {
			return err
		}
		if !e.due(cur, time.Now()) {
			return errNotDue
		}
		b = cur
		if b.Status == store.MigrationSynced {
			b.Status = store.MigrationSyncing
		}
		if b.StartTime.IsZero() {
			b.StartTime = time.Now().UTC()
		}
		if err := tx.UpdateMigrationBatch(ctx, b); err != nil {
			return err
		}
		if ep, err = tx.MigrationEndpoint(ctx, "", b.EndpointID); err != nil {
			return err
		}
		for after := ""; ; {
			page, err := tx.MigrationUsers(ctx, b.ID, after, 1000)
			if err != nil {
				return err
			}
			users = append(users, page...)
			if len(page) < 1000 {
				return nil
			}
			after = page[len(page)-1].EmailAddress
		}
	})
	if errors.Is(err, errNotDue) {
		return
	}
	if err != nil {
		log.Error("migration: start batch", "err", err)
		return
	}
	src := Source{Server: ep.RemoteServer, Port: ep.Port, Security: ep.Security, TLS: e.o.TLS, Trusted: ep.TrustedCertificates, IdleTimeout: e.o.IdleTimeout}
	completing := b.Status == store.MigrationCompleting
	log.Info("migration: batch sync", "users", len(users), "completing", completing)
	sem := make(chan struct{}, max(1, ep.MaxConcurrentMigrations))
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for _, u := range users {
		if u.Status == store.MigrationCompleted {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				if parent.Err() == nil && u.Status != store.MigrationFailed {
					// Stopped before its turn came.
					u.Status, u.Error = store.MigrationStopped, ""
					e.setUser(ctx, u)
				}
				return
			}
			defer func() { <-sem }()
			if !e.syncWithRetry(ctx, src, b, u, completing, log) {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if parent.Err() != nil {
		return // shutting down: the batch stays as it is and resumes at the next start
	}
	now := time.Now().UTC()
	ctx = context.WithoutCancel(ctx)
	err = e.o.Store.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.MigrationBatch(ctx, "", b.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.MigrationSyncing && cur.Status != store.MigrationCompleting {
			return nil // stopped (or changed) by an admin meanwhile
		}
		cur.LastSyncedTime = now
		cur.Error = ""
		switch {
		case failed > 0 && failed == len(users):
			cur.Status = store.MigrationFailed
			cur.Error = fmt.Sprintf("every user of the batch failed (%d); see Get-MigrationUser for each reason", failed)
		case cur.Status == store.MigrationCompleting && completing:
			cur.Status = store.MigrationCompleted
			cur.CompletedTime = now
			if err := tx.ClearMigrationSecrets(ctx, b.ID); err != nil {
				return err
			}
		case cur.Status == store.MigrationCompleting:
			return nil // Complete arrived during a sync: one more run
		default:
			cur.Status = store.MigrationSynced
			if failed > 0 {
				cur.Error = fmt.Sprintf("%d of %d users failed; see Get-MigrationUser for each reason", failed, len(users))
			}
		}
		return tx.UpdateMigrationBatch(ctx, cur)
	})
	if err != nil {
		log.Error("migration: finish batch", "err", err)
	}
}

var errNotDue = errors.New("batch not due")

func (e *Engine) setUser(ctx context.Context, u store.MigrationUser) {
	// The status is written also when the run was just stopped.
	ctx = context.WithoutCancel(ctx)
	err := e.o.Store.Update(ctx, func(tx store.Tx) error { return tx.SetMigrationUserStatus(ctx, u) })
	if err != nil {
		e.o.Logger.Error("migration: user status", "user", u.EmailAddress, "err", err)
	}
}

// syncWithRetry syncs one user, retrying with backoff what may pass (a
// dropped connection, a source that stopped answering, a busy store); a
// refused login fails the user at once with the source's text. It reports
// whether the user synced.
func (e *Engine) syncWithRetry(ctx context.Context, src Source, b store.MigrationBatch, u store.MigrationUser, completing bool, log *slog.Logger) bool {
	log = log.With("user", u.EmailAddress)
	u.Status, u.Error = store.MigrationSyncing, ""
	if completing {
		u.Status = store.MigrationCompleting
	}
	e.setUser(ctx, u)
	if u.Secret == nil {
		u.Status, u.Error = store.MigrationFailed, "The source password is no longer stored (the batch was completed)."
		e.setUser(ctx, u)
		return false
	}
	pw, err := e.o.Keyring.Open(u.Secret)
	if err != nil {
		u.Status, u.Error = store.MigrationFailed, err.Error()
		e.setUser(ctx, u)
		return false
	}
	delay := e.o.RetryDelay
	for attempt := 1; ; attempt++ {
		st, err := e.SyncUser(ctx, src, b, u, string(pw))
		if err == nil {
			rate := 0.0
			if st.Duration > 0 {
				rate = float64(st.Copied+st.Deduped) / st.Duration.Seconds()
			}
			log.Info("migration: user synced", "folders", st.Folders, "copied", st.Copied, "deduped", st.Deduped, "skipped", st.Skipped, "unskipped", st.Unskipped,
				"flags", st.Flagged, "bytes", st.Bytes, "seconds", st.Duration.Seconds(), "messages_per_second", rate)
			u.Status, u.Error, u.LastSyncTime = store.MigrationSynced, "", time.Now().UTC()
			if completing {
				u.Status = store.MigrationCompleted
			}
			e.setUser(ctx, u)
			return true
		}
		if ctx.Err() != nil {
			u.Status, u.Error = store.MigrationStopped, ""
			e.setUser(ctx, u)
			return true
		}
		var ae *AuthError
		if errors.As(err, &ae) || attempt >= e.o.Attempts {
			log.Warn("migration: user failed", "attempt", attempt, "err", err)
			u.Status, u.Error = store.MigrationFailed, err.Error()
			e.setUser(ctx, u)
			return false
		}
		log.Info("migration: user sync interrupted; resuming", "attempt", attempt, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			u.Status, u.Error = store.MigrationStopped, ""
			e.setUser(ctx, u)
			return true
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
	}
}
