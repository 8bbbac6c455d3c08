// Package store defines the storage contract of Gatehouse: the value types of
// the directory (mailboxes, organization, roles, audit and login records) and
// of mail (folders, messages, bodies), and the interface that both engines,
// SQLite and PostgreSQL, implement.
//
// Invariants every engine keeps:
//   - Every change to a folder's messages (arrival, flag change, expunge, move)
//     takes a new MODSEQ from that folder's HighestModSeq; expunged UIDs are kept
//     with the MODSEQ of their expunge, so that a session can always ask "what
//     changed since MODSEQ n" (RFC 7162 CONDSTORE/QRESYNC).
//   - UIDs in a folder are strictly ascending and never reused while its
//     UIDVALIDITY stands; a message's ID is unique in the whole store and never
//     reused (POP3 UIDL is derived from it).
//   - A call returns only after its transaction committed: a delivery that
//     returned nil is durable.
//   - Message bodies are stored CRLF-normalized and byte-exact otherwise; the
//     Size of a message is the length of what FETCH BODY[] and POP3 RETR send.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Engines wrap them; callers match with errors.Is.
var (
	// ErrNotFound means the addressed object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a unique name, alias or address is already taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid means the request cannot be carried out as asked (for example
	// renaming a folder onto its own child, or deleting INBOX).
	ErrInvalid = errors.New("invalid request")
	// ErrModified is returned by StoreFlags for messages whose MODSEQ is above
	// the UNCHANGEDSINCE value given (RFC 7162 §3.1.3); it is reported per UID.
	ErrModified = errors.New("modified since")
	// ErrStorageFull means a write failed because the database has no room
	// left (a full disk, SQLITE_FULL, PostgreSQL disk_full). It is
	// temporary: the same write succeeds once space is freed. Reads still
	// work.
	ErrStorageFull = errors.New("insufficient storage")
	// ErrOverQuota means a write that adds mail (delivery, APPEND, COPY)
	// would take the mailbox beyond its ProhibitSendReceiveQuota. Nothing
	// of the write is stored; it succeeds once the mailbox has room.
	ErrOverQuota = errors.New("mailbox over quota")
)

// Store is the whole storage contract. Directory changes happen in Update
// transactions (so that the service layer can authorize, validate, write and
// audit atomically); mail operations are single calls, each its own
// transaction, tuned for the protocol servers.
type Store interface {
	// Update runs fn in a read-write transaction; it commits when fn returns
	// nil and rolls back otherwise. fn may be called more than once if the
	// engine must retry a serialization failure, so it must have no side
	// effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error

	Mail
	Queue
	MigrationStore

	// LoginLog batches login records; it is outside transactions on purpose:
	// losing a few records in a crash is acceptable, slowing logins is not.
	InsertLoginRecords(ctx context.Context, recs []LoginRecord) error
	// PruneLoginRecords deletes records older than before and returns how many.
	PruneLoginRecords(ctx context.Context, before time.Time) (int64, error)

	// Repair compares every folder's counters (messages, unseen, size,
	// UIDNEXT, HIGHESTMODSEQ) with its message and expunge rows, and counts
	// bodies that no message references and that are not yet marked for the
	// sweep. With fix it sets each wrong folder right from its rows (under
	// the folder's lock; UIDNEXT and HIGHESTMODSEQ only go up) and marks the
	// unreferenced bodies. Safe while the server runs.
	Repair(ctx context.Context, fix bool) (RepairReport, error)
	// SweepBodies deletes the bodies whose last message went before the
	// given time and that nothing references any more, and returns how many.
	// Engines run it by themselves after a grace period; tests and
	// `gatehouse repair` call it directly.
	SweepBodies(ctx context.Context, before time.Time) (int, error)
	// RepairSearchWords compares the words the admin list's search reads
	// (mailbox_words) with what the mailboxes' names and addresses make,
	// and returns the rows missing and those that should not be there;
	// with fix it then adds and removes them, in one transaction. It reads
	// every mailbox (seconds at 100,000), so `gatehouse repair` runs it,
	// not every start. Safe while the server runs; on SQLite a fix holds
	// off other writes while it runs (a check does not).
	RepairSearchWords(ctx context.Context, fix bool) (missing, extra int64, err error)

	// Engine names the engine ("sqlite" or "postgres").
	Engine() string
	// Close releases the engine; no call may follow.
	Close() error
}

