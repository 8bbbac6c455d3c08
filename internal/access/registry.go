package access

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Session is one open, authenticated POP3 or IMAP4 session.
type Session struct {
	MailboxID  int64
	Protocol   Protocol
	RemoteAddr string
	Since      time.Time
	// credential is the password hash the session signed in with ("":
	// not known, never compared).
	credential string
	// appPassword is the ID of the app password the session signed in
	// with (0: none); the session ends when it is revoked.
	appPassword int64
	kick        func(reason string)
	kicked      bool
	// seq orders registrations (Registry.seq): a re-check judges only the
	// sessions registered before it began to read the store.
	seq uint64
}

// AppPasswordID is the ID of the app password the session signed in with
// (0: none).
func (s Session) AppPasswordID() int64 { return s.appPassword }

// Registry knows the sessions open on this node and closes those the rule
// no longer allows, as soon as an AccessChanged or MailboxRemoved event
// arrives (from this node or another), and every session of a mailbox whose
// password changed (CredentialsChanged).
//
// Each change is enforced once per node: a change made on this node goes
// through Publish, which enforces it here before it returns and marks it
// with this node's name (Event.Origin); when the hub hands the event back
// to this registry, it is skipped. Other nodes, and events published
// without Publish, are enforced from the hub.
type Registry struct {
	st   store.Store
	hub  notify.Hub
	log  *slog.Logger
	node string // Event.Origin of what Publish sends; names answers to SessionsQuery

	mu       sync.Mutex
	sessions map[int64]map[*Session]struct{}
	seq      uint64 // the last Session.seq given

	onKick func(p Protocol)

	work      chan notify.Event
	wmu       sync.Mutex // guards closed and overflow, and sends on work
	closed    bool
	overflow  bool
	cancel    func()
	closeOnce sync.Once
	done      chan struct{}
}

// RegistryOptions configure a Registry.
type RegistryOptions struct {
	Store  store.Store
	Hub    notify.Hub
	Logger *slog.Logger
	// Node names this node (notify.NewNodeID when empty); the server
	// gives the registry and the hub the same name.
	Node string
	// OnKick, when set, is called for every session closed by policy.
	OnKick func(p Protocol)
}

// NewRegistry returns a registry that listens on the hub.
func NewRegistry(o RegistryOptions) *Registry {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Node == "" {
		o.Node = notify.NewNodeID()
	}
	r := &Registry{st: o.Store, hub: o.Hub, log: log, node: o.Node, onKick: o.OnKick, sessions: map[int64]map[*Session]struct{}{},
		work: make(chan notify.Event, 1024), done: make(chan struct{})}
	// Events arrive on the publisher's goroutine; evaluating them reads the
	// store, so hand them to our own goroutine.
	r.cancel = r.hub.Subscribe(0, func(e notify.Event) {
		if e.Kind == notify.SessionsQuery {
			go r.answer(e)
			return
		}
		if !enforced(e) || e.Origin == r.node {
			// Not about access, or Publish enforced it already.
			return
		}
		r.enqueue(e)
	})
	go r.run()
	return r
}

// Close stops listening, after handling the events already queued. Open
// sessions are not touched. Calls after the first do nothing.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		r.cancel()
		// A dispatch already under way may still call the subscriber.
		r.wmu.Lock()
		r.closed = true
		close(r.work)
		r.wmu.Unlock()
	})
	<-r.done
}

// enqueue hands an event to the registry's goroutine without blocking the
// hub. When the queue is full, the events are dropped and one
// organization-wide re-check runs once the queue drains.
func (r *Registry) enqueue(e notify.Event) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return
	}
	select {
	case r.work <- e:
	default:
		r.overflow = true
	}
}

func (r *Registry) run() {
	defer close(r.done)
	for e := range r.work {
		r.handleTimed(e)
		r.wmu.Lock()
		all := r.overflow
		r.overflow = false
		r.wmu.Unlock()
		if all {
			r.handleTimed(notify.Event{Kind: notify.AccessChanged})
		}
	}
}

func (r *Registry) handleTimed(e notify.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.handle(ctx, e)
}

// Register adds a session; kick must be safe from any goroutine, must not
// block, and may be called more than once. credential is the password hash
// the session signed in with: whenever the registry re-reads the mailbox and
// finds another hash, the session is closed as a password change closes it,
// so a CredentialsChanged event that was lost (a node's LISTEN connection
// dropped; the hub then asks for an organization-wide re-check) is caught up.
// The returned function removes the session.
func (r *Registry) Register(mailboxID int64, p Protocol, remote, credential string, kick func(reason string)) (*Session, func()) {
	return r.RegisterAppPassword(mailboxID, p, remote, credential, 0, kick)
}

