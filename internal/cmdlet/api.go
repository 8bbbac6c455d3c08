package cmdlet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// API is what the Exchange cmdlets need from a Gatehouse server. client.Client
// implements it over the REST API (the shell is a REST client:
// docs/ARCHITECTURE.md); tests may implement it directly. Paths are relative
// to /api/v1, e.g. "casmailboxes/Christa%20Knapp".
type API interface {
	// List reads a collection page by page and calls each for every
	// object, up to limit objects (Unlimited: all); each may return an
	// error (Stop) to end early.
	List(ctx context.Context, path string, q url.Values, limit int64, each func(*Object) error) error
	// Get reads one object (or a report).
	Get(ctx context.Context, path string, q url.Values) (*Object, error)
	// Create posts to a collection and returns the answer.
	Create(ctx context.Context, path string, q url.Values, body *Object) (*Object, error)
	// Update changes the properties in body.
	Update(ctx context.Context, path string, body *Object, whatIf bool) (*UpdateResult, error)
	// UpdateMany changes many objects of one collection, as one request
	// where the server offers it. Results come back in the order of items.
	UpdateMany(ctx context.Context, collection string, items []BulkItem, whatIf bool) []BulkResult
	// Delete removes an object.
	Delete(ctx context.Context, path string, whatIf bool) (*UpdateResult, error)
	// Server names the server.
	Server() string
}

// UpdateResult is the outcome of a change: the API's ResultBody.
type UpdateResult struct {
	// Identity names the object changed, as the server resolved it.
	Identity string
	// Unchanged is set when the change changed nothing; Warning is then
	// Exchange's "no settings of '<name>' have been modified".
	Unchanged bool
	Warning   string
	// WhatIf describes what would change and which open sessions would be
	// closed, for -WhatIf.
	WhatIf *WhatIfReport
}

// WhatIfReport is the server's answer to a change asked with WhatIf.
type WhatIfReport struct {
	Changes  []PropertyChange
	Sessions []SessionImpact
	// Text is the server's own wording (without "What if: "), when given.
	Text string
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

// APIMessage is the text a cmdlet shows for an API error: the server's
// message, which carries Exchange's wording for not found, ambiguous
// identity and permission errors.
func APIMessage(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Code == "InvalidFilter" && !strings.HasPrefix(ae.Message, "Cannot bind parameter") {
			// as Exchange words a filter it refuses
			return opath.BindMessage("Filter", errors.New(ae.Message))
		}
		return ae.Error()
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

// ClientOptions configures the REST client (package client): the shell
// starts with them and Connect-ExchangeOnline signs in with them.
type ClientOptions struct {
	Server     string // http://127.0.0.1:8080, https://mail.contoso.com:8080
	User       string
	Password   string
	HTTPClient *http.Client // nil: a client with sensible timeouts and the TLS settings below
	// CAFile names PEM certificates to trust for https:// instead of the
	// system's; Fingerprint pins the server's certificate by its SHA-256
	// fingerprint instead (hex, colons optional: what gatehouse serve prints
	// for its self-signed certificate). Give one at most.
	CAFile      string
	Fingerprint string
	// AllowInsecure lets the client send the password over plain http://
	// to a host other than loopback.
	AllowInsecure bool
}