// Tx is the directory inside one transaction.
type Tx interface {
	MigrationTx

	OrgConfig(ctx context.Context) (OrgConfig, error)
	SetOrgConfig(ctx context.Context, c OrgConfig) error
	Plan(ctx context.Context) (CASMailboxPlan, error)
	SetPlan(ctx context.Context, p CASMailboxPlan) error

	// AuthPolicies lists every authentication policy by name.
	AuthPolicies(ctx context.Context) ([]AuthPolicy, error)
	// AuthPolicy finds a policy by name, case-insensitively; ErrNotFound
	// when there is none.
	AuthPolicy(ctx context.Context, name string) (AuthPolicy, error)
	// InsertAuthPolicy adds a policy and sets its ID; ErrExists when the
	// name is taken.
	InsertAuthPolicy(ctx context.Context, p *AuthPolicy) error
	// UpdateAuthPolicy writes a policy's switches and WhenChanged.
	UpdateAuthPolicy(ctx context.Context, p AuthPolicy) error
	// DeleteAuthPolicy removes a policy; ErrNotFound when there is none.
	DeleteAuthPolicy(ctx context.Context, id int64) error
	// AuthPolicyUsers counts the mailboxes assigned the policy.
	AuthPolicyUsers(ctx context.Context, name string) (int, error)
	// SetMailboxAuthPolicy assigns a policy (by name; "" for none) to a
	// mailbox.
	SetMailboxAuthPolicy(ctx context.Context, mailboxID int64, name string, when time.Time) error

	// AppPasswords lists a mailbox's app passwords by name (never their
	// secrets, which are not stored).
	AppPasswords(ctx context.Context, mailboxID int64) ([]AppPassword, error)
	// AppPasswordBySecret finds the app password whose secret hashes to
	// secretHash, whichever mailbox it belongs to; ErrNotFound when none.
	AppPasswordBySecret(ctx context.Context, secretHash string) (AppPassword, error)
	// InsertAppPassword adds an app password and sets its ID; ErrExists
	// when the mailbox has one of that name (any case).
	InsertAppPassword(ctx context.Context, p *AppPassword) error
	// DeleteAppPasswords removes a mailbox's app passwords with the given
	// IDs (nil: all of them) and returns those it removed.
	DeleteAppPasswords(ctx context.Context, mailboxID int64, ids []int64) ([]AppPassword, error)

	// MailboxByID returns ErrNotFound when there is no such mailbox.
	MailboxByID(ctx context.Context, id int64) (Mailbox, error)
	// FindMailboxes returns the mailboxes whose Name, DisplayName, Alias,
	// UserPrincipalName, GUID or any email address equals identity,
	// case-insensitively; at most limit of them (0 = no limit).
	FindMailboxes(ctx context.Context, identity string, limit int) ([]Mailbox, error)
	// FindMailboxesMany is FindMailboxes for many identities in few
	// queries (a bulk edit's chunk): out[i] holds what FindMailboxes(ctx,
	// identities[i], limit) returns, in the same order.
	FindMailboxesMany(ctx context.Context, identities []string, limit int) (out [][]Mailbox, err error)
	// MailboxesByGUID returns the mailboxes with the given GUIDs
	// (case-insensitively), keyed by lower-cased GUID; a GUID of no
	// mailbox has no key. A bulk edit of piped objects names each by it.
	MailboxesByGUID(ctx context.Context, guids []string) (map[string]Mailbox, error)
	// MailboxByAddress resolves an email address (any of a mailbox's
	// addresses, case-insensitively) for delivery and login.
	MailboxByAddress(ctx context.Context, address string) (Mailbox, error)
	// ListMailboxes returns one page of mailboxes and the total that match.
	ListMailboxes(ctx context.Context, q MailboxQuery) (page []Mailbox, total int, err error)
	// InsertMailbox creates the mailbox and its default folders (INBOX,
	// Drafts, Sent, Trash, Junk, Archive with their special uses). It sets
	// m.ID, and m.GUID when empty. ErrExists names the taken attribute.
	InsertMailbox(ctx context.Context, m *Mailbox) error
	// UpdateMailbox writes every field of m but ID, GUID and WhenCreated.
	UpdateMailbox(ctx context.Context, m Mailbox) error
	// SetMailboxQuota changes the mailbox's storage quotas only (UpdateMailbox
	// leaves them alone).
	SetMailboxQuota(ctx context.Context, id int64, q MailboxQuota, whenChanged time.Time) error
	// SetMailboxSmtpClientAuth changes SmtpClientAuthenticationDisabled only
	// (nil: follow the organization).
	SetMailboxSmtpClientAuth(ctx context.Context, id int64, disabled *bool, whenChanged time.Time) error
	// SetMailboxProtocols changes PopEnabled and ImapEnabled only: the cheap
	// path of Set-CASMailbox over thousands of mailboxes.
	SetMailboxProtocols(ctx context.Context, id int64, pop, imap bool, whenChanged time.Time) error
	// DeleteMailbox removes the mailbox with all its folders, messages,
	// subscriptions and role memberships. Audit and login records stay.
	DeleteMailbox(ctx context.Context, id int64) error

	RoleGroups(ctx context.Context) ([]RoleGroup, error)
	RoleGroupByName(ctx context.Context, name string) (RoleGroup, error)
	RoleGroupMembers(ctx context.Context, groupID int64) ([]Mailbox, error)
	// MemberOf returns the role groups the mailbox belongs to.
	MemberOf(ctx context.Context, mailboxID int64) ([]RoleGroup, error)
	// AddRoleGroupMember returns ErrExists when already a member.
	AddRoleGroupMember(ctx context.Context, groupID, mailboxID int64) error
	// RemoveRoleGroupMember returns ErrNotFound when not a member.
	RemoveRoleGroupMember(ctx context.Context, groupID, mailboxID int64) error

	// InsertAudit appends one record; there is no way to change or delete one.
	InsertAudit(ctx context.Context, r *AuditRecord) error
	// InsertAudits appends many records in few statements, in the order
	// given (ascending IDs), and sets their IDs.
	InsertAudits(ctx context.Context, recs []*AuditRecord) error
	SearchAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)

	// InsertAdminSession records a signed-in administrator.
	InsertAdminSession(ctx context.Context, s AdminSession) error
	// AdminSession finds an unexpired session by the hash of its token;
	// ErrNotFound otherwise.
	AdminSession(ctx context.Context, tokenHash string, now time.Time) (AdminSession, error)
	// DeleteAdminSession signs one session out.
	DeleteAdminSession(ctx context.Context, tokenHash string) error
	// DeleteAdminSessions signs out every session of a mailbox (password
	// changed) and all expired sessions.
	DeleteAdminSessions(ctx context.Context, mailboxID int64, now time.Time) error

	// OutboundMessages lists the outbound queue (Get-Message), oldest
	// first, without message data.
	OutboundMessages(ctx context.Context, q OutboundQuery) ([]OutboundMessage, error)
	// OutboundMessage returns one queued message without its data;
	// ErrNotFound when it is not (or no longer) queued.
	OutboundMessage(ctx context.Context, id int64) (OutboundMessage, error)
	// RetryOutbound makes the given queued messages (all when ids is nil)
	// due at now (Retry-Queue) and returns how many it changed. A message
	// being sent is left alone.
	RetryOutbound(ctx context.Context, ids []int64, now time.Time) (int64, error)
	// RemoveOutbound deletes a queued message (Remove-Message);
	// ErrNotFound when it is not queued. A runner sending it at that moment
	// finishes its attempt, and finds it gone afterwards.
	RemoveOutbound(ctx context.Context, id int64) error

	// UsageReport summarises login records since the given time, one row
	// per mailbox that has any record (POP3/IMAP4 successes and refusals).
	UsageReport(ctx context.Context, since time.Time) ([]UsageRow, error)
	// DailyActiveUsers counts, per UTC day since the given time, the distinct
	// mailboxes with a successful login per protocol.
	DailyActiveUsers(ctx context.Context, since time.Time) ([]DailyActive, error)
	// RecentLogins returns a mailbox's latest login records, newest first:
	// those of q.Protocol ("" for both) whose result is one of q.Results
	// (none: any result), at most q.Limit.
	RecentLogins(ctx context.Context, mailboxID int64, q LoginQuery) ([]LoginRecord, error)
}

