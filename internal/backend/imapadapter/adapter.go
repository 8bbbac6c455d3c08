// Package imapadapter is the backend of the IMAP4 engine (package imap): it
// logs users in through the shared login flow, serves their folders and
// messages from the store, parses appended messages once (package
// message), and publishes a FolderChanged event after every change it
// commits, so that other sessions and nodes see it.
//
// Domain errors become IMAP responses in one place, wireError.
package imapadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Authenticator is the shared login flow as the adapter needs it: it checks
// credentials, then the access rule, records the attempt, and registers the
// session (with req.Kick) so that an access change can end it. It returns
// the mailbox and the function that ends the registration. Refusals are
// backend.ErrInvalidCredentials, *access.Denied or *backend.ThrottledError;
// anything else is a temporary failure. LoginFlow is the real one.
type Authenticator interface {
	Authenticate(ctx context.Context, req *imap.LoginRequest) (mailboxID int64, end func(), err error)
}

// LoginFlow is the Authenticator over backend.Logins.
type LoginFlow struct{ Logins *backend.Logins }

var _ Authenticator = LoginFlow{}

// Authenticate implements Authenticator.
func (f LoginFlow) Authenticate(ctx context.Context, req *imap.LoginRequest) (int64, func(), error) {
	s, err := f.Logins.Login(ctx, backend.LoginRequest{
		Protocol:      access.IMAP4,
		Username:      req.Username,
		Password:      req.Password,
		Mechanism:     req.Mechanism,
		Token:         req.Token,
		SCRAM:         req.SCRAM,
		RemoteAddr:    req.RemoteAddr,
		TLS:           req.TLS,
		ClientName:    req.ClientName,
		ClientVersion: req.ClientVersion,
		Kick:          req.Kick,
	})
	if err != nil {
		return 0, nil, err
	}
	return s.Mailbox.ID, s.Close, nil
}

// Mechanisms lists the SASL mechanisms of the login flow.
func (f LoginFlow) Mechanisms() []string { return f.Logins.Mechanisms() }

// SCRAMParams returns a user's SCRAM salt and iteration count.
func (f LoginFlow) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	return f.Logins.SCRAMParams(ctx, username)
}

var (
	_ backend.MechanismSource = LoginFlow{}
	_ imap.MechanismLister    = (*Backend)(nil)
	_ imap.SCRAMLookup        = (*Backend)(nil)
)

// Mechanisms implements imap.MechanismLister: the Authenticator's, or PLAIN
// and LOGIN.
func (b *Backend) Mechanisms() []string { return backend.MechanismsOf(b.login) }

// SCRAMParams implements imap.SCRAMLookup.
func (b *Backend) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	return backend.SCRAMParamsOf(ctx, b.login, username)
}

// LoginRefused records an attempt the engine refused for want of TLS
// (imap.RefusalRecorder), when the Authenticator can record one.
func (b *Backend) LoginRefused(ctx context.Context, req *imap.LoginRequest) {
	if r, ok := b.login.(interface {
		RefusedPlaintext(context.Context, *imap.LoginRequest)
	}); ok {
		r.RefusedPlaintext(ctx, req)
	}
}

// RefusedPlaintext records a login refused for want of TLS.
func (f LoginFlow) RefusedPlaintext(ctx context.Context, req *imap.LoginRequest) {
	f.Logins.RefusedPlaintext(ctx, backend.LoginRequest{Protocol: access.IMAP4, Username: req.Username,
		Mechanism: req.Mechanism, RemoteAddr: req.RemoteAddr, TLS: req.TLS, ClientName: req.ClientName, ClientVersion: req.ClientVersion})
}

// Options configure a Backend.
type Options struct {
	Mail   store.Mail
	Hub    notify.Hub
	Login  Authenticator
	Logger *slog.Logger
	// IndexCacheMessages bounds the messages whose index (UID, MODSEQ,
	// flags) is kept in memory, so that SELECT reads only what changed
	// since (about 5 bytes a message); 0 means 1,000,000, negative turns
	// the cache off. Only folders of at least indexCacheMinMessages are
	// cached.
	IndexCacheMessages int
	// MessageCacheBytes bounds the memory that keeps what never changes of
	// the messages FETCH read (dates, sizes, parses, summaries and the
	// first bytes of bodies, up to 64 KiB a message), shared by the
	// sessions of this process, so that reading them again needs no store
	// access (messageCache); 0 means DefaultMessageCacheBytes, negative
	// turns it off. gatehouse serve sets it from imap.message_cache.
	MessageCacheBytes int64
}

// indexCacheMinMessages is the smallest folder the index cache keeps. Below
// it a SELECT's read of the whole index costs about what reading its
// changes does; from there on, on PostgreSQL, the changes are cheaper:
// the whole index of a 200-message folder was the most expensive statement
// of a login-per-cycle load (0.76 ms, pg_stat_statements), and caching
// folders from 64 messages on was worth 8-13 % on PostgreSQL's mixed and
// login loads (docs/performance.md, change 41).
const indexCacheMinMessages = 64

