package imap

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/sasl"
)

// Backend is what the engine needs from the rest of the server: a way to
// log users in. Everything else hangs off the User it returns.
type Backend interface {
	// Login checks credentials and the access rule and returns the user's
	// session. It is the one hook every login attempt passes through
	// (LOGIN and AUTHENTICATE alike). A refusal is returned as *Error, which
	// the engine sends as given (e.g. NO [CONTACTADMIN] ...); any other error
	// is answered as a temporary server failure.
	Login(ctx context.Context, req *LoginRequest) (User, error)
}

// RefusalRecorder may be implemented by a Backend to hear of the login
// attempts the engine refuses by itself, before Login (plaintext LOGIN or
// AUTHENTICATE without TLS from a remote address), so that every attempt
// reaches the backend's record. Password is empty: the engine never passes
// on a password it refused to check. Username is empty when the client
// did not send one before the refusal.
type RefusalRecorder interface {
	LoginRefused(ctx context.Context, req *LoginRequest)
}

// MechanismLister may be implemented by a Backend to list the SASL
// mechanisms it can check (package sasl's names), in the order they are
// advertised. Without it the engine offers PLAIN and LOGIN.
type MechanismLister interface {
	Mechanisms() []string
}

// SCRAMLookup is implemented by a Backend that offers SCRAM-SHA-256; see
// sasl.SCRAMLookup.
type SCRAMLookup interface {
	SCRAMParams(ctx context.Context, username string) (salt []byte, iterations int, err error)
}

// LoginRequest carries everything a login decision and its record need.
type LoginRequest struct {
	// Username is the name the client gave; with a token it may be empty
	// (the token names the mailbox).
	Username string
	Password string
	// Mechanism is how the client signs in: "LOGIN" for the LOGIN command,
	// else the SASL mechanism of AUTHENTICATE (package sasl's names).
	Mechanism string
	// Token is the bearer token of XOAUTH2 and OAUTHBEARER.
	Token string
	// SCRAM is the proof of SCRAM-SHA-256; the backend sets its
	// ServerSignature when the proof holds.
	SCRAM *sasl.SCRAMProof
	// RemoteAddr is the client's address ("ip:port").
	RemoteAddr string
	TLS        bool
	// ClientName and ClientVersion come from the client's ID command (RFC
	// 2971) when it was sent before login.
	ClientName    string
	ClientVersion string
	// Kick ends the session with "* BYE reason". The backend may call it
	// from any goroutine at any time; it never blocks and only the first
	// call counts. The BYE goes out within a second: at once when the
	// session waits for input or idles, after the current response when a
	// command runs (a command still running after a second is cut off).
	Kick func(reason string)
}

// User is one logged-in session's view of a mailbox. Folder names are in
// the engine's form: UTF-8, "/" as hierarchy delimiter, "INBOX" spelled so.
type User interface {
	// Key identifies the mailbox for the per-mailbox connection limit.
	Key() string
	// Folders lists every folder of the mailbox.
	Folders(ctx context.Context) ([]FolderInfo, error)
	Subscriptions(ctx context.Context) ([]string, error)
	SetSubscribed(ctx context.Context, name string, subscribed bool) error
	// CreateFolder creates a folder; specialUse is "" or one attribute such
	// as `\Sent` (RFC 6154 CREATE-SPECIAL-USE). It returns the new folder's
	// MAILBOXID (RFC 8474), or "" when the backend has none.
	CreateFolder(ctx context.Context, name, specialUse string) (mailboxID string, err error)
	DeleteFolder(ctx context.Context, name string) error
	RenameFolder(ctx context.Context, oldName, newName string) error
	// Status returns counters of a folder. Deleted and DeletedStorage are
	// computed only with StatusDeleted (it may cost a scan), Recent only
	// with StatusRecent (a read of its own).
	Status(ctx context.Context, name string, want StatusWant) (FolderStatus, error)
	// Append stores a message (raw, as the client sent it) and returns the
	// folder's UIDVALIDITY and the new UID (RFC 4315 APPENDUID).
	Append(ctx context.Context, name string, msg *AppendMessage) (uidValidity, uid uint32, err error)
	// AppendMany stores several messages at once, all or none (RFC 3502
	// MULTIAPPEND), and returns their UIDs in the order given.
	AppendMany(ctx context.Context, name string, msgs []*AppendMessage) (uidValidity uint32, uids []uint32, err error)
	// Open opens a folder for SELECT or EXAMINE. changed is called, from any
	// goroutine and without blocking, whenever the folder may have changed
	// (another session, a delivery, this session); the engine then asks
	// Changes. It is not called after Folder.Close. It need not be called
	// for a change the session already has: one whose MODSEQ is at or
	// below the SeenModSeq or OwnModSeq of the session's last FlagUpdate.
	Open(ctx context.Context, name string, changed func()) (Folder, error)
	// Logout ends the session; no call follows.
	Logout()
}