// RegisterAppPassword is Register for a session that signed in with an app
// password (ID appPassword, 0 for none): whenever the registry re-reads the
// mailbox (an AccessChanged event, which revoking one publishes) and the app
// password is gone, the session is closed with AppPasswordRevokedText.
func (r *Registry) RegisterAppPassword(mailboxID int64, p Protocol, remote, credential string, appPassword int64, kick func(reason string)) (*Session, func()) {
	s := &Session{MailboxID: mailboxID, Protocol: p, RemoteAddr: remote, credential: credential, appPassword: appPassword,
		Since: time.Now(), kick: kick}
	r.mu.Lock()
	r.seq++
	s.seq = r.seq
	m := r.sessions[mailboxID]
	if m == nil {
		m = map[*Session]struct{}{}
		r.sessions[mailboxID] = m
	}
	m[s] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return s, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.sessions[mailboxID], s)
			if len(r.sessions[mailboxID]) == 0 {
				delete(r.sessions, mailboxID)
			}
			r.mu.Unlock()
		})
	}
}

// Sessions returns the open sessions of a mailbox (0: all) on this node.
func (r *Registry) Sessions(mailboxID int64) []Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Session
	for id, m := range r.sessions {
		if mailboxID != 0 && id != mailboxID {
			continue
		}
		for s := range m {
			out = append(out, *s)
		}
	}
	return out
}

// Count returns how many sessions of mailboxID (0: all) use protocol p
// ("" for both) on this node.
func (r *Registry) Count(mailboxID int64, p Protocol) int {
	n := 0
	for _, s := range r.Sessions(mailboxID) {
		if p == "" || s.Protocol == p {
			n++
		}
	}
	return n
}

// enforced reports whether e is a change the registry acts on. A
// password change (CredentialsChanged) ends the mailbox's sessions as an
// access change does: a session signed in with the old password must not
// outlive it.
func enforced(e notify.Event) bool {
	return e.Kind == notify.AccessChanged || e.Kind == notify.MailboxRemoved ||
		e.Kind == notify.CredentialsChanged && e.MailboxID != 0
}

// Publish publishes a committed change. An AccessChanged, MailboxRemoved
// or CredentialsChanged event is first enforced on this node, before Publish
// returns, so that when an admin's change returns this node's sessions have
// been told; the other nodes enforce it when the hub brings it, and this
// registry does not enforce it a second time. The service layer calls it
// right after each commit.
func (r *Registry) Publish(ctx context.Context, e notify.Event) error {
	if enforced(e) {
		r.handle(ctx, e)
	}
	e.Origin = r.node
	return r.hub.Publish(context.WithoutCancel(ctx), e)
}