// DefaultMessageCacheBytes is Options.MessageCacheBytes when it is 0.
const DefaultMessageCacheBytes = 128e6

// Backend implements imap.Backend over the store.
type Backend struct {
	mail   store.Mail
	hub    notify.Hub
	login  Authenticator
	log    *slog.Logger
	index  *indexCache
	msgs   *messageCache // nil when off
	recent recentClaims
	// objectIDs holds each mailbox's *objectIDs (its GUID's keys) once a
	// session has read it: one entry per mailbox that has used IMAP4
	// since the process started (about 100 bytes each).
	objectIDs sync.Map
}

var (
	_ imap.Backend           = (*Backend)(nil)
	_ imap.RefusalRecorder   = (*Backend)(nil)
	_ imap.User              = (*user)(nil)
	_ imap.QuotaUser         = (*user)(nil)
	_ imap.QuotaReader       = (*user)(nil)
	_ imap.AppendUsageReader = (*user)(nil)
	_ imap.RecentAppender    = (*user)(nil)
	_ imap.RecentCopier      = (*folder)(nil)
	_ imap.Folder            = (*folder)(nil)
	_ imap.ExpungeReader     = (*folder)(nil)
	_ imap.Watcher           = (*user)(nil)
	_ imap.PreviewKeeper     = (*folder)(nil)
	_ imap.SnapshotIndexer   = (*folder)(nil)
	_ imap.MessageCache      = (*folder)(nil)
)

// New returns a Backend.
func New(o Options) *Backend {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := o.IndexCacheMessages
	if n == 0 {
		n = 1_000_000
	}
	mc := o.MessageCacheBytes
	if mc == 0 {
		mc = DefaultMessageCacheBytes
	}
	return &Backend{mail: o.Mail, hub: o.Hub, login: o.Login, log: log.With("proto", "imap"),
		index: newIndexCache(indexCacheMinMessages, n), msgs: newMessageCache(mc), recent: recentClaims{next: map[int64]uint32{}}}
}

// wireError maps domain errors to the IMAP responses the engine sends (RFC
// 5530 codes, the texts of access.Denied): the one place that decides what a
// client sees. Errors it does not know pass through; the engine answers them
// as a temporary failure.
func wireError(err error) error {
	var (
		ie     *imap.Error
		denied *access.Denied
		thr    *backend.ThrottledError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie
	case errors.Is(err, backend.ErrInvalidCredentials):
		// The same answer for an unknown user and a wrong password.
		return &imap.Error{Code: imap.CodeAuthenticationFailed, Text: "Invalid credentials"}
	case errors.As(err, &denied):
		return &imap.Error{Code: imap.CodeContactAdmin, Text: denied.Text()}
	case errors.As(err, &thr):
		return &imap.Error{Code: imap.CodeUnavailable, Text: "Too many failed login attempts; try again later"}
	case errors.Is(err, store.ErrNotFound):
		return &imap.Error{Code: imap.CodeNonExistent, Text: "No such mailbox"}
	case errors.Is(err, store.ErrExists):
		return &imap.Error{Code: imap.CodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, store.ErrInvalid):
		return &imap.Error{Code: imap.CodeCannot, Text: "This operation is not possible on this mailbox"}
	case errors.Is(err, store.ErrStorageFull):
		// RFC 5530 has no code for a full disk. Not [OVERQUOTA]: that
		// tells the user their own quota is exceeded, and deleting
		// their mail is not the cure. [UNAVAILABLE] ("a subsystem is
		// down", temporary) is what it is: the server's storage cannot
		// take writes until an operator frees space.
		return &imap.Error{Code: imap.CodeUnavailable, Text: "Insufficient storage on the server; try again later"}
	case errors.Is(err, store.ErrOverQuota):
		// RFC 9208 §4.3 (and RFC 5530): the mailbox's own limit; deleting
		// mail makes room.
		return &imap.Error{Code: imap.CodeOverQuota, Text: "Mailbox is full: quota exceeded"}
	}
	return err
}

// Login implements imap.Backend.
func (b *Backend) Login(ctx context.Context, req *imap.LoginRequest) (imap.User, error) {
	id, end, err := b.login.Authenticate(ctx, req)
	if err != nil {
		return nil, wireError(err)
	}
	return &user{b: b, mailboxID: id, end: end}, nil
}

// publish tells every session (here and on other nodes) that a folder
// changed. The change is committed whatever happens here.
func (b *Backend) publish(ctx context.Context, mailboxID, folderID int64, modSeq uint64) {
	if b.hub == nil {
		return
	}
	if err := b.hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: mailboxID, FolderID: folderID, ModSeq: modSeq}); err != nil {
		b.log.Warn("publishing folder change failed", "mailbox", mailboxID, "folder", folderID, "err", err)
	}
}

