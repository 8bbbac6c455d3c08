package wire

import "time"

// ErrorBody is the JSON of every error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Parameter string `json:"parameter,omitempty"`
}

// ResultBody is the JSON of a change.
type ResultBody struct {
	Identity   string
	Cmdlet     string
	Changes    []Change
	NoChange   bool
	Warning    string `json:",omitempty"`
	WhatIf     bool
	WhatIfText string `json:",omitempty"`
	// Sessions are the open sessions the change closed (or would close).
	Sessions []OpenSession
}

// Change is one modified property.
type Change struct {
	Name     string
	OldValue string
	NewValue string
}

// OpenSession is an open POP3 or IMAP4 session that a change closed, or
// would close.
type OpenSession struct {
	Mailbox    string
	Protocol   string // "POP3" or "IMAP4"
	RemoteAddr string
	Since      time.Time
}

// ListBody is one page of a listing.
type ListBody[T any] struct {
	Items   []T
	Total   int
	Offset  int
	More    bool
	Warning string `json:",omitempty"`
	// NextCursor is the continuation token of the next page when More:
	// ask again with ?cursor=NextCursor (the same filter and sort) to go
	// on where this page ended. The Link header (rel="next") holds the
	// same request as a URL.
	NextCursor string `json:",omitempty"`
}

// SignInRequest is the body of POST /api/v1/session.
type SignInRequest struct {
	UserName string
	Password string
}

// SignInResponse answers a sign-in.
type SignInResponse struct {
	Token             string
	ExpiresAt         time.Time
	UserPrincipalName string
	DisplayName       string
	RoleGroups        []string
	Roles             []string
}

// Me describes the signed-in administrator.
type Me struct {
	UserPrincipalName string
	DisplayName       string
	RoleGroups        []string
	Roles             []string
}