// RecentAppender may be implemented by a User: Append that, when name is
// the folder sel (the one the session has selected read-write; the engine
// passes it only to an IMAP4rev1 session), claims the folder's recent
// messages in the same write, as Folder.ClaimRecent would once the session
// has been told of the new message. The session appending to the folder it
// has selected is the first to be told of the new message, so the claim is
// its own; the update after the APPEND then needs no write of its own.
// since is the MODSEQ up to which the session knows the folder: a backend
// that can read what Folder.Changes(since) would return with the write
// (in its round trip, after its commit) returns it in Changes, and the
// update after the APPEND is then told from it without asking again.
type RecentAppender interface {
	AppendRecent(ctx context.Context, name string, msg *AppendMessage, sel Folder, since uint64) (RecentAppend, error)
}

// RecentAppend is what RecentAppender.AppendRecent stored, claimed and read.
type RecentAppend struct {
	UIDValidity, UID uint32
	// Claimed says whether [First, Next) was claimed as \Recent (false:
	// name is another folder, nothing was claimed).
	First, Next uint32
	Claimed     bool
	// Changes, when not nil, is what Folder.Changes(since) of sel returns,
	// read after the APPEND's commit.
	Changes *FolderChanges
}

// RecentCopier may be implemented by a Folder: Copy that, when dest is
// this folder itself and the session has it selected read-write (the
// engine asks only then, and only for an IMAP4rev1 session), claims the
// folder's recent messages, the copies among them, in the same write and
// reads what Changes(since) would return with it, as RecentAppender does
// for an APPEND; Claimed is false when dest is another folder (then
// nothing was claimed or read).
type RecentCopier interface {
	CopyRecent(ctx context.Context, uids []UIDRange, dest string, since uint64) (RecentCopy, error)
}

// RecentCopy is what RecentCopier.CopyRecent copied, claimed and read.
type RecentCopy struct {
	CopyResult
	First, Next uint32
	Claimed     bool
	Changes     *FolderChanges
}

// ExpungeReader may be implemented by a Folder: Expunge that also
// returns what Changes(since) would right after it, read with the write
// (nil when the backend did not read it), for the update after the
// command (as RecentAppender.AppendRecent's Changes).
type ExpungeReader interface {
	ExpungeRead(ctx context.Context, uids []UIDRange, since uint64) ([]uint32, *FolderChanges, error)
}

// FolderChanges is what Folder.Changes returns.
type FolderChanges struct {
	Status   FolderStatus
	Changed  []MessageFlags
	Expunged []uint32
}