// user is one logged-in session.
type user struct {
	b         *Backend
	mailboxID int64
	end       func()

	idsMu sync.Mutex
	ids   *objectIDs // read once, when first needed

	// target is the folder that AppendUsage read for the APPEND under
	// way, taken by its Append or AppendMany (appendFolder). The engine
	// calls both from the session's goroutine.
	target *store.Folder
}

func (u *user) Key() string { return strconv.FormatInt(u.mailboxID, 10) }

// StorageQuota implements imap.QuotaUser: the ProhibitSendReceiveQuota,
// the limit every write enforces.
func (u *user) StorageQuota(ctx context.Context) (used, limit int64, err error) {
	us, err := u.b.mail.MailboxUsage(ctx, u.mailboxID)
	if err != nil {
		return 0, 0, wireError(err)
	}
	return us.Size, us.Quota.ProhibitSendReceive, nil
}

// StorageWarning implements imap.QuotaWarner: the IssueWarningQuota.
func (u *user) StorageWarning(ctx context.Context) (used, warn int64, err error) {
	us, err := u.b.mail.MailboxUsage(ctx, u.mailboxID)
	if err != nil {
		return 0, 0, wireError(err)
	}
	return us.Size, us.Quota.IssueWarning, nil
}

// StorageUsage implements imap.QuotaReader: StorageQuota and
// StorageWarning from one read.
func (u *user) StorageUsage(ctx context.Context) (used, limit, warn int64, err error) {
	us, err := u.b.mail.MailboxUsage(ctx, u.mailboxID)
	if err != nil {
		return 0, 0, 0, wireError(err)
	}
	return us.Size, us.Quota.ProhibitSendReceive, us.Quota.IssueWarning, nil
}

// AppendUsage implements imap.AppendUsageReader: StorageUsage and the
// folder called name in one query, the folder kept for the Append that
// follows.
func (u *user) AppendUsage(ctx context.Context, name string) (used, limit, warn int64, err error) {
	f, found, us, err := u.b.mail.AppendTarget(ctx, u.mailboxID, name)
	u.target = nil
	if err != nil {
		return 0, 0, 0, wireError(err)
	}
	if found {
		u.target = &f
	}
	return us.Size, us.Quota.ProhibitSendReceive, us.Quota.IssueWarning, nil
}

// appendFolder is the folder an APPEND to name stores into: the one
// AppendUsage read for it at the start of the command, else the one of
// that name now.
func (u *user) appendFolder(ctx context.Context, name string) (store.Folder, error) {
	t := u.target
	u.target = nil
	if t != nil && t.Name == name {
		return *t, nil
	}
	return u.folder(ctx, name)
}

func (u *user) Logout() {
	if u.end != nil {
		u.end()
	}
}

func (u *user) Folders(ctx context.Context) ([]imap.FolderInfo, error) {
	fs, err := u.b.mail.Folders(ctx, u.mailboxID)
	if err != nil {
		return nil, wireError(err)
	}
	out := make([]imap.FolderInfo, len(fs))
	for i, f := range fs {
		out[i] = imap.FolderInfo{ID: f.ID, Name: f.Name, SpecialUse: f.SpecialUse}
	}
	return out, nil
}

func (u *user) Subscriptions(ctx context.Context) ([]string, error) {
	s, err := u.b.mail.Subscriptions(ctx, u.mailboxID)
	return s, wireError(err)
}

func (u *user) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	if err := u.b.mail.SetSubscribed(ctx, u.mailboxID, name, subscribed); err != nil {
		return wireError(err)
	}
	// Folder 0: the folder list or subscriptions changed (NOTIFY
	// SubscriptionChange in other sessions).
	u.b.publish(ctx, u.mailboxID, 0, 0)
	return nil
}

// Watch implements imap.Watcher: every change event of the mailbox, from
// this node (sessions, deliveries, the admin service) or from others
// through the hub.
func (u *user) Watch(fn func(folderID int64)) func() {
	if u.b.hub == nil {
		return func() {}
	}
	return u.b.hub.Subscribe(u.mailboxID, func(e notify.Event) {
		if e.Kind == notify.FolderChanged {
			fn(e.FolderID)
		}
	})
}

// defaultFolders are the special-use folders every mailbox is created with
// (besides INBOX), by name.
var defaultFolders = map[string]string{
	"Drafts":  `\Drafts`,
	"Sent":    `\Sent`,
	"Trash":   `\Trash`,
	"Junk":    `\Junk`,
	"Archive": `\Archive`,
}

// isDefaultFolder reports whether f is one of the mailbox's default
// folders: a default name that still carries its special use.
func isDefaultFolder(f store.Folder) bool {
	use, ok := defaultFolders[f.Name]
	return ok && f.SpecialUse == use
}