func (r *Registry) handle(ctx context.Context, e notify.Event) {
	if e.Kind == notify.CredentialsChanged {
		r.credentialsChanged(ctx, e.MailboxID)
		return
	}
	// Only the sessions registered before the store is read below are
	// judged by what it reads. One registered later is not: its login
	// checks the access rule after registering (backend.Logins), so it
	// has seen a state at least as new as this read, and a change after
	// its check sends an event whose re-check includes it. Judging it by
	// this older read would close a session the current state allows
	// (a login just after an access change, kicked by the re-check of
	// the change before).
	r.mu.Lock()
	upTo := r.seq
	var ids []int64
	if e.MailboxID != 0 {
		if len(r.sessions[e.MailboxID]) > 0 {
			ids = append(ids, e.MailboxID)
		}
	} else {
		for id := range r.sessions {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	var org store.OrgConfig
	mailboxes := map[int64]*store.Mailbox{}
	policies := map[string]*store.AuthPolicy{}
	// appPasswords holds, for the mailboxes with a session signed in with
	// an app password, the IDs of the app passwords that still exist.
	appPasswords := map[int64]map[int64]bool{}
	r.mu.Lock()
	for _, id := range ids {
		for s := range r.sessions[id] {
			if s.appPassword != 0 {
				appPasswords[id] = map[int64]bool{}
			}
		}
	}
	r.mu.Unlock()
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		if org, err = tx.OrgConfig(ctx); err != nil {
			return err
		}
		ps, err := tx.AuthPolicies(ctx)
		if err != nil {
			return err
		}
		for i := range ps {
			policies[strings.ToLower(ps[i].Name)] = &ps[i]
		}
		for _, id := range ids {
			m, err := tx.MailboxByID(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				mailboxes[id] = nil
				continue
			}
			if err != nil {
				return err
			}
			mailboxes[id] = &m
			if live, ok := appPasswords[id]; ok {
				ps, err := tx.AppPasswords(ctx, id)
				if err != nil {
					return err
				}
				for _, p := range ps {
					live[p.ID] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		r.log.Error("access: cannot re-evaluate open sessions", "err", err)
		return
	}
	r.mu.Lock()
	var kicks []func()
	for _, id := range ids {
		m := mailboxes[id]
		for s := range r.sessions[id] {
			if s.kicked || s.seq > upTo {
				continue
			}
			reason := RemovedText
			if m != nil {
				why := Decide(org, *m, s.Protocol)
				// Sessions signed in with a password (credential set, as
				// opposed to a token) are held to the authentication policy.
				if why == Allowed && s.credential != "" &&
					!BasicAuthAllowed(policies[strings.ToLower(EffectivePolicy(org, *m))], s.Protocol) {
					why = BasicAuthBlocked
				}
				switch {
				case why != Allowed:
					reason = KickText(s.Protocol, why)
				case s.credential != "" && s.credential != m.PasswordHash:
					reason = PasswordChangedText
				case s.appPassword != 0 && appPasswords[id] != nil && !appPasswords[id][s.appPassword]:
					reason = AppPasswordRevokedText
				default:
					continue
				}
			}
			kicks = append(kicks, r.markKicked(s, reason))
		}
	}
	r.mu.Unlock()
	for _, k := range kicks {
		k()
	}
}

// credentialsChanged ends the sessions of a mailbox whose password
// changed: every session signed in with another password than the one the
// store holds now, and every session signed in with a token (whoever holds
// the account's tokens must sign in again too), whatever the access rule
// says. A session signed in with the new password, between the change's
// commit and this event, stays. As in handle, only the sessions registered
// before the store is read are judged: a later login read the password
// after registering, so it has seen this change. When the store cannot be
// read (or the registry has none), every session of the mailbox is closed:
// one signed in with the old password must not outlive it.
func (r *Registry) credentialsChanged(ctx context.Context, mailboxID int64) {
	r.mu.Lock()
	upTo := r.seq
	n := len(r.sessions[mailboxID])
	r.mu.Unlock()
	if n == 0 {
		return
	}
	current, known := "", false
	if r.st != nil {
		err := r.st.View(ctx, func(tx store.Tx) error {
			m, err := tx.MailboxByID(ctx, mailboxID)
			if err == nil {
				current, known = m.PasswordHash, true
			}
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Error("access: cannot read the changed password; closing every session of the mailbox", "mailbox", mailboxID, "err", err)
		}
	}
	r.mu.Lock()
	var kicks []func()
	for s := range r.sessions[mailboxID] {
		if s.kicked || s.seq > upTo || known && s.credential != "" && s.credential == current {
			continue
		}
		kicks = append(kicks, r.markKicked(s, PasswordChangedText))
	}
	r.mu.Unlock()
	for _, k := range kicks {
		k()
	}
}

// markKicked marks a session as being closed and returns the kick to run
// once r.mu is released (a kick writes to the client). The caller holds
// r.mu.
func (r *Registry) markKicked(s *Session, reason string) func() {
	s.kicked = true
	kick, p := s.kick, s.Protocol
	r.log.Info("access: closing session", "mailbox", s.MailboxID, "proto", s.Protocol, "remote", s.RemoteAddr, "reason", reason)
	return func() {
		kick(reason)
		if r.onKick != nil {
			r.onKick(p)
		}
	}
}

// answer reports this node's sessions for a SessionsQuery.
func (r *Registry) answer(e notify.Event) {
	if r.st == nil {
		return
	}
	var reports []store.SessionReport
	for _, s := range r.Sessions(e.MailboxID) {
		reports = append(reports, store.SessionReport{MailboxID: s.MailboxID, Protocol: string(s.Protocol),
			RemoteAddr: s.RemoteAddr, Since: s.Since})
	}
	// An empty answer is no answer: the asker counts sessions, not nodes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.st.ReportSessions(ctx, e.QueryID, r.node, reports); err != nil {
		r.log.Warn("answering a sessions query", "err", err)
	}
}

// ClusterSessions asks every node, through the hub and the store, for its
// open sessions of a mailbox (0: all) and returns what arrived within wait,
// this node's included. Sessions of a node slower than wait are missing.
func ClusterSessions(ctx context.Context, hub notify.Hub, st store.Store, mailboxID int64, wait time.Duration) ([]store.SessionReport, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := binary.BigEndian.Uint64(b[:])
	if err := hub.Publish(ctx, notify.Event{Kind: notify.SessionsQuery, MailboxID: mailboxID, QueryID: id}); err != nil {
		return nil, err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return st.CollectSessionReports(ctx, id)
}
