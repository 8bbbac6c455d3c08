package wire

import "time"

// AppPassword is what Get-AppPassword shows of one app password (GET
// /api/v1/mailboxes/{identity}/apppasswords): never its secret.
type AppPassword struct {
	// Identity is "<mailbox>\<name>".
	Identity string
	Mailbox  string
	Name     string
	// WhenCreated is when it was made; LastUsed the last successful sign-in
	// with it (absent: never), over LastUsedProtocol ("IMAP4", "POP3",
	// "Authenticated SMTP") from LastUsedAddress.
	WhenCreated      time.Time
	LastUsed         *time.Time `json:",omitempty"`
	LastUsedProtocol string
	LastUsedAddress  string
}

// NewAppPasswordBody is the body of POST
// /api/v1/mailboxes/{identity}/apppasswords.
type NewAppPasswordBody struct {
	Name string
}

// NewAppPasswordResponse answers New-AppPassword: Password is the secret,
// shown this once (empty for a WhatIf); the server keeps only its hash.
type NewAppPasswordResponse struct {
	AppPassword AppPassword
	Password    string
	Result      ResultBody
}