func (u *user) CreateFolder(ctx context.Context, name, specialUse string) (string, error) {
	if use, ok := defaultFolders[name]; ok && specialUse == "" {
		// A default folder created again by name (a mailbox from before
		// default folders were protected, or one a tool renamed away) gets
		// back its special use when no other folder has it, so that clients
		// find their Sent and Trash by RFC 6154 again.
		fs, err := u.b.mail.Folders(ctx, u.mailboxID)
		if err != nil {
			return "", wireError(err)
		}
		if !slices.ContainsFunc(fs, func(f store.Folder) bool { return f.SpecialUse == use }) {
			specialUse = use
		}
	}
	f, err := u.b.mail.CreateFolder(ctx, u.mailboxID, name, specialUse)
	if err != nil {
		return "", wireError(err)
	}
	u.b.publish(ctx, u.mailboxID, 0, f.HighestModSeq)
	ids, err := u.objectIDs(ctx)
	if err != nil {
		// The folder exists; only its id cannot be told now (SELECT and
		// STATUS tell it).
		u.b.log.Warn("cannot derive the new folder's MAILBOXID", "mailbox", u.mailboxID, "err", err)
		return "", nil
	}
	return ids.mailboxID(f.ID), nil
}

func (u *user) folder(ctx context.Context, name string) (store.Folder, error) {
	f, err := u.b.mail.FolderByName(ctx, u.mailboxID, name)
	return f, wireError(err)
}

// DeleteFolder deletes a folder, except a default folder (Drafts, Sent,
// Trash, Junk, Archive with their special use): those are refused with NO
// [CANNOT], as Exchange refuses to delete its default folders and every
// server refuses INBOX. Clients and migration tools that try (imapsync
// --delete2folders, mbsync with Remove, a user in Thunderbird) log the
// refusal and go on, and the folders clients find by RFC 6154 special use
// stay where they are.
func (u *user) DeleteFolder(ctx context.Context, name string) error {
	f, err := u.folder(ctx, name)
	if err != nil {
		return err
	}
	if isDefaultFolder(f) {
		return &imap.Error{Code: imap.CodeCannot, Text: f.Name + " is a default folder and cannot be deleted"}
	}
	if err := u.b.mail.DeleteFolder(ctx, f.ID); err != nil {
		return wireError(err)
	}
	u.b.publish(ctx, u.mailboxID, 0, 0)
	return nil
}

func (u *user) RenameFolder(ctx context.Context, oldName, newName string) error {
	if err := u.b.mail.RenameFolder(ctx, u.mailboxID, oldName, newName); err != nil {
		return wireError(err)
	}
	u.b.publish(ctx, u.mailboxID, 0, 0)
	return nil
}

func (u *user) Status(ctx context.Context, name string, want imap.StatusWant) (imap.FolderStatus, error) {
	f, err := u.folder(ctx, name)
	if err != nil {
		return imap.FolderStatus{}, err
	}
	st := folderStatus(f)
	if st.MailboxID, err = u.mailboxIDOf(ctx, f.ID); err != nil {
		return st, err
	}
	if want&imap.StatusRecent != 0 {
		if st.Recent, err = u.recentCount(ctx, f); err != nil {
			return st, err
		}
	}
	if want&imap.StatusDeleted != 0 {
		_, msgs, err := u.b.mail.FolderIndex(ctx, f.ID)
		if err != nil {
			return st, wireError(err)
		}
		var deleted []store.UIDRange
		for _, m := range msgs {
			if m.Flags&store.FlagDeleted != 0 {
				st.Deleted++
				if n := len(deleted); n > 0 && deleted[n-1].Stop+1 == m.UID {
					deleted[n-1].Stop = m.UID
				} else {
					deleted = append(deleted, store.UIDRange{Start: m.UID, Stop: m.UID})
				}
			}
		}
		if len(deleted) > 0 {
			if err := u.b.mail.Messages(ctx, f.ID, deleted, 0, func(m store.MessageMeta) error {
				if m.Flags&store.FlagDeleted != 0 {
					st.DeletedStorage += m.Size
				}
				return nil
			}); err != nil {
				return st, wireError(err)
			}
		}
	}
	return st, nil
}

// recentCount counts the messages of f that no session has claimed as
// \Recent (STATUS RECENT). It reads UIDs only when some of the folder's
// messages are claimed and some are not.
func (u *user) recentCount(ctx context.Context, f store.Folder) (uint32, error) {
	first, err := u.b.recent.peek(ctx, u.b.mail, f.ID)
	if err != nil {
		return 0, wireError(err)
	}
	switch {
	case first >= f.UIDNext || f.Messages == 0:
		return 0, nil
	case first <= 1:
		return f.Messages, nil
	}
	var n uint32
	err = u.b.mail.Messages(ctx, f.ID, []store.UIDRange{{Start: first, Stop: f.UIDNext - 1}}, 0, func(store.MessageMeta) error {
		n++
		return nil
	})
	return n, wireError(err)
}

func folderStatus(f store.Folder) imap.FolderStatus {
	return imap.FolderStatus{
		UIDValidity:   f.UIDValidity,
		UIDNext:       f.UIDNext,
		HighestModSeq: f.HighestModSeq,
		Messages:      f.Messages,
		Unseen:        f.Unseen,
		Size:          f.Size,
	}
}