// LoginQuery selects login records of one mailbox (Tx.RecentLogins).
type LoginQuery struct {
	Protocol string
	Results  []string
	Limit    int
}

// Mail is the message store the protocol servers and delivery use.
type Mail interface {
	// Folders lists the folders of a mailbox, ordered by name.
	Folders(ctx context.Context, mailboxID int64) ([]Folder, error)
	// FolderByName finds a folder by its exact name ("INBOX" is always
	// spelled so in storage; callers fold its case).
	FolderByName(ctx context.Context, mailboxID int64, name string) (Folder, error)
	FolderByID(ctx context.Context, folderID int64) (Folder, error)
	// CreateFolder makes a folder with a fresh UIDVALIDITY; ErrExists if the
	// name is taken. Parents are not created implicitly.
	CreateFolder(ctx context.Context, mailboxID int64, name, specialUse string) (Folder, error)
	// DeleteFolder removes a folder and its messages. INBOX: ErrInvalid.
	DeleteFolder(ctx context.Context, folderID int64) error
	// RenameFolder renames a folder and every folder below it (names that
	// start with oldName+"/"). Renaming INBOX moves all its messages into a
	// new folder newName and leaves INBOX empty (RFC 9051 §6.3.6).
	RenameFolder(ctx context.Context, mailboxID int64, oldName, newName string) error
	Subscriptions(ctx context.Context, mailboxID int64) ([]string, error)
	SetSubscribed(ctx context.Context, mailboxID int64, name string, subscribed bool) error

	// FolderIndex returns the folder and the UID, MODSEQ and flags of all its
	// messages in UID order, consistent with the returned HighestModSeq.
	FolderIndex(ctx context.Context, folderID int64) (Folder, []MessageFlags, error)
	// Changes returns what changed in the folder since MODSEQ since: messages
	// added or with changed flags (UID order), and UIDs expunged.
	Changes(ctx context.Context, folderID int64, since uint64) (Folder, []MessageFlags, []uint32, error)
	// Messages calls fn for each message of the folder whose UID is in uids,
	// in UID order, with metadata only (never the body). want says which
	// parts beyond the basic columns to read: MetaSummary, MetaStructure.
	Messages(ctx context.Context, folderID int64, uids []UIDRange, want MetaFields, fn func(MessageMeta) error) error
	// SearchSummary returns, in UID order, the UIDs in uids of the messages
	// whose summary field ("subject", "from", "to" or "cc") contains substr,
	// ignoring ASCII case (RFC 9051 §6.4.4), without reading bodies or
	// structures.
	SearchSummary(ctx context.Context, folderID int64, uids []UIDRange, field, substr string) ([]uint32, error)
	// ReadBody reads up to len(p) bytes of a body at offset off, like
	// io.ReaderAt. It holds no lock or transaction between calls, so a slow
	// network reader never blocks anyone.
	ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error)
	// ReadBodyHeads reads the first octets of several bodies in one query:
	// into heads[i], up to len(heads[i]) octets of body bodyIDs[i]. n[i] is
	// how many it read: the whole body when it is no longer than
	// heads[i], otherwise at least what the body's first stored piece
	// holds, possibly less than len(heads[i]); 0 for a body that is gone.
	// A reader that needs more goes on with ReadBody. Like ReadBody it
	// holds nothing between calls.
	ReadBodyHeads(ctx context.Context, bodyIDs []int64, heads [][]byte) (n []int, err error)

	// Append adds one message to a folder and returns its UID and the
	// folder's UIDVALIDITY (RFC 4315 APPENDUID).
	Append(ctx context.Context, folderID int64, msg NewMessage) (uidValidity, uid uint32, err error)
	// AppendClaimingRecent is Append that also claims the folder's recent
	// messages, the new one among them, in the same transaction, as
	// ClaimRecent would right after it: for a session that appends to the
	// folder it has selected, and so is the first to be told of the new
	// message (IMAP4rev1 \Recent). The session then asks what changed in
	// the folder since the MODSEQ it knew, since: an engine that can read
	// that in the APPEND's round trip (PostgreSQL) does, in a snapshot
	// taken after the commit, and returns it in RecentAppend.Changes.
	AppendClaimingRecent(ctx context.Context, folderID int64, msg NewMessage, since uint64) (RecentAppend, error)
	// AppendMany adds messages to a folder in one transaction, all or
	// nothing (IMAP MULTIAPPEND, RFC 3502), and returns their UIDs in the
	// order given. A message with no content is ErrInvalid.
	AppendMany(ctx context.Context, folderID int64, msgs []NewMessage) (uidValidity uint32, uids []uint32, err error)
	// Deliver adds the message to the INBOX of each mailbox in one
	// transaction (one stored body shared by all) and returns where it went.
	// It returns only after commit. Engines may group concurrent deliveries
	// into one commit.
	Deliver(ctx context.Context, mailboxIDs []int64, msg NewMessage) ([]Delivered, error)
	// StoreFlags changes flags of the messages in u.UIDs and returns the new
	// state of every message whose flags changed, each with its new MODSEQ,
	// plus the UIDs refused by UnchangedSince.
	StoreFlags(ctx context.Context, folderID int64, u FlagUpdate) (changed []MessageFlags, refused []uint32, err error)
	// Expunge removes the given messages (nil: all of the folder) and
	// returns the UIDs removed, ascending. With deletedOnly, only those that
	// have \Deleted at the moment of the expunge go (IMAP EXPUNGE and UID
	// EXPUNGE: a flag another session just cleared is respected); POP3 QUIT
	// removes what its client marked, whatever the flags.
	Expunge(ctx context.Context, folderID int64, uids []UIDRange, deletedOnly bool) ([]uint32, error)
	// ExpungeChanges is Expunge of the messages with \Deleted for a
	// session that then asks what changed in the folder since the MODSEQ
	// it knew, since: an engine that can read that in the EXPUNGE's round
	// trip (PostgreSQL) does, after the commit, and returns it (nil
	// otherwise: the caller asks Changes itself).
	ExpungeChanges(ctx context.Context, folderID int64, uids []UIDRange, since uint64) ([]uint32, *FolderChanges, error)
	// Copy copies messages to another folder of the same mailbox, sharing
	// bodies; Move also expunges them from the source, atomically.
	Copy(ctx context.Context, srcFolderID int64, uids []UIDRange, dstFolderID int64) (CopyResult, error)
	Move(ctx context.Context, srcFolderID int64, uids []UIDRange, dstFolderID int64) (CopyResult, error)
	// CopyClaimingRecent is Copy of messages of a folder into that folder
	// itself that also claims its recent messages, the copies among them,
	// and reads the changes since since, as AppendClaimingRecent does for
	// an APPEND: for a session that copies into the folder it has
	// selected.
	CopyClaimingRecent(ctx context.Context, folderID int64, uids []UIDRange, since uint64) (RecentCopy, error)
	// ClaimRecent atomically claims the folder's recent messages for one
	// session (IMAP4rev1 \Recent): messages with first <= UID < next are
	// recent for the caller; afterwards they are recent for no one else.
	ClaimRecent(ctx context.Context, folderID int64) (first, next uint32, err error)
	// RecentFrom returns the folder's lowest UID that no session has
	// claimed as recent, without claiming (EXAMINE, STATUS RECENT).
	RecentFrom(ctx context.Context, folderID int64) (uint32, error)
	// AcquireLease takes or renews the named lease for holder until ttl from
	// now; false means another holder has it and it has not expired.
	// Lease writes (AcquireLease, AcquireLeaseFrom, ReleaseLease) are
	// relaxed, as flag changes are: they survive a crash of the process,
	// and a crash of the machine or of the database server may lose the
	// last of them (a lost lease is taken again at its holder's next
	// renewal, if nobody took it first; a lost release lapses by itself
	// after ttl).
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// AcquireLeaseFrom is AcquireLease that also takes the lease at once
	// from a holder whose name starts with orphans (a process the caller
	// knows to be gone, such as an earlier process of its own instance).
	AcquireLeaseFrom(ctx context.Context, name, holder, orphans string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up a lease if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// ReportSessions records a node's answer to the session question
	// queryID (see notify.SessionsQuery).
	ReportSessions(ctx context.Context, queryID uint64, node string, sessions []SessionReport) error
	// CollectSessionReports returns and deletes the answers to queryID, and
	// drops answers to questions older than a minute that nobody collected.
	CollectSessionReports(ctx context.Context, queryID uint64) ([]SessionReport, error)
	// MailboxUsage returns the mailbox's size and message count (the sums
	// of its folders' counters) and its quotas. ErrNotFound when there is
	// no such mailbox.
	MailboxUsage(ctx context.Context, mailboxID int64) (MailboxUsage, error)
	// AppendTarget reads what an APPEND needs before its message: the
	// mailbox's folder called name (found false when it has none) and
	// the mailbox's usage, as MailboxUsage reads it, in one query.
	// ErrNotFound when there is no such mailbox.
	AppendTarget(ctx context.Context, mailboxID int64, name string) (f Folder, found bool, u MailboxUsage, err error)
	// Recipient looks up the mailbox that receives mail for address, as
	// Tx.MailboxByAddress does, and reads what an RCPT needs of it (its
	// ID, its ProhibitSendReceiveQuota and then its size) in one query
	// outside any transaction (on PostgreSQL a read transaction costs two
	// more round trips), without the rest of the mailbox's row.
	// ErrNotFound when no mailbox has the address.
	Recipient(ctx context.Context, address string) (Recipient, error)
	// FindMailboxes is Tx.FindMailboxes as one query outside any
	// transaction (one statement reads one snapshot anyway): a login's
	// lookup of its name, which on PostgreSQL would otherwise cost a read
	// transaction's two more round trips.
	FindMailboxes(ctx context.Context, identity string, limit int) ([]Mailbox, error)
	// SignInState returns the organization's configuration and the
	// mailbox in one query outside any transaction: what a login's access
	// check reads afresh once its session is registered. ErrNotFound when
	// the mailbox (or the organization's configuration) is missing.
	SignInState(ctx context.Context, mailboxID int64) (OrgConfig, Mailbox, error)
	// SetLastLogon records the time of a successful login per protocol
	// ("pop3" or "imap4") on the mailbox, for the admin lists.
	SetLastLogon(ctx context.Context, mailboxID int64, protocol string, at time.Time) error
	// MailboxGUID returns the mailbox's GUID (ErrNotFound if it is gone).
	MailboxGUID(ctx context.Context, mailboxID int64) (string, error)
	// SetPreviews stores previews (message.Preview) of bodies stored
	// without one, by body ID; a body that has one or is gone is skipped.
	SetPreviews(ctx context.Context, previews map[int64]string) error
}