// Folder is an opened (selected) folder.
type Folder interface {
	// Index returns the folder's counters and the state of all its
	// messages in UID order, consistent with Status.HighestModSeq.
	Index(ctx context.Context) (FolderStatus, []MessageFlags, error)
	// Changes returns what changed since MODSEQ since: messages added or
	// with changed flags (UID order) and UIDs expunged.
	Changes(ctx context.Context, since uint64) (FolderStatus, []MessageFlags, []uint32, error)
	// Messages calls fn for each existing message whose UID is in uids, in
	// UID order; want says which optional fields to fill. The MessageData
	// passed to fn is valid only during the call.
	Messages(ctx context.Context, uids []UIDRange, want Want, fn func(*MessageData) error) error
	// ReadBody reads the stored message (bodyID from MessageData) at off,
	// like io.ReaderAt; it holds no lock between calls. A message whose
	// content is no longer stored is ErrExpunged.
	ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error)
	// StoreFlags changes flags and returns the new state of every message
	// whose flags changed, and, with UnchangedSince, the UIDs left alone
	// because their MODSEQ is greater (RFC 7162 §3.1.3).
	StoreFlags(ctx context.Context, u *FlagUpdate) (changed []MessageFlags, modified []uint32, err error)
	// Expunge removes the given messages (nil: all with \Deleted) and
	// returns the UIDs removed, ascending.
	Expunge(ctx context.Context, uids []UIDRange) ([]uint32, error)
	// Copy and Move copy messages to the folder dest (Move expunges them
	// here, atomically).
	Copy(ctx context.Context, uids []UIDRange, dest string) (CopyResult, error)
	Move(ctx context.Context, uids []UIDRange, dest string) (CopyResult, error)
	// ClaimRecent claims the messages that are recent for this session
	// (IMAP4rev1 \Recent): UIDs in [first, next).
	ClaimRecent(ctx context.Context) (first, next uint32, err error)
	// PeekRecent returns the lowest UID that no session has claimed yet,
	// without claiming anything (EXAMINE: RFC 3501 §6.3.2 keeps \Recent):
	// messages with that UID or above are recent. When the backend cannot
	// tell, it answers low rather than high (RFC 3501 §2.3.2: a message
	// that may be recent SHOULD be considered recent).
	PeekRecent(ctx context.Context) (first uint32, err error)
	// Close stops change notifications.
	Close()
}

// SummarySearcher may be implemented by a Folder to find the messages whose
// decoded summary field ("subject", "from", "to" or "cc") contains substr,
// ignoring ASCII case, among uids, in UID order, without reading every
// message's metadata (SEARCH SUBJECT on a large folder). substr is
// lower-case ASCII. The answer is taken as exact. It returns ErrUnsupported
// when it cannot; the engine then reads the metadata itself.
type SummarySearcher interface {
	SearchSummary(ctx context.Context, uids []UIDRange, field, substr string) ([]uint32, error)
}

// IndexSnapshot is a folder's index as parallel arrays in UID order:
// UIDs[i] has the system flags Flags[i] (never \Recent) and, when it has
// any, the keywords Keywords[UIDs[i]]. It is shared between sessions and
// never modified: a session copies what it keeps.
type IndexSnapshot struct {
	UIDs     []uint32
	Flags    []Flags
	Keywords map[uint32][]string
}

// SnapshotIndexer may be implemented by a Folder to give its index as an
// IndexSnapshot instead of one MessageFlags per message (Folder.Index):
// SELECT of a 1,000,000-message folder then copies 5 MB of arrays that
// the backend keeps up to date, instead of building 48 MB of structs.
type SnapshotIndexer interface {
	IndexSnapshot(ctx context.Context) (FolderStatus, *IndexSnapshot, error)
}

// StatusWant says which of the costlier FolderStatus counters Status
// computes; the others always come.
type StatusWant uint8

const (
	// StatusDeleted: Deleted and DeletedStorage (RFC 9051 DELETED, RFC
	// 9208 DELETED-STORAGE).
	StatusDeleted StatusWant = 1 << iota
	// StatusRecent: Recent (IMAP4rev1 RECENT).
	StatusRecent
)

// MessageCache may be implemented by a Folder that keeps what never changes
// of its messages in memory (everything in MessageData but ModSeq, Flags and
// Keywords), so that a FETCH of messages read before needs no store access.
// CachedMessages appends to out the data of each message of uids (in the
// session's view, ascending) as Messages would give it for want, and
// reports whether it had every one; when it did not, the engine calls
// Messages. ModSeq, Flags and Keywords of what it returns are not current:
// the engine asks only for a FETCH that takes them from the session (no
// MODSEQ item, no CHANGEDSINCE). A message another session expunged may
// still be answered from memory, which RFC 2180 §4.1.1 allows; one this
// session's own Folder removed is not.
type MessageCache interface {
	CachedMessages(uids []uint32, want Want, out []MessageData) ([]MessageData, bool)
}

// PreviewKeeper may be implemented by a Folder to keep the previews the
// engine made for messages that came without one (MessageData.HasPreview
// false), by BodyID, so that the next FETCH PREVIEW reads them. The engine
// calls it after the responses are written; a failure only costs making
// them again.
type PreviewKeeper interface {
	KeepPreviews(ctx context.Context, previews map[int64]string) error
}