// newMessage normalizes and parses a message once, for storage.
func newMessage(raw []byte, flags store.Flags, keywords []string, date time.Time) store.NewMessage {
	raw = message.Normalize(raw) // bare LF to CRLF, binary parts kept exactly
	m := message.Parse(raw)
	return store.NewMessage{
		Flags:        flags,
		Keywords:     keywords,
		InternalDate: date,
		Raw:          raw,
		Structure:    m.Marshal(),
		Preview:      m.PreviewOf(raw),
		HasPreview:   true,
		HasBinary:    m.HasBinary(),
		Summary: store.Summary{
			Subject:  m.Subject(),
			From:     m.From(),
			To:       m.To(),
			Cc:       m.Cc(),
			SentDate: m.Date(),
		},
	}
}

func (u *user) Append(ctx context.Context, name string, msg *imap.AppendMessage) (uint32, uint32, error) {
	r, err := u.AppendRecent(ctx, name, msg, nil, 0)
	return r.UIDValidity, r.UID, err
}

// AppendRecent implements imap.RecentAppender: the target folder is sel
// when their IDs agree (sel is opened by ID; a name may have moved to
// another folder since), and only then is \Recent claimed and are the
// changes since since read with the write (when the store can).
func (u *user) AppendRecent(ctx context.Context, name string, msg *imap.AppendMessage, sel imap.Folder, since uint64) (imap.RecentAppend, error) {
	var r imap.RecentAppend
	f, err := u.appendFolder(ctx, name)
	if err != nil {
		return r, err
	}
	nm := newMessage(msg.Raw, toStoreFlags(msg.Flags), msg.Keywords, msg.InternalDate)
	fo, ok := sel.(*folder)
	if !ok || fo.id != f.ID || fo.u != u {
		r.UIDValidity, r.UID, err = u.b.mail.Append(ctx, f.ID, nm)
		if err != nil {
			return imap.RecentAppend{}, wireError(err)
		}
		u.b.publish(ctx, u.mailboxID, f.ID, 0)
		return r, nil
	}
	sr, err := u.b.mail.AppendClaimingRecent(ctx, f.ID, nm, since)
	if err != nil {
		return imap.RecentAppend{}, wireError(err)
	}
	r = imap.RecentAppend{UIDValidity: sr.UIDValidity, UID: sr.UID, First: sr.First, Next: sr.Next, Claimed: true}
	u.b.recent.claimed(f.ID, sr.Next)
	var modSeq uint64 // of the new message; 0: not known, always passed on
	if sr.Changes != nil {
		for _, m := range sr.Changes.Changed {
			if m.UID == sr.UID {
				modSeq = m.ModSeq
			}
		}
	}
	r.Changes = fo.readWith(sr.Changes)
	u.b.publish(ctx, u.mailboxID, f.ID, modSeq)
	return r, nil
}

func (u *user) AppendMany(ctx context.Context, name string, msgs []*imap.AppendMessage) (uint32, []uint32, error) {
	f, err := u.appendFolder(ctx, name)
	if err != nil {
		return 0, nil, err
	}
	nms := make([]store.NewMessage, len(msgs))
	for i, m := range msgs {
		nms[i] = newMessage(m.Raw, toStoreFlags(m.Flags), m.Keywords, m.InternalDate)
	}
	validity, uids, err := u.b.mail.AppendMany(ctx, f.ID, nms)
	if err != nil {
		return 0, nil, wireError(err)
	}
	u.b.publish(ctx, u.mailboxID, f.ID, 0)
	return validity, uids, nil
}

func (u *user) Open(ctx context.Context, name string, changed func()) (imap.Folder, error) {
	f, err := u.folder(ctx, name)
	if err != nil {
		return nil, err
	}
	ids, err := u.objectIDs(ctx)
	if err != nil {
		return nil, wireError(err)
	}
	fo := &folder{u: u, id: f.ID, uidValidity: f.UIDValidity, ids: ids}
	if u.b.hub != nil {
		fo.cancel = u.b.hub.Subscribe(u.mailboxID, func(e notify.Event) {
			if e.Kind != notify.FolderChanged || e.FolderID != f.ID {
				return
			}
			// A change the session already has: its own STORE that was
			// the folder's next change, or one it had read before that
			// STORE (imap.FlagUpdate.OwnModSeq). Asking the store again
			// before the tagged OK would learn nothing. An event without
			// a MODSEQ is always passed on.
			if e.ModSeq != 0 && e.ModSeq <= fo.seenModSeq.Load() {
				return
			}
			changed()
		})
	}
	return fo, nil
}

// folder is a selected folder.
type folder struct {
	u           *user
	id          int64
	uidValidity uint32 // as at Open: with the UID, what names a message in Backend.msgs
	ids         *objectIDs
	cancel      func()
	uidNext     uint32 // as last seen by Index or Changes
	// seenModSeq is a MODSEQ up to which the session has every change of
	// the folder, as its StoreFlags calls and the changes read with its
	// APPENDs and EXPUNGEs told (Open); only StoreFlags and readWith write
	// it, from the session's goroutine.
	seenModSeq atomic.Uint64
}

