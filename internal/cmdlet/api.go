package cmdlet

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// API is the session's connection to a Gatehouse server: the REST client
// of package client, whose typed methods (with the request and answer
// types of internal/api/wire) the Exchange cmdlets call. The interpreter
// needs only to know whether there is one (cmdlets marked NeedsServer
// fail without it) and the server's name for its messages.
type API interface {
	// Server names the server.
	Server() string
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