// Queue is the durable outbound queue of SMTP submission: messages for
// recipients that are not local, on their way to the smarthost. A message
// is stored (committed) before the submitting client is told 250 and
// leaves only when the smarthost took it or its sender got a delivery
// status notification. A runner leases the messages it sends, so that no
// two runners (nodes) send one at the same time.
type Queue interface {
	// Enqueue stores a message and returns its ID.
	Enqueue(ctx context.Context, m OutboundMessage) (int64, error)
	// ClaimOutbound leases up to limit messages that are due at now and
	// not leased (or whose lease lapsed) to holder until now+lease, and
	// returns them with their data, oldest due first.
	ClaimOutbound(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]OutboundMessage, error)
	// CompleteOutbound deletes a message holder leased (sent, or its
	// sender told); false when holder no longer has it.
	CompleteOutbound(ctx context.Context, id int64, holder string) (bool, error)
	// DeferOutbound keeps a message holder leased for a later attempt:
	// only the recipients still to be sent remain, RetryCount goes up by
	// one, and the lease ends. False when holder no longer has it.
	DeferOutbound(ctx context.Context, id int64, holder string, d OutboundDeferral) (bool, error)
}

// OutboundMessage is one message in the outbound queue.
type OutboundMessage struct {
	ID int64
	// MailboxID is the sender's mailbox (where a DSN goes).
	MailboxID  int64
	From       string   // envelope sender
	Recipients []string // still to be sent
	Size       int64
	Data       []byte // only from ClaimOutbound
	// DateReceived is when it was submitted; Expires when the queue gives
	// up on it (a DSN tells the sender).
	DateReceived time.Time
	Expires      time.Time
	NextRetry    time.Time
	RetryCount   int
	LastError    string
	// LeaseExpires is in the future while a runner sends it.
	LeaseHolder  string
	LeaseExpires time.Time
}