func (f *folder) Close() {
	if f.cancel != nil {
		f.cancel()
	}
}

func (f *folder) Index(ctx context.Context) (imap.FolderStatus, []imap.MessageFlags, error) {
	sf, msgs, err := f.u.b.mail.FolderIndex(ctx, f.id)
	if err != nil {
		return imap.FolderStatus{}, nil, wireError(err)
	}
	f.uidNext = sf.UIDNext
	st := folderStatus(sf)
	st.MailboxID = f.ids.mailboxID(f.id)
	return st, toIMAPFlags(msgs), nil
}

func (f *folder) Changes(ctx context.Context, since uint64) (imap.FolderStatus, []imap.MessageFlags, []uint32, error) {
	sf, msgs, expunged, err := f.u.b.mail.Changes(ctx, f.id, since)
	if err != nil {
		return imap.FolderStatus{}, nil, nil, wireError(err)
	}
	f.uidNext = sf.UIDNext
	return folderStatus(sf), toIMAPFlags(msgs), expunged, nil
}

func (f *folder) Messages(ctx context.Context, uids []imap.UIDRange, want imap.Want, fn func(*imap.MessageData) error) error {
	var mf store.MetaFields
	if want&imap.WantSummary != 0 {
		mf |= store.MetaSummary
	}
	if want&imap.WantStructure != 0 {
		mf |= store.MetaStructure
	}
	if want&imap.WantBodyPrefix != 0 {
		mf |= store.MetaBodyPrefix
	}
	if want&imap.WantHeadPrefix != 0 {
		mf |= store.MetaHeadPrefix
	}
	if want&imap.WantPreview != 0 {
		mf |= store.MetaPreview
	}
	wantID := want&imap.WantObjectID != 0
	epoch := f.u.b.msgs.epoch(f.id)
	var md imap.MessageData
	err := f.u.b.mail.Messages(ctx, f.id, toStoreRanges(uids), mf, func(m store.MessageMeta) error {
		md = imap.MessageData{
			UID:          m.UID,
			ModSeq:       m.ModSeq,
			Flags:        toIMAPFlagBits(m.Flags),
			Keywords:     m.Keywords,
			InternalDate: m.InternalDate,
			SaveDate:     m.SaveDate,
			Size:         m.Size,
			BodyID:       m.BodyID,
			HasBinary:    m.HasBinary,
			Structure:    m.Structure,
			BodyPrefix:   m.BodyPrefix,
			Preview:      m.Preview,
			HasPreview:   m.HasPreview,
			Subject:      m.Subject,
			From:         m.From,
			To:           m.To,
			Cc:           m.Cc,
			SentDate:     m.SentDate,
		}
		f.u.b.msgs.put(f.id, f.uidValidity, &md, want, epoch)
		if wantID {
			md.EmailID = f.ids.emailID(m.BodyID)
		}
		return fn(&md)
	})
	return wireError(err)
}

// CachedMessages implements imap.MessageCache.
func (f *folder) CachedMessages(uids []uint32, want imap.Want, out []imap.MessageData) ([]imap.MessageData, bool) {
	n := len(out)
	out, ok := f.u.b.msgs.get(f.id, f.uidValidity, uids, want, out)
	if ok && want&imap.WantObjectID != 0 {
		for i := n; i < len(out); i++ {
			out[i].EmailID = f.ids.emailID(out[i].BodyID)
		}
	}
	return out, ok
}

// KeepPreviews implements imap.PreviewKeeper: previews the engine made for
// bodies stored without one are stored for the next FETCH PREVIEW.
func (f *folder) KeepPreviews(ctx context.Context, previews map[int64]string) error {
	return wireError(f.u.b.mail.SetPreviews(ctx, previews))
}

func (f *folder) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	n, err := f.u.b.mail.ReadBody(ctx, bodyID, off, p)
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%w: %w", imap.ErrExpunged, err)
	}
	return n, err
}

func (f *folder) StoreFlags(ctx context.Context, up *imap.FlagUpdate) ([]imap.MessageFlags, []uint32, error) {
	op := store.FlagsReplace
	switch up.Op {
	case imap.FlagsAdd:
		op = store.FlagsAdd
	case imap.FlagsRemove:
		op = store.FlagsRemove
	}
	changed, modified, err := f.u.b.mail.StoreFlags(ctx, f.id, store.FlagUpdate{
		UIDs:           toStoreRanges(up.UIDs),
		Op:             op,
		Flags:          toStoreFlags(up.Flags),
		Keywords:       up.Keywords,
		UnchangedSince: up.UnchangedSince,
	})
	if err != nil {
		return nil, nil, wireError(err)
	}
	out := toIMAPFlags(changed)
	// Before the event goes out: on the in-process hub this session's
	// callback runs inside publish.
	if seen := max(up.SeenModSeq, up.OwnModSeq(out)); seen > f.seenModSeq.Load() {
		f.seenModSeq.Store(seen)
	}
	if len(changed) > 0 {
		var ms uint64
		for _, m := range changed {
			ms = max(ms, m.ModSeq)
		}
		f.u.b.publish(ctx, f.u.mailboxID, f.id, ms)
	}
	return out, modified, nil
}