// ErrUnsupported says an optional backend method is not available.
var ErrUnsupported = errors.New("imap: not supported by the backend")

// Watcher may be implemented by a User for NOTIFY (RFC 5465). Watch calls
// fn, from any goroutine and without blocking, whenever something of the
// mailbox may have changed, here or on another node: folderID is the
// FolderInfo.ID of a folder whose messages changed, or 0 when folders were
// created, deleted or renamed or subscriptions changed. cancel stops the
// calls; fn is not called after it returns.
type Watcher interface {
	Watch(fn func(folderID int64)) (cancel func())
}

// FolderInfo describes a folder for LIST.
type FolderInfo struct {
	ID         int64 // names the folder in Watcher calls
	Name       string
	SpecialUse string // `\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, `\All`, `\Flagged` or ""
}

// FolderStatus holds a folder's counters.
type FolderStatus struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      uint32
	Unseen        uint32
	Deleted       uint32 // only when asked for
	Size          int64
	// Recent counts the messages no session has claimed as \Recent yet
	// (STATUS RECENT, IMAP4rev1).
	Recent uint32
	// MailboxID is the folder's MAILBOXID (RFC 8474 objectid): kept
	// across RENAME, never given to another folder. "" when the backend
	// has none.
	MailboxID string
	// DeletedStorage sums the sizes of the \Deleted messages (STATUS
	// DELETED-STORAGE, RFC 9208 §4.2.2); with Deleted.
	DeletedStorage int64
}

// Flags is a set of system flags.
type Flags uint8

// System flags (RFC 9051 §2.3.2). flagRecent is per session and never
// stored.
const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
	flagRecent
)

// MessageFlags is the mutable state of one message.
type MessageFlags struct {
	UID      uint32
	ModSeq   uint64
	Flags    Flags
	Keywords []string
}

// Want selects optional fields of MessageData.
type Want uint8

// Optional parts of MessageData.
const (
	// WantSummary asks for the decoded Subject/From/To/Cc/SentDate.
	WantSummary Want = 1 << iota
	// WantStructure asks for the stored parse (message.Marshal).
	WantStructure
	// WantBodyPrefix asks for the first bytes of the message
	// (MessageData.BodyPrefix), so that a small message is sent without
	// reading its body again; the engine asks for a few messages at a time.
	WantBodyPrefix
	// WantObjectID asks for MessageData.EmailID (RFC 8474).
	WantObjectID
	// WantPreview asks for the stored preview (MessageData.Preview).
	WantPreview
	// WantHeadPrefix asks for a shorter start of the message (the header
	// of most messages, all of small ones) in MessageData.BodyPrefix, for
	// a FETCH of many messages: each message whose items need no more is
	// sent without a body read of its own. The engine asks for it a
	// bounded number of messages at a time (headPrefixBatch).
	WantHeadPrefix
)

// MessageData is a message's metadata.
type MessageData struct {
	UID          uint32
	ModSeq       uint64
	Flags        Flags
	Keywords     []string
	InternalDate time.Time
	// SaveDate is when the message was saved in this folder (RFC 8514);
	// zero when the backend does not know.
	SaveDate  time.Time
	Size      int64
	BodyID    int64
	Structure []byte // with WantStructure
	// HasBinary: a part of the message has binary content (message.
	// Message.HasBinary), which BODY[] and RFC822.SIZE present base64-
	// encoded; always filled.
	HasBinary bool
	// EmailID is the message's EMAILID (RFC 8474 objectid), with
	// WantObjectID: the same for every copy of the same message in the
	// user's folders, and for the message after a MOVE.
	EmailID string
	// Preview is the message's PREVIEW (RFC 8970, message.Preview) when
	// the backend keeps it (HasPreview), with WantPreview; else the engine
	// makes it from the message.
	Preview    string
	HasPreview bool
	// BodyPrefix is the start of the message (all of it when shorter than
	// what the backend reads), with WantBodyPrefix or WantHeadPrefix; it
	// may be empty.
	BodyPrefix []byte
	// With WantSummary:
	Subject  string
	From     string
	To       string
	Cc       string
	SentDate time.Time
}

