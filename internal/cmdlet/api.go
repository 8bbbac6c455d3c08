package cmdlet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// API is what the Exchange cmdlets need from a Gatehouse server. *Client
// implements it over the REST API (DESIGN §2, issue 5 item 8); tests may
// implement it directly. Paths are relative to /api/v1, e.g.
// "casmailboxes/Christa%20Knapp".
type API interface {
	// List reads a collection, following pages, up to limit objects
	// (Unlimited: all).
	List(ctx context.Context, path string, q url.Values, limit int64) ([]*Object, error)
	// Get reads one object.
	Get(ctx context.Context, path string) (*Object, error)
	// Create creates an object in a collection and returns it.
	Create(ctx context.Context, path string, body *Object) (*Object, error)
	// Update changes the properties in body.
	Update(ctx context.Context, path string, body *Object, whatIf bool) (*UpdateResult, error)
	// UpdateMany changes many objects of one collection, as one request
	// where the server offers it. Results come back in the order of items.
	UpdateMany(ctx context.Context, collection string, items []BulkItem, whatIf bool) []BulkResult
	// Delete removes an object.
	Delete(ctx context.Context, path string, whatIf bool) (*UpdateResult, error)
	// Server names the server, for Exchange's "couldn't be found on
	// '<server>'" message.
	Server() string
}

// UpdateResult is the outcome of a change.
type UpdateResult struct {
	// Object is the object after the change (or as it would be, with
	// WhatIf), when the server returns it.
	Object *Object
	// Unchanged is set when the change changed nothing (Exchange then
	// warns "no settings of '<name>' have been modified").
	Unchanged bool
	// WhatIf describes what would change and which open sessions would be
	// closed, for -WhatIf.
	WhatIf *WhatIfReport
}

// WhatIfReport is the server's answer to a change asked with WhatIf.
type WhatIfReport struct {
	Target   string
	Changes  []PropertyChange
	Sessions []SessionImpact
	// Text is the server's own wording, when it gives one.
	Text []string
}

// PropertyChange is one property that would change.
type PropertyChange struct {
	Property string
	OldValue any
	NewValue any
}

// SessionImpact counts open sessions a change would close.
type SessionImpact struct {
	Protocol string
	Count    int64
}

// BulkItem is one change of UpdateMany.
type BulkItem struct {
	Identity string
	Changes  *Object
}

// BulkResult is the outcome of one BulkItem.
type BulkResult struct {
	UpdateResult
	Err error
}

// APIError is an error answer of the REST API: {"error": {"code", "message"}}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("The server answered %d %s.", e.Status, e.Code)
}

// ErrNotConnected is returned when no server is configured.
var ErrNotConnected = errors.New("not connected to a Gatehouse server")

// apiMessage is the text a cmdlet shows for an API error: the server's
// message, which carries Exchange's wording for not found, ambiguous
// identity and permission errors.
func apiMessage(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

// escapeSegment escapes an identity for use as one path segment.
func escapeSegment(s string) string { return url.PathEscape(s) }