func (f *folder) Expunge(ctx context.Context, uids []imap.UIDRange) ([]uint32, error) {
	var r []store.UIDRange
	if uids != nil {
		r = toStoreRanges(uids)
	}
	// Only messages that still have \Deleted go, whatever this session
	// last saw (RFC 9051 §6.4.3, RFC 4315 §2.1).
	removed, err := f.u.b.mail.Expunge(ctx, f.id, r, true)
	if err != nil {
		return nil, wireError(err)
	}
	f.u.b.msgs.forget(f.id, f.uidValidity, removed)
	if len(removed) > 0 {
		f.u.b.publish(ctx, f.u.mailboxID, f.id, 0)
	}
	return removed, nil
}

// ExpungeRead implements imap.ExpungeReader: Expunge, with the changes
// since since when the store reads them with the write.
func (f *folder) ExpungeRead(ctx context.Context, uids []imap.UIDRange, since uint64) ([]uint32, *imap.FolderChanges, error) {
	var r []store.UIDRange
	if uids != nil {
		r = toStoreRanges(uids)
	}
	removed, ch, err := f.u.b.mail.ExpungeChanges(ctx, f.id, r, since)
	if err != nil {
		return nil, nil, wireError(err)
	}
	f.u.b.msgs.forget(f.id, f.uidValidity, removed)
	out := f.readWith(ch)
	if len(removed) > 0 {
		// The expunge's MODSEQ is at most the read's: an event at the
		// read's MODSEQ is no news to this session, and news to any
		// session that has not seen as far.
		var modSeq uint64
		if ch != nil {
			modSeq = ch.Folder.HighestModSeq
		}
		f.u.b.publish(ctx, f.u.mailboxID, f.id, modSeq)
	}
	return removed, out, nil
}

// readWith takes the changes the store read with a write of the session
// (nil: none) as Changes would: they are what the session is told in the
// update after the command, so every change up to their MODSEQ counts as
// seen, and the events of the write, and of any other change they hold,
// ask nothing again (the session's callback runs inside publish on the
// in-process hub, so this comes before the write's event goes out).
func (f *folder) readWith(ch *store.FolderChanges) *imap.FolderChanges {
	if ch == nil {
		return nil
	}
	f.uidNext = ch.Folder.UIDNext
	if ch.Folder.HighestModSeq > f.seenModSeq.Load() {
		f.seenModSeq.Store(ch.Folder.HighestModSeq)
	}
	return &imap.FolderChanges{Status: folderStatus(ch.Folder), Changed: toIMAPFlags(ch.Changed), Expunged: ch.Expunged}
}

func (f *folder) copyOrMove(ctx context.Context, uids []imap.UIDRange, dest string, move bool) (imap.CopyResult, error) {
	// A COPY's destination is the one its AppendUsage read at the start
	// of the command; the engine reads none for a MOVE, so a MOVE reads
	// its own (and drops what an APPEND that failed may have left).
	var d store.Folder
	var err error
	if move {
		f.u.target = nil
		d, err = f.u.folder(ctx, dest)
	} else {
		d, err = f.u.appendFolder(ctx, dest)
	}
	if err != nil {
		return imap.CopyResult{}, err
	}
	return f.copyInto(ctx, uids, d, move)
}

// copyInto copies (moves) messages to the folder d.
func (f *folder) copyInto(ctx context.Context, uids []imap.UIDRange, d store.Folder, move bool) (imap.CopyResult, error) {
	op := f.u.b.mail.Copy
	if move {
		op = f.u.b.mail.Move
	}
	res, err := op(ctx, f.id, toStoreRanges(uids), d.ID)
	if err != nil {
		return imap.CopyResult{}, wireError(err)
	}
	if move {
		f.u.b.msgs.forget(f.id, f.uidValidity, res.SrcUIDs)
	}
	if len(res.DstUIDs) > 0 {
		f.u.b.publish(ctx, f.u.mailboxID, d.ID, 0)
		if move {
			f.u.b.publish(ctx, f.u.mailboxID, f.id, 0)
		}
	}
	return imap.CopyResult{UIDValidity: res.UIDValidity, SrcUIDs: res.SrcUIDs, DstUIDs: res.DstUIDs, Size: res.Size}, nil
}

func (f *folder) Copy(ctx context.Context, uids []imap.UIDRange, dest string) (imap.CopyResult, error) {
	return f.copyOrMove(ctx, uids, dest, false)
}