// UIDRange is an inclusive range of UIDs.
type UIDRange struct{ Start, Stop uint32 }

// FlagOp says how StoreFlags combines flags.
type FlagOp uint8

// STORE operations: FLAGS, +FLAGS, -FLAGS.
const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FlagUpdate is one STORE.
type FlagUpdate struct {
	UIDs     []UIDRange
	Op       FlagOp
	Flags    Flags
	Keywords []string
	// UnchangedSince, when non-zero, leaves alone the messages whose MODSEQ
	// is greater (STORE (UNCHANGEDSINCE n), RFC 7162 §3.1.3).
	UnchangedSince uint64
	// SeenModSeq is the folder's MODSEQ up to which the session has taken
	// in every change (its HIGHESTMODSEQ). See OwnModSeq.
	SeenModSeq uint64
}

// OwnModSeq returns the MODSEQ of the change StoreFlags made (changed, as
// it returned them) when that change is the folder's next after
// u.SeenModSeq, and 0 otherwise. Every change of a folder takes a MODSEQ of
// its own above all before it (RFC 7162 §3.1.1: one STORE, one MODSEQ for
// all the messages it changed), so when it is SeenModSeq+1 no other change
// came in between: the session, which applies changed itself, is then up
// to date at that MODSEQ and takes it as its HIGHESTMODSEQ, and the
// backend need not call Open's changed for it (nor for any change at or
// below it). When it is higher, another change came first, and the
// session must still ask Changes (since SeenModSeq) for it: the backend
// calls changed for this one as for any other.
func (u *FlagUpdate) OwnModSeq(changed []MessageFlags) uint64 {
	if len(changed) == 0 || u.SeenModSeq == ^uint64(0) {
		return 0
	}
	m := u.SeenModSeq + 1
	for i := range changed {
		if changed[i].ModSeq != m {
			return 0
		}
	}
	return m
}

// CopyResult reports a COPY or MOVE (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []uint32
	DstUIDs     []uint32
	// Size is the octets copied, for the warning quota (0: not known,
	// always checked).
	Size int64
}

// AppendMessage is a message to APPEND.
type AppendMessage struct {
	Flags        Flags
	Keywords     []string
	InternalDate time.Time // zero: now
	Raw          []byte
}

// ErrExpunged is returned (wrapped) by Folder.ReadBody for a message whose
// content is no longer stored: another session expunged it and the store
// has let its body go. The engine then leaves the message out of the FETCH
// (RFC 5530 EXPUNGEISSUED); it never sends bytes that are not the message.
var ErrExpunged = errors.New("message expunged")

// Error is a refusal with its wire form: the engine sends
// "tag NO [Code] Text" (or BAD when Bad is set). Backends return it to say
// exactly what the client sees; Code may be empty.
type Error struct {
	Bad  bool
	Code string // response code without brackets, e.g. "CONTACTADMIN"
	Text string
}

func (e *Error) Error() string {
	s := "NO"
	if e.Bad {
		s = "BAD"
	}
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	return s + " " + e.Text
}

// Response codes the engine and backends use (RFC 5530, RFC 9051 §7.1).
const (
	CodeAuthenticationFailed = "AUTHENTICATIONFAILED"
	CodeAuthorizationFailed  = "AUTHORIZATIONFAILED"
	CodeContactAdmin         = "CONTACTADMIN"
	CodeUnavailable          = "UNAVAILABLE"
	CodePrivacyRequired      = "PRIVACYREQUIRED"
	CodeNonExistent          = "NONEXISTENT"
	CodeAlreadyExists        = "ALREADYEXISTS"
	CodeCannot               = "CANNOT"
	CodeTryCreate            = "TRYCREATE"
	CodeTooBig               = "TOOBIG"
	CodeLimit                = "LIMIT"
	CodeServerBug            = "SERVERBUG"
	CodeInUse                = "INUSE"
	CodeOverQuota            = "OVERQUOTA"
	CodeExpungeIssued        = "EXPUNGEISSUED"
	CodeNoPerm               = "NOPERM"
	CodeCompressionActive    = "COMPRESSIONACTIVE" // RFC 4978 §3
)
