// Package pop3adapter is the backend of the POP3 server (package pop3): it
// logs users in through the shared login flow, locks their maildrop, lists
// and streams INBOX from the store, and on QUIT expunges what the client
// deleted and tells the IMAP4 sessions of the mailbox.
//
// Locking: one POP3 session per mailbox at a time (RFC 1939 §8 exclusive
// access); IMAP4 sessions are not affected by it. Two locks are taken after
// authentication, both answered with [IN-USE] when held: a lock in this
// process answers a second session on the same node at once, without a
// store round trip; a lease in the store ("pop3:<mailbox>", see lease)
// keeps the lock across the nodes of a cluster sharing one PostgreSQL. The
// lease is held by "<node>" (this process), renewed every third of
// leaseTTL while the session lasts and released when it ends; if the node
// dies it lapses by itself after leaseTTL, so a crashed node blocks the
// maildrop for two minutes at most.
//
// The store may refuse writes (a full disk) while reads work. Then a
// session is not refused for want of a lease: the lock in this process
// alone guards it (see lease.go); a lease that cannot be released is
// released in this process at once and in the store in the background, so
// the user's next login on this node is never blocked by the session that
// just ended.
package pop3adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Authenticator is the shared login flow as the adapter needs it: it checks
// the credentials and the access rule for a POP3 login, records the attempt
// and registers the session (with req.Kick) so that an access change can
// end it. It returns the mailbox and the function that ends the
// registration. Refusals are backend.ErrInvalidCredentials, *access.Denied
// or *backend.ThrottledError (or a *pop3.Error as it stands); anything
// else is a temporary failure. LoginFlow is the real one.
type Authenticator interface {
	Authenticate(ctx context.Context, req pop3.LoginRequest) (mailboxID int64, end func(), err error)
}

// Options configure a Backend.
type Options struct {
	Mail  store.Mail
	Login Authenticator
	// Hub receives a FolderChanged event after a QUIT removed messages, so
	// that IMAP4 sessions send EXPUNGE; nil: nobody is told.
	Hub    notify.Hub
	Logger *slog.Logger
}

// Backend implements pop3.Backend over the store.
type Backend struct {
	mail  store.Mail
	login Authenticator
	hub   notify.Hub
	log   *slog.Logger

	mu         sync.Mutex
	locked     map[int64]struct{}        // mailboxes with a POP3 session
	unreleased map[int64]*pendingRelease // leases released here, not yet in the store
	retrying   bool                      // a goroutine retries unreleased
	node       string                    // this process, as a lease holder

	listings *listingCache
}

// leaseTTL is how long a maildrop lease lasts without renewal; it is
// renewed every third of it while the session lasts.
const leaseTTL = 2 * time.Minute

var (
	_ pop3.Backend         = (*Backend)(nil)
	_ pop3.RefusalRecorder = (*Backend)(nil)
)

// New returns a Backend.
func New(o Options) *Backend {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{
		mail:       o.Mail,
		login:      o.Login,
		hub:        o.Hub,
		log:        log.With("proto", "pop3"),
		locked:     map[int64]struct{}{},
		unreleased: map[int64]*pendingRelease{},
		node:       newNodeID(),
		listings:   newListingCache(listingCacheMessages),
	}
}

func newNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// errInUse is RFC 2449 §8.1.1 [IN-USE].
var errInUse = &pop3.Error{Code: pop3.CodeInUse, Text: "Another POP3 session is using this mailbox; try again later"}

// Login implements pop3.Backend: credentials and access first (so that
// only a client that knows the password learns anything), then the lock
// (RFC 1939 §4: the maildrop is locked after authentication), then the
// listing of INBOX.
func (b *Backend) Login(ctx context.Context, req pop3.LoginRequest) (pop3.Maildrop, error) {
	mailboxID, end, err := b.login.Authenticate(ctx, req)
	if err != nil {
		return nil, loginError(err)
	}
	inherited, ok := b.lock(ctx, mailboxID)
	if !ok {
		end()
		return nil, errInUse
	}
	l, err := b.lease(ctx, mailboxID, inherited)
	if err != nil {
		var p *pendingRelease
		if inherited.After(time.Now()) {
			// The earlier session's lease is still to be released.
			p = &pendingRelease{mailboxID: mailboxID, expires: inherited}
		}
		b.unlock(mailboxID, p)
		end()
		if errors.Is(err, errLeaseHeld) {
			return nil, errInUse
		}
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot lock the maildrop; try again later", Err: err}
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			b.unlock(mailboxID, l.release())
			end()
		})
	}
	md, err := b.openMaildrop(ctx, mailboxID)
	if err != nil {
		release()
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot open the maildrop; try again later", Err: err}
	}
	md.release = release
	return md, nil
}

// folderChanged publishes the folder's new state after an expunge. The
// expunge is committed whatever happens here, so failures are only logged.
func (b *Backend) folderChanged(ctx context.Context, mailboxID, folderID int64) {
	if b.hub == nil {
		return
	}
	f, err := b.mail.FolderByID(ctx, folderID)
	if err != nil {
		b.log.Warn("after expunge: cannot read folder to publish the change", "folder", folderID, "err", err)
		return
	}
	e := notify.Event{Kind: notify.FolderChanged, MailboxID: mailboxID, FolderID: folderID, ModSeq: f.HighestModSeq}
	if err := b.hub.Publish(ctx, e); err != nil {
		b.log.Warn("after expunge: publishing the change failed", "folder", folderID, "err", err)
	}
}