// Status is the message's queue status as Exchange's Get-Message names
// it: Active while a runner sends it, Retry after a failed attempt, Ready
// otherwise.
func (m OutboundMessage) Status(now time.Time) string {
	switch {
	case m.LeaseExpires.After(now):
		return "Active"
	case m.RetryCount > 0:
		return "Retry"
	}
	return "Ready"
}

// OutboundDeferral is the outcome of an attempt that leaves a message
// queued.
type OutboundDeferral struct {
	Remaining []string
	NextRetry time.Time
	LastError string
}

// OutboundQuery pages the outbound queue by ID (keyset).
type OutboundQuery struct {
	AfterID int64
	Limit   int // 0: no limit
}

// SessionReport is one open POP3 or IMAP4 session as a node reports it.
type SessionReport struct {
	Node       string
	MailboxID  int64
	Protocol   string // "pop3" or "imap4"
	RemoteAddr string
	Since      time.Time
}

// OrgConfig is the organization-wide configuration (Get-OrganizationConfig).
type OrgConfig struct {
	Name                    string // display name of the organization
	Domain                  string // default accepted domain, e.g. contoso.com
	SecurityDefaultsEnabled bool
	// SmtpClientAuthenticationDisabled turns authenticated SMTP
	// submission off for every mailbox that does not say otherwise
	// (Set-TransportConfig).
	SmtpClientAuthenticationDisabled bool
	// DefaultAuthenticationPolicy names (any case) the authentication
	// policy of mailboxes that have none of their own; "" for none.
	DefaultAuthenticationPolicy string
	WhenChanged                 time.Time
}

// AuthPolicy is an authentication policy (Exchange's
// New-AuthenticationPolicy): for which protocols basic (password-based)
// authentication is allowed. OAuth is never blocked by one.
type AuthPolicy struct {
	ID                 int64
	Name               string
	AllowBasicAuthPop  bool
	AllowBasicAuthImap bool
	AllowBasicAuthSmtp bool
	WhenCreated        time.Time
	WhenChanged        time.Time
}

// AppPassword is one of a mailbox's app passwords: a generated secret for a
// client that cannot sign in with OAuth, usable wherever the mailbox's
// password is (basic authentication). Only the SHA-256 of the secret is
// kept.
type AppPassword struct {
	ID          int64
	MailboxID   int64
	Name        string
	SecretHash  string // hex SHA-256 of the secret
	WhenCreated time.Time
	// LastUsed is the time of the last successful sign-in with it (zero
	// while never used), over LastUsedProtocol from LastUsedAddr.
	LastUsed         time.Time
	LastUsedProtocol string
	LastUsedAddr     string
}

// CASMailboxPlan holds the defaults new mailboxes take (Get-CASMailboxPlan).
type CASMailboxPlan struct {
	PopEnabled  bool
	ImapEnabled bool
	WhenChanged time.Time
}

