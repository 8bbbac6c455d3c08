package store

import (
	"context"
	"time"
)

// Migration batch and user states, as Exchange names them
// (Get-MigrationBatch Status, Get-MigrationUser Status).
const (
	MigrationCreated    = "Created"
	MigrationSyncing    = "Syncing"
	MigrationSynced     = "Synced"
	MigrationStopped    = "Stopped"
	MigrationCompleting = "Completing"
	MigrationCompleted  = "Completed"
	MigrationFailed     = "Failed"
)

// MigrationEndpoint is a source server of IMAP migration
// (New-MigrationEndpoint -IMAP).
type MigrationEndpoint struct {
	ID                      int64
	Name                    string
	EndpointType            string // "IMAP"
	RemoteServer            string
	Port                    int
	Security                string // "Ssl", "Tls" (STARTTLS) or "None"
	Authentication          string // "Basic"
	MaxConcurrentMigrations int
	// TrustedCertificates are PEM CA certificates the endpoint's TLS
	// trusts besides the system roots (a Gatehouse extension); empty:
	// the system roots only.
	TrustedCertificates []byte
	WhenCreated         time.Time
}

// MigrationBatch is one IMAP migration batch (New-MigrationBatch).
type MigrationBatch struct {
	ID             int64
	Name           string
	EndpointID     int64
	Status         string
	ExcludeFolders []string
	CreatedBy      string
	WhenCreated    time.Time
	StartTime      time.Time // zero: never started
	LastSyncedTime time.Time // end of the last sync of every user
	CompletedTime  time.Time
	Error          string
}

// MigrationUser is one mailbox of a batch (Get-MigrationUser) with its
// progress (Get-MigrationUserStatistics).
type MigrationUser struct {
	ID           int64
	BatchID      int64
	MailboxID    int64
	EmailAddress string
	UserName     string // the source login, "admin*user" for a master user
	// Secret is the source password, sealed (AES-GCM) by the caller; nil
	// once the batch is completed.
	Secret []byte
	Status string
	// ItemsTotal is the number of messages at the source when the last
	// sync started (the progress bars' whole).
	ItemsTotal       int64
	ItemsSynced      int64
	ItemsSkipped     int64
	BytesTransferred int64
	LastSyncTime     time.Time
	Error            string
}

// MigrationFolder is the progress of one source folder of a user.
type MigrationFolder struct {
	SourceName    string // the folder's name at the source, decoded, "/"-separated
	FolderID      int64  // the Gatehouse folder it is copied into
	UIDValidity   uint32
	LastUID       uint32 // every source UID up to here is copied or skipped
	HighestModSeq uint64 // flag changes up to here are applied (CONDSTORE)
}

// MigratedMessage is one source message to copy.
type MigratedMessage struct {
	SourceUID uint32
	Hash      string // hex SHA-256 of Msg.Raw
	Msg       NewMessage
}

// MigrationSkippedItem is a source message not copied, and why.
type MigrationSkippedItem struct {
	SourceName  string
	UIDValidity uint32
	SourceUID   uint32
	Size        int64
	Subject     string
	Reason      string
	When        time.Time
}

// MigrationCopy is one step of a user's copy: messages of one source
// folder, the messages skipped, and the progress they bring the folder
// to; MigrationStore.CopyMigrated writes them in one transaction.
type MigrationCopy struct {
	UserID   int64
	Folder   MigrationFolder
	Messages []MigratedMessage
	Skipped  []MigrationSkippedItem
	// Retry says that Messages were skipped before (over quota) and are
	// tried again: each one copied leaves the skipped list, and the
	// user's skipped count goes down as its synced count goes up.
	Retry bool
}

// MigrationCopied is what CopyMigrated did.
type MigrationCopied struct {
	Appended int   // messages added to the folder
	Deduped  int   // messages found already copied under an older UIDVALIDITY
	Bytes    int64 // size of the appended messages
}

