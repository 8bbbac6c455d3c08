package wire

import "time"

// The IMAP migration's resources and bodies (New-MigrationEndpoint -IMAP,
// New-MigrationBatch -CSVData, Get-MigrationUserStatistics, ...).

// MigrationEndpoint is what Get-MigrationEndpoint shows (GET
// /api/v1/migrationendpoints): an IMAP server mailboxes are moved from.
type MigrationEndpoint struct {
	Identity                string
	EndpointType            string
	RemoteServer            string
	Port                    int
	Security                string
	Authentication          string
	MaxConcurrentMigrations int
	// TrustedCertificates names the CA certificates the endpoint trusts
	// besides the system roots (subject and expiry), a Gatehouse
	// extension.
	TrustedCertificates []string
	WhenCreated         time.Time
}

// ServerAvailability answers Test-MigrationServerAvailability -IMAP (POST
// /api/v1/migrationserveravailability).
type ServerAvailability struct {
	Result       string // "Success" or "Failed"
	Message      string
	Capabilities []string
}

// MigrationBatch is what Get-MigrationBatch shows (GET
// /api/v1/migrationbatches): the batch's status and how many of its users
// are in each state.
type MigrationBatch struct {
	Identity           string
	Status             string
	MigrationType      string
	SourceEndpoint     string
	TotalCount         int
	ActiveCount        int
	SyncedCount        int
	FinalizedCount     int
	StoppedCount       int
	FailedCount        int
	ExcludedFolders    []string
	SubmittedByUser    string
	CreationDateTime   time.Time
	StartDateTime      time.Time
	LastSyncedDateTime time.Time
	FinalizedDateTime  time.Time
	Message            string
}

// MigrationUser is what Get-MigrationUser shows (GET
// /api/v1/migrationusers); Get-MigrationUserStatistics (GET
// /api/v1/migrationuserstatistics) adds the skipped items and folders.
type MigrationUser struct {
	Identity                       string
	BatchId                        string
	Status                         string
	UserName                       string
	TotalItemsInSourceMailboxCount int64
	ItemsSynced                    int64
	ItemsSkipped                   int64
	BytesTransferred               int64
	LastSuccessfulSyncTimestamp    time.Time
	ErrorSummary                   string
	SkippedItems                   []MigrationSkippedItem `json:",omitempty"`
	Folders                        []MigrationFolder      `json:",omitempty"`
}

// MigrationSkippedItem is a message not copied, and why.
type MigrationSkippedItem struct {
	Folder  string
	UID     uint32
	Subject string
	Size    int64
	Reason  string
}

// MigrationFolder is a source folder's progress.
type MigrationFolder struct {
	Folder        string
	UIDValidity   uint32
	LastUID       uint32
	HighestModSeq uint64
}

// NewMigrationEndpointBody is the body of POST /api/v1/migrationendpoints
// (New-MigrationEndpoint -IMAP). The properties but Name and RemoteServer
// are optional: Port 993 with Ssl (143 otherwise), Security Ssl,
// Authentication Basic and MaxConcurrentMigrations 20 by default.
type NewMigrationEndpointBody struct {
	Name                    string
	RemoteServer            string
	Port                    int    `json:",omitempty"`
	Security                string `json:",omitempty"`
	Authentication          string `json:",omitempty"`
	MaxConcurrentMigrations int    `json:",omitempty"`
	// TrustedCertificate is PEM CA certificates (base64 in JSON, as every
	// byte[] value) trusted besides the system roots: a Gatehouse
	// extension for an old server with a private CA.
	TrustedCertificate []byte `json:",omitempty"`
	SkipVerification   bool   `json:",omitempty"`
}

// SetMigrationEndpointBody is the body of PATCH
// /api/v1/migrationendpoints/{identity} (Set-MigrationEndpoint); what is
// left out stays. TrustedCertificate, when present, replaces the trusted
// CA certificates (an empty value trusts the system roots only again).
type SetMigrationEndpointBody struct {
	RemoteServer            *string `json:",omitempty"`
	Port                    *int    `json:",omitempty"`
	Security                *string `json:",omitempty"`
	MaxConcurrentMigrations *int    `json:",omitempty"`
	TrustedCertificate      *[]byte `json:",omitempty"`
	SkipVerification        bool    `json:",omitempty"`
}

// TestMigrationServerBody is the body of POST
// /api/v1/migrationserveravailability (Test-MigrationServerAvailability
// -IMAP).
type TestMigrationServerBody struct {
	RemoteServer string
	Port         int    `json:",omitempty"`
	Security     string `json:",omitempty"`
	// TrustedCertificate: PEM CA certificates trusted besides the system
	// roots, as NewMigrationEndpointBody's.
	TrustedCertificate []byte `json:",omitempty"`
	// UserName and Password, when given, are tried at the source.
	UserName string `json:",omitempty"`
	Password string `json:",omitempty"`
}

// NewMigrationBatchBody is the body of POST /api/v1/migrationbatches.
type NewMigrationBatchBody struct {
	Name           string
	SourceEndpoint string
	// CSVData is the CSV file (EmailAddress,UserName,Password), base64 in
	// JSON as every byte[] value.
	CSVData        []byte
	ExcludeFolders []string `json:",omitempty"`
	AutoStart      bool     `json:",omitempty"`
}