// Mailbox is a recipient with a mailbox; admins are mailboxes too, and role
// group membership decides what they may administer.
type Mailbox struct {
	ID                 int64
	GUID               string
	Name               string
	DisplayName        string
	Alias              string
	PrimarySmtpAddress string
	// EmailAddresses are further addresses (proxy addresses) besides the
	// primary one; each is unique across the organization.
	EmailAddresses    []string
	UserPrincipalName string
	PasswordHash      string // argon2id in PHC string form; never shown
	// SCRAMSHA256 holds the SCRAM-SHA-256 keys made with PasswordHash, in
	// RFC 5803's form (auth.SCRAMKeys); empty for a password set before
	// they were made. Never shown.
	SCRAMSHA256 string
	// AuthenticationPolicy names (any case) the mailbox's authentication
	// policy; "" follows the organization's default. Written only by
	// SetMailboxAuthPolicy.
	AuthenticationPolicy string
	PopEnabled           bool
	ImapEnabled          bool
	WhenCreated          time.Time
	WhenChanged          time.Time
	// LastPopLogon and LastImapLogon are zero when never used.
	LastPopLogon  time.Time
	LastImapLogon time.Time
	// Quota holds the storage limits (Set-Mailbox), written only by
	// SetMailboxQuota.
	Quota MailboxQuota
	// SmtpClientAuthenticationDisabled is Set-CASMailbox's value: nil
	// follows the organization. Written only by SetMailboxSmtpClientAuth.
	SmtpClientAuthenticationDisabled *bool
}

// Recipient is what an RCPT needs of the mailbox that receives mail for an
// address (Mail.Recipient).
type Recipient struct {
	MailboxID int64
	// ProhibitSendReceive is the mailbox's ProhibitSendReceiveQuota in
	// octets, 0 when it has none.
	ProhibitSendReceive int64
	// Used is the mailbox's size when it has a ProhibitSendReceiveQuota,
	// 0 when it has none.
	Used int64
}

// MailboxQuota holds a mailbox's storage limits in bytes, as Exchange's
// Set-Mailbox names them; 0 is Unlimited. Only ProhibitSendReceive is
// enforced: a write that would take the mailbox beyond it fails with
// ErrOverQuota. Exchange requires IssueWarning <= ProhibitSend <=
// ProhibitSendReceive where they are set; the service layer checks that.
type MailboxQuota struct {
	IssueWarning        int64
	ProhibitSend        int64
	ProhibitSendReceive int64
}

// MailboxUsage is a mailbox's size (Get-MailboxStatistics TotalItemSize,
// IMAP QUOTA STORAGE) and message count (ItemCount) with its quotas.
type MailboxUsage struct {
	Size     int64
	Messages int64
	Quota    MailboxQuota
}

// MailboxField names a mailbox property that filters and sorts may use.
type MailboxField string

// The filterable and sortable mailbox fields, named as the cmdlets show them.
const (
	FieldName               MailboxField = "Name"
	FieldDisplayName        MailboxField = "DisplayName"
	FieldAlias              MailboxField = "Alias"
	FieldPrimarySmtpAddress MailboxField = "PrimarySmtpAddress"
	FieldUserPrincipalName  MailboxField = "UserPrincipalName"
	FieldGUID               MailboxField = "Guid"
	FieldEmailAddresses     MailboxField = "EmailAddresses"
	FieldPopEnabled         MailboxField = "PopEnabled"
	FieldImapEnabled        MailboxField = "ImapEnabled"
	FieldWhenCreated        MailboxField = "WhenCreated"
	FieldWhenChanged        MailboxField = "WhenChanged"
	FieldLastPopLogon       MailboxField = "LastPopLogon"
	FieldLastImapLogon      MailboxField = "LastImapLogon"
)

// Op is a comparison operator of a filter condition.
type Op string

// The operators of OPATH that the store evaluates. Like and NotLike take
// PowerShell wildcards (* and ?), case-insensitive.
const (
	OpEq      Op = "eq"
	OpNe      Op = "ne"
	OpLt      Op = "lt"
	OpLe      Op = "le"
	OpGt      Op = "gt"
	OpGe      Op = "ge"
	OpLike    Op = "like"
	OpNotLike Op = "notlike"
)

// Filter is a boolean expression over mailbox fields: a Cond, And, Or or Not.
type Filter interface{ isFilter() }

// Cond compares one field with a value: string for text fields, bool for
// PopEnabled/ImapEnabled, time.Time for dates. Text compares
// case-insensitively, as Exchange does.
type Cond struct {
	Field MailboxField
	Op    Op
	Value any
}

// And is true when all its parts are.
type And []Filter

// Or is true when any of its parts is.
type Or []Filter

// Not negates its part.
type Not struct{ F Filter }

func (Cond) isFilter() {}
func (And) isFilter()  {}
func (Or) isFilter()   {}
func (Not) isFilter()  {}

// SortKey orders a listing by one field.
type SortKey struct {
	Field MailboxField
	Desc  bool
}

// MailboxQuery selects a page of mailboxes.
type MailboxQuery struct {
	Filter Filter // nil: all
	// Search is a case-insensitive prefix matched against Name, DisplayName,
	// Alias and every email address (the admin center search box).
	Search string
	Sort   []SortKey // empty: by DisplayName, then ID
	// After continues a listing after a mailbox already listed (keyset
	// paging): only the mailboxes that sort after it are listed, and
	// Offset counts from there. Unlike an offset it stays right while the
	// mailboxes already listed are changed or removed (a Get-Mailbox piped
	// into Remove-Mailbox). The total still counts every match.
	After  *MailboxCursor
	Offset int
	Limit  int // 0: no limit
	// NoCount leaves the total out (ListMailboxes returns 0 for it): a
	// listing's next page already knows it, and counting every match
	// reads the whole directory, for each page.
	NoCount bool
}

