// Package notify fans out change events: inside one process through Local,
// and between the nodes of a cluster through PostgreSQL LISTEN/NOTIFY
// (Postgres), with the same interface.
//
// Events are signals, not data: a subscriber that receives one re-reads the
// state it cares about from the store. So an event may arrive twice, and a
// lost event (a crash between commit and publish) costs latency only, since
// IMAP sessions also re-check at NOOP, CHECK and periodically in IDLE.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// Kind says what changed.
type Kind uint8

// The kinds of events.
const (
	// FolderChanged: messages arrived, changed flags or were expunged, or
	// folders were created, renamed or deleted or subscriptions changed
	// (FolderID 0).
	FolderChanged Kind = iota + 1
	// AccessChanged: a mailbox's PopEnabled/ImapEnabled changed, or (with
	// MailboxID 0) the organization's security defaults; open sessions must
	// be checked against the access rule.
	AccessChanged
	// CredentialsChanged: a password changed; cached credentials of the
	// mailbox must be dropped.
	CredentialsChanged
	// MailboxRemoved: the mailbox is gone; its sessions end.
	MailboxRemoved
	// SessionsQuery asks every node which sessions of the mailbox (0: all)
	// are open; QueryID names the question. The nodes answer through the
	// store (store.ReportSessions). It is the one event that is a question
	// rather than a signal.
	SessionsQuery
)

// Event is one change. The JSON names are the PostgreSQL NOTIFY payload
// (see Postgres); a new field takes a new name and old nodes ignore it.
type Event struct {
	Kind      Kind   `json:"k"`
	MailboxID int64  `json:"m,omitempty"` // 0: organization-wide
	FolderID  int64  `json:"f,omitempty"`
	ModSeq    uint64 `json:"s,omitempty"`
	// QueryID names a SessionsQuery, so that the answers can be collected.
	QueryID uint64 `json:"q,omitempty"`
	// Origin is the node that published the event, when the publisher says
	// so. The access registry sets it on the changes it has already
	// enforced on its own node, and skips them when the hub hands them back.
	Origin string `json:"o,omitempty"`
}

// NewNodeID returns a random name for one node (one process) of a cluster.
// The server makes one at start and hands it to everything that names its
// node: the Postgres hub, the access registry.
func NewNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Hub publishes events and delivers them to subscribers.
type Hub interface {
	// Publish sends e to every subscriber of its mailbox and to every
	// subscriber of all events, on every node.
	Publish(ctx context.Context, e Event) error
	// Subscribe calls fn for every event of mailboxID, or for every event
	// when mailboxID is 0. fn runs on the publisher's goroutine or the
	// listener's: it must return quickly and never block. cancel stops the
	// calls; after it returns fn is not called again.
	Subscribe(mailboxID int64, fn func(Event)) (cancel func())
}

// Local is the in-process hub.
type Local struct {
	mu   sync.RWMutex
	subs map[int64]map[*subscription]struct{}
}

type subscription struct{ fn func(Event) }

var _ Hub = (*Local)(nil)

// NewLocal returns an empty in-process hub.
func NewLocal() *Local { return &Local{subs: map[int64]map[*subscription]struct{}{}} }

// Publish implements Hub.
func (h *Local) Publish(_ context.Context, e Event) error {
	h.Dispatch(e)
	return nil
}

// Dispatch delivers e to this process's subscribers only.
func (h *Local) Dispatch(e Event) {
	h.mu.RLock()
	var fns []func(Event)
	if e.MailboxID != 0 {
		for s := range h.subs[e.MailboxID] {
			fns = append(fns, s.fn)
		}
	}
	for s := range h.subs[0] {
		fns = append(fns, s.fn)
	}
	h.mu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}

// Subscribe implements Hub.
func (h *Local) Subscribe(mailboxID int64, fn func(Event)) func() {
	s := &subscription{fn: fn}
	h.mu.Lock()
	m := h.subs[mailboxID]
	if m == nil {
		m = map[*subscription]struct{}{}
		h.subs[mailboxID] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[mailboxID], s)
			if len(h.subs[mailboxID]) == 0 {
				delete(h.subs, mailboxID)
			}
			h.mu.Unlock()
		})
	}
}
