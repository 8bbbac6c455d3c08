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
// lease is held by "<node>:<n>", renewed every third of leaseTTL while the
// session lasts and released when it ends; if the node dies it lapses by
// itself after leaseTTL, so a crashed node blocks the maildrop for two
// minutes at most.
package pop3adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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

	mu     sync.Mutex
	locked map[int64]struct{} // mailboxes with a POP3 session
	node   string             // this process, as a lease holder
	seq    atomic.Int64
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
		mail:   o.Mail,
		login:  o.Login,
		hub:    o.Hub,
		log:    log.With("proto", "pop3"),
		locked: map[int64]struct{}{},
		node:   newNodeID(),
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
	if !b.lock(mailboxID) {
		end()
		return nil, errInUse
	}
	stopLease, err := b.lease(ctx, mailboxID)
	if err != nil {
		b.unlock(mailboxID)
		end()
		if errors.Is(err, errLeaseHeld) {
			return nil, errInUse
		}
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot lock the maildrop; try again later", Err: err}
	}
	release := func() {
		stopLease()
		b.unlock(mailboxID)
		end()
	}
	md, err := b.openMaildrop(ctx, mailboxID)
	if err != nil {
		release()
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot open the maildrop; try again later", Err: err}
	}
	md.release = release
	return md, nil
}

var errLeaseHeld = errors.New("maildrop lease held by another session")

// lease takes the cluster-wide maildrop lease and keeps renewing it until
// the returned function is called.
func (b *Backend) lease(ctx context.Context, mailboxID int64) (func(), error) {
	name := fmt.Sprintf("pop3:%d", mailboxID)
	holder := fmt.Sprintf("%s:%d", b.node, b.seq.Add(1))
	ok, err := b.mail.AcquireLease(ctx, name, holder, leaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errLeaseHeld
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if _, err := b.mail.AcquireLease(rctx, name, holder, leaseTTL); err != nil {
					b.log.Warn("renew maildrop lease", "mailbox", mailboxID, "err", err)
				}
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.mail.ReleaseLease(rctx, name, holder); err != nil {
				b.log.Warn("release maildrop lease", "mailbox", mailboxID, "err", err)
			}
		})
	}, nil
}

func (b *Backend) lock(mailboxID int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.locked[mailboxID]; ok {
		return false
	}
	b.locked[mailboxID] = struct{}{}
	return true
}

func (b *Backend) unlock(mailboxID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.locked, mailboxID)
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