// MailboxCursor names the place of a mailbox in a listing's order: the
// value of the listing's sort field (DisplayName when Sort is empty) and
// its ID. Value has the type of the field in Mailbox: string, bool or
// time.Time. Listings with a cursor sort by at most one field.
type MailboxCursor struct {
	Value any
	ID    int64
}

// RoleGroup is a built-in role group; its permissions live in package rbac.
type RoleGroup struct {
	ID          int64
	Name        string
	Description string
}

// PropertyChange is one modified property of an audited change.
type PropertyChange struct {
	Name     string
	OldValue string
	NewValue string
}

// AuditRecord is one administrative change (Search-AdminAuditLog).
type AuditRecord struct {
	ID                 int64
	RunDate            time.Time // UTC
	Caller             string
	ClientAddress      string
	Surface            string // "shell", "admincenter", "api"
	CmdletName         string
	CmdletParameters   []Parameter
	ObjectModified     string
	ModifiedProperties []PropertyChange
	Succeeded          bool
	Error              string
}

// Parameter is one cmdlet parameter as given, for the audit log.
type Parameter struct {
	Name  string
	Value string
}

// AuditQuery filters the audit log; zero fields do not filter.
type AuditQuery struct {
	Cmdlets   []string // CmdletName, case-insensitive
	ObjectIDs []string // ObjectModified, case-insensitive
	UserIDs   []string // Caller, case-insensitive
	Start     time.Time
	End       time.Time
	IsSuccess *bool
	// BeforeID continues a search after a page (keyset paging): only
	// records with a smaller ID, that is older ones. 0: from the newest.
	BeforeID int64
	Limit    int // 0: no limit; newest first
}

// AdminSession is a signed-in administrator (a REST API token or an admin
// center cookie); the token itself is never stored, only its hash.
type AdminSession struct {
	TokenHash     string
	MailboxID     int64
	Surface       string
	ClientAddress string
	Created       time.Time
	Expires       time.Time
}

// Login results recorded for every POP3/IMAP4 login attempt.
const (
	LoginSuccess   = "success"
	LoginFailed    = "failed"    // wrong user or password
	LoginDisabled  = "disabled"  // protocol disabled for the mailbox
	LoginBlocked   = "blocked"   // security defaults
	LoginThrottled = "throttled" // brute-force throttling
	LoginNoTLS     = "notls"     // plaintext login refused without TLS
)

// LoginRecord is one login attempt over POP3 or IMAP4.
type LoginRecord struct {
	Time          time.Time
	Protocol      string // "pop3" or "imap4"
	MailboxID     int64  // 0 when the user name matched no mailbox
	Username      string // as the client sent it
	Result        string // one of the Login* constants
	Reason        string
	RemoteAddr    string
	TLS           bool
	ClientName    string // from IMAP ID, when sent
	ClientVersion string
	// AuthMethod is how the client signed in: a SASL mechanism ("PLAIN",
	// "SCRAM-SHA-256", "XOAUTH2", ...), "LOGIN" (IMAP LOGIN) or "USER"
	// (POP3 USER/PASS); empty when unknown.
	AuthMethod string
	// AppPassword names the app password the client signed in with (""
	// for the mailbox's own password or a token); AppPasswordID is its ID,
	// through which a successful record sets its LastUsed.
	AppPassword   string
	AppPasswordID int64
}

// UsageRow is one mailbox in the email-apps usage report.
type UsageRow struct {
	MailboxID         int64
	UserPrincipalName string
	DisplayName       string
	LastPop           time.Time // last successful POP3 login in the period
	LastImap          time.Time
	PopLogins         int
	ImapLogins        int
	PopRefused        int // refused by policy: protocol disabled, security defaults, or plaintext without TLS
	ImapRefused       int
	// LastSmtp, SmtpLogins and SmtpRefused are the same for authenticated
	// SMTP (submission).
	LastSmtp    time.Time
	SmtpLogins  int
	SmtpRefused int
	Failed      int // wrong password attempts for this mailbox
}

// DailyActive is the number of mailboxes that logged in on one day.
type DailyActive struct {
	Day  time.Time // UTC midnight
	Pop  int
	Imap int
}

// Folder is one mail folder of a mailbox.
type Folder struct {
	ID            int64
	MailboxID     int64
	Name          string // hierarchy delimiter "/"; "INBOX" for the inbox
	SpecialUse    string // `\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, or ""
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      uint32
	Unseen        uint32
	Size          int64 // sum of message sizes (STATUS SIZE)
}

// Flags is the set of system flags of a message, as a bit mask.
type Flags uint8

// The system flags (RFC 9051 §2.3.2). \Recent is per session and not stored.
const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// MessageFlags is the mutable state of one message.
// RecentAppend is what AppendClaimingRecent stored and claimed.
type RecentAppend struct {
	UIDValidity, UID uint32
	// First and Next bound the UIDs claimed as \Recent: [First, Next).
	First, Next uint32
	// Changes, when not nil, is what Changes(folder, since) returns, read
	// after the commit in the same round trip; nil when the engine does
	// not read it with the write (the caller asks Changes itself).
	Changes *FolderChanges
}

// FolderChanges is what changed in a folder since a MODSEQ, as
// Mail.Changes returns it.
type FolderChanges struct {
	Folder   Folder
	Changed  []MessageFlags // UID order
	Expunged []uint32       // ascending
}

type MessageFlags struct {
	UID      uint32
	ModSeq   uint64
	Flags    Flags
	Keywords []string // sorted, as stored; nil when none
}