// CopyRecent implements imap.RecentCopier: when dest is this folder (by
// ID, as AppendRecent compares), the copy claims \Recent and reads the
// changes since since with its write; otherwise it is Copy.
func (f *folder) CopyRecent(ctx context.Context, uids []imap.UIDRange, dest string, since uint64) (imap.RecentCopy, error) {
	d, err := f.u.appendFolder(ctx, dest)
	if err != nil {
		return imap.RecentCopy{}, err
	}
	if d.ID != f.id {
		res, err := f.copyInto(ctx, uids, d, false)
		return imap.RecentCopy{CopyResult: res}, err
	}
	sr, err := f.u.b.mail.CopyClaimingRecent(ctx, f.id, toStoreRanges(uids), since)
	if err != nil {
		return imap.RecentCopy{}, wireError(err)
	}
	r := imap.RecentCopy{CopyResult: imap.CopyResult{UIDValidity: sr.UIDValidity, SrcUIDs: sr.SrcUIDs, DstUIDs: sr.DstUIDs, Size: sr.Size},
		First: sr.First, Next: sr.Next, Claimed: true}
	f.u.b.recent.claimed(f.id, sr.Next)
	// The copies' MODSEQ, when the changes were read with the write: the
	// session's own event then asks nothing again (as AppendRecent's).
	var modSeq uint64
	if n := len(sr.DstUIDs); n > 0 && sr.Changes != nil {
		for _, m := range sr.Changes.Changed {
			if m.UID == sr.DstUIDs[n-1] {
				modSeq = m.ModSeq
			}
		}
	}
	r.Changes = f.readWith(sr.Changes)
	if len(sr.DstUIDs) > 0 {
		f.u.b.publish(ctx, f.u.mailboxID, f.id, modSeq)
	}
	return r, nil
}

func (f *folder) Move(ctx context.Context, uids []imap.UIDRange, dest string) (imap.CopyResult, error) {
	return f.copyOrMove(ctx, uids, dest, true)
}

// ClaimRecent implements imap.Folder. Claiming \Recent is a write, but
// SELECT is a read and must not fail because a write does (a full disk, a
// database that refuses writes): then this session claims nothing, its
// messages are not \Recent for it, and they stay recent for the next
// session that can claim them (RFC 3501 §2.3.2 lets a server be
// approximate here). Only a folder that is gone fails the SELECT.
func (f *folder) ClaimRecent(ctx context.Context) (uint32, uint32, error) {
	first, next, err := f.u.b.recent.claim(ctx, f.u.b.mail, f.id, f.uidNext)
	if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
		f.u.b.log.Warn("cannot claim \\Recent; the session sees no message as recent", "mailbox", f.u.mailboxID,
			"folder", f.id, "err", err)
		return 0, 0, nil
	}
	return first, next, wireError(err)
}

// PeekRecent implements imap.Folder: the first UID no session has claimed,
// claiming nothing (EXAMINE).
func (f *folder) PeekRecent(ctx context.Context) (uint32, error) {
	first, err := f.u.b.recent.peek(ctx, f.u.b.mail, f.id)
	return first, wireError(err)
}

// flagMap pairs the engine's system flags with the store's.
var flagMap = [...]struct {
	imap  imap.Flags
	store store.Flags
}{
	{imap.FlagSeen, store.FlagSeen},
	{imap.FlagAnswered, store.FlagAnswered},
	{imap.FlagFlagged, store.FlagFlagged},
	{imap.FlagDeleted, store.FlagDeleted},
	{imap.FlagDraft, store.FlagDraft},
}

func toStoreFlags(f imap.Flags) store.Flags {
	var out store.Flags
	for _, m := range flagMap {
		if f&m.imap != 0 {
			out |= m.store
		}
	}
	return out
}

func toIMAPFlagBits(f store.Flags) imap.Flags {
	var out imap.Flags
	for _, m := range flagMap {
		if f&m.store != 0 {
			out |= m.imap
		}
	}
	return out
}

func toIMAPFlags(ms []store.MessageFlags) []imap.MessageFlags {
	out := make([]imap.MessageFlags, len(ms))
	for i, m := range ms {
		out[i] = imap.MessageFlags{UID: m.UID, ModSeq: m.ModSeq, Flags: toIMAPFlagBits(m.Flags), Keywords: m.Keywords}
	}
	return out
}

func toStoreRanges(rs []imap.UIDRange) []store.UIDRange {
	out := make([]store.UIDRange, len(rs))
	for i, r := range rs {
		out[i] = store.UIDRange{Start: r.Start, Stop: r.Stop}
	}
	return out
}

// summarySearchStore is the store method SEARCH SUBJECT/FROM/TO/CC uses
// when the engine offers it: the substring search done in SQL over the
// summary columns (ASCII case-insensitive), returning UIDs in order.
type summarySearchStore interface {
	SearchSummary(ctx context.Context, folderID int64, uids []store.UIDRange, field, substr string) ([]uint32, error)
}

// SearchSummary implements imap.SummarySearcher when the store can.
func (f *folder) SearchSummary(ctx context.Context, uids []imap.UIDRange, field, substr string) ([]uint32, error) {
	ss, ok := f.u.b.mail.(summarySearchStore)
	if !ok {
		return nil, imap.ErrUnsupported
	}
	out, err := ss.SearchSummary(ctx, f.id, toStoreRanges(uids), field, substr)
	return out, wireError(err)
}