// MigrationTx holds the migration objects inside a directory transaction
// (the service layer's reads and changes).
type MigrationTx interface {
	// InsertMigrationEndpoint sets e.ID; ErrExists when the name is taken.
	InsertMigrationEndpoint(ctx context.Context, e *MigrationEndpoint) error
	// MigrationEndpoints lists the endpoints by name (case-insensitive),
	// after the name after ("" from the start), at most limit (0: all).
	MigrationEndpoints(ctx context.Context, after string, limit int) ([]MigrationEndpoint, error)
	// MigrationEndpoint finds one by name (case-insensitive) or ID.
	MigrationEndpoint(ctx context.Context, name string, id int64) (MigrationEndpoint, error)
	// UpdateMigrationEndpoint writes RemoteServer, Port, Security,
	// MaxConcurrentMigrations and TrustedCertificates (Set-MigrationEndpoint).
	UpdateMigrationEndpoint(ctx context.Context, e MigrationEndpoint) error
	// DeleteMigrationEndpoint returns ErrInvalid while a batch uses it.
	DeleteMigrationEndpoint(ctx context.Context, id int64) error

	// InsertMigrationBatch creates the batch and its users (each user's
	// ID and BatchID are set); ErrExists when the name is taken or a
	// mailbox is already in a batch.
	InsertMigrationBatch(ctx context.Context, b *MigrationBatch, users []MigrationUser) error
	// MigrationBatches lists the batches by name (case-insensitive),
	// after the name after ("" from the start), at most limit (0: all).
	MigrationBatches(ctx context.Context, after string, limit int) ([]MigrationBatch, error)
	// MigrationBatch finds one by name (case-insensitive) or ID.
	MigrationBatch(ctx context.Context, name string, id int64) (MigrationBatch, error)
	// UpdateMigrationBatch writes Status, the times and Error.
	UpdateMigrationBatch(ctx context.Context, b MigrationBatch) error
	// DeleteMigrationBatch removes the batch, its users and their progress
	// (the copied mail stays).
	DeleteMigrationBatch(ctx context.Context, id int64) error

	// MigrationUsers lists the users of a batch (0: of every batch) in
	// email address order, after the address after ("" from the start),
	// at most limit (0: all).
	MigrationUsers(ctx context.Context, batchID int64, after string, limit int) ([]MigrationUser, error)
	// MigrationUserByMailbox finds the user of a mailbox.
	MigrationUserByMailbox(ctx context.Context, mailboxID int64) (MigrationUser, error)
	// SetMigrationUserStatus writes Status, Error and (when not zero)
	// LastSyncTime.
	SetMigrationUserStatus(ctx context.Context, u MigrationUser) error
	// SetMigrationUserTotal records how many messages the source holds.
	SetMigrationUserTotal(ctx context.Context, id, total int64) error
	// ClearMigrationSecrets forgets the source passwords of a batch's
	// users (Complete-MigrationBatch).
	ClearMigrationSecrets(ctx context.Context, batchID int64) error
	// MigrationFolders returns a user's folder progress by source name.
	MigrationFolders(ctx context.Context, userID int64) ([]MigrationFolder, error)
	// SetMigrationFolder writes one folder's progress.
	SetMigrationFolder(ctx context.Context, userID int64, f MigrationFolder) error
	// MigrationSkipped lists a user's skipped items in folder, UID order.
	MigrationSkipped(ctx context.Context, userID int64) ([]MigrationSkippedItem, error)
	// MigratedUIDs maps source UIDs of one folder generation to the UIDs
	// of their copies; UIDs not copied are absent.
	MigratedUIDs(ctx context.Context, userID int64, sourceName string, uidValidity uint32, uids []uint32) (map[uint32]uint32, error)
}

// MigrationStore holds the writes of the copy engine and of the import from
// disk: mail and its progress in one transaction.
type MigrationStore interface {
	// CopyMigrated appends c.Messages to c.Folder.FolderID (a message whose
	// hash was copied from the same source folder under another
	// UIDVALIDITY, and not yet claimed by this one, is mapped to that copy
	// instead), records c.Skipped, writes c.Folder as the folder's
	// progress and adds to the user's counters, all in one transaction.
	// The quota is checked as Append does: ErrOverQuota stores nothing.
	CopyMigrated(ctx context.Context, c MigrationCopy) (MigrationCopied, error)
	// ImportMessage appends msg to the folder unless key was imported into
	// the mailbox before (then it returns false), and records key, in one
	// transaction.
	ImportMessage(ctx context.Context, mailboxID, folderID int64, key string, msg NewMessage) (bool, error)
}