// MessageMeta is a message's metadata, without the body.
type MessageMeta struct {
	ID           int64 // unique in the store, never reused
	FolderID     int64
	UID          uint32
	ModSeq       uint64
	Flags        Flags
	Keywords     []string
	InternalDate time.Time
	// SaveDate is when the message was saved in its folder (RFC 8514):
	// append, delivery, COPY or MOVE.
	SaveDate time.Time
	Size     int64
	BodyID   int64
	// HasBinary is NewMessage.HasBinary, always read.
	HasBinary bool
	// Structure is the parse of the message made once at delivery
	// (package message encodes it): envelope, body structure and part offsets.
	Structure []byte
	// BodyPrefix holds the first bytes of the body (all of it when Size is
	// at most BodyPrefixSize), with MetaBodyPrefix; with MetaHeadPrefix
	// alone, the first HeadPrefixSize bytes.
	BodyPrefix []byte
	// Preview is the body's IMAP preview (RFC 8970), with MetaPreview, when
	// it was stored with the body (HasPreview): bodies stored before
	// previews were kept have none.
	Preview    string
	HasPreview bool
	Summary
}

// MetaFields selects optional parts of MessageMeta for Messages. The basic
// columns (ID, UID, MODSEQ, flags, keywords, internal date, size, body ID)
// are always read; the others cost a join per message, so ask only for what
// the command needs.
type MetaFields uint8

// The optional parts of MessageMeta.
const (
	MetaSummary MetaFields = 1 << iota
	MetaStructure
	// MetaBodyPrefix reads the first BodyPrefixSize bytes of the body with
	// the metadata, so that fetching a small message whole is one query.
	// Ask for it for a few messages at a time only.
	MetaBodyPrefix
	// MetaPreview reads the body's stored preview (Preview, HasPreview).
	MetaPreview
	// MetaHeadPrefix reads the first HeadPrefixSize bytes of the body: the
	// header of most messages and the whole of small ones, for a command
	// that reads many messages at once (a FETCH of headers for a message
	// list, a client downloading a folder), so that each message needs no
	// read of its own. MetaBodyPrefix, when also asked, wins.
	MetaHeadPrefix
)

// BodyPrefixSize is how much of a body MetaBodyPrefix reads.
const BodyPrefixSize = 64 << 10

// HeadPrefixSize is how much of a body MetaHeadPrefix reads.
const HeadPrefixSize = 16 << 10

// Summary holds decoded header fields kept in their own columns so that
// SEARCH and SORT on them never decode Structure.
type Summary struct {
	Subject  string
	From     string
	To       string
	Cc       string
	SentDate time.Time // the Date header; zero when absent or unparsable
}

// NewMessage is a message to append or deliver.
type NewMessage struct {
	Flags        Flags
	Keywords     []string
	InternalDate time.Time
	Raw          []byte // CRLF line ends
	Structure    []byte
	// Preview is the IMAP preview (message.Preview), stored with the body
	// when HasPreview is set.
	Preview    string
	HasPreview bool
	// HasBinary: a part has binary content (message.Message.HasBinary),
	// which IMAP presents base64-encoded; kept on the message's row.
	HasBinary bool
	Summary
}

// Delivered says where Deliver put the message for one mailbox.
type Delivered struct {
	MailboxID int64
	FolderID  int64
	UID       uint32
	ModSeq    uint64
}

// UIDRange is an inclusive range of UIDs.
type UIDRange struct{ Start, Stop uint32 }

// FlagOp says how StoreFlags combines the given flags with the present ones.
type FlagOp int

// The flag operations of STORE: FLAGS, +FLAGS, -FLAGS.
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
	// UnchangedSince, when non-zero, refuses messages whose MODSEQ is
	// greater (RFC 7162 UNCHANGEDSINCE).
	UnchangedSince uint64
}

// CopyResult reports a COPY or MOVE for RFC 4315 COPYUID.
type CopyResult struct {
	UIDValidity uint32 // of the destination
	SrcUIDs     []uint32
	DstUIDs     []uint32
	// Size is the octets copied (moved).
	Size int64
}

// RecentCopy is what CopyClaimingRecent copied, claimed and read.
type RecentCopy struct {
	CopyResult
	// First and Next bound the UIDs claimed as \Recent: [First, Next).
	First, Next uint32
	// Changes, when not nil, is what Changes(folder, since) returns, read
	// after the commit in the same round trip (as RecentAppend.Changes).
	Changes *FolderChanges
}

// FolderCounters are what a folder row keeps about its messages.
type FolderCounters struct {
	Messages, Unseen, Size int64
	UIDNext, HighestModSeq int64
}

// FolderRepair is a folder whose counters did not match its rows: Stored is
// what the row said, Actual what the rows say.
type FolderRepair struct {
	FolderID, MailboxID int64
	Name                string
	Stored, Actual      FolderCounters
}

// RepairReport is what Store.Repair found (and, when Fixed, set right).
type RepairReport struct {
	Checked int            // folders checked
	Wrong   []FolderRepair // folders whose counters did not match their rows
	// UnmarkedBodies counts stored bodies that no message references and
	// that were not marked for the sweep.
	UnmarkedBodies int64
	// SearchWordsMissing and SearchWordsExtra are what RepairSearchWords
	// found (Repair itself leaves them 0; `gatehouse repair` runs both).
	SearchWordsMissing, SearchWordsExtra int64
	Fixed                                bool
}

// OK reports whether nothing was wrong.
func (r RepairReport) OK() bool {
	return len(r.Wrong) == 0 && r.UnmarkedBodies == 0 && r.SearchWordsMissing == 0 && r.SearchWordsExtra == 0
}
