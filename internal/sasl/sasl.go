// Package sasl holds the server side of the SASL mechanisms (RFC 4422) that
// every Gatehouse protocol server offers: PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login), SCRAM-SHA-256 (RFC 5802, RFC 7677), XOAUTH2
// (Google's format) and OAUTHBEARER (RFC 7628).
//
// It is the wire half only: a mechanism parses the client's responses,
// builds its challenges and hands what the client proved or claimed to an
// Authenticator as a Credential. Checking it (passwords, SCRAM keys, bearer
// tokens, the access rule, the login record) is the Authenticator's job, so
// this package imports nothing of Gatehouse and the protocol engines (IMAP4,
// POP3, SMTP submission) may all use it. Each mechanism is a go-sasl
// sasl.Server, the shape go-smtp's AuthSession wants.
//
// Base64 framing is the protocol's job (IMAP "+ ", POP3 "+ ", SMTP "334"):
// Next takes and returns raw octets. A nil response means the client sent
// no initial response. Errors returned by Next are of three kinds: a
// *ProtocolError for a malformed exchange (the engine answers BAD / -ERR
// and the session goes on), ErrAuthzid for an authorization identity other
// than the user, and whatever the Authenticator returned, unchanged but for
// the *InvalidCredentials wrapper.
//
// Mechanisms never log; passwords, proofs and tokens stay in the Credential.
package sasl

import (
	"context"
	"errors"
	"fmt"

	gosasl "github.com/emersion/go-sasl"
)

// Mechanism names (RFC 4422 §3.1: upper case).
const (
	Plain       = "PLAIN"
	Login       = "LOGIN"
	ScramSHA256 = "SCRAM-SHA-256"
	XOAuth2     = "XOAUTH2"
	OAuthBearer = "OAUTHBEARER"
)

// Server is a go-sasl server-side mechanism.
type Server = gosasl.Server

// Credential is what a mechanism collected from the client.
type Credential struct {
	// Mechanism is the SASL mechanism name.
	Mechanism string
	// Username is the authentication identity the client gave (PLAIN,
	// LOGIN, SCRAM), or the user it named beside a token (XOAUTH2 "user=",
	// OAUTHBEARER "a="; may be empty there: the token names the mailbox).
	Username string
	// Password is set by PLAIN and LOGIN.
	Password string
	// Token is the bearer token of XOAUTH2 and OAUTHBEARER.
	Token string
	// SCRAM is set by SCRAM-SHA-256.
	SCRAM *SCRAMProof
}

// Basic reports whether the credential is a password-based one (Exchange's
// "basic authentication": PLAIN, LOGIN, SCRAM), as opposed to an OAuth
// token.
func (c *Credential) Basic() bool {
	return c.Token == "" && c.Mechanism != XOAuth2 && c.Mechanism != OAuthBearer
}

// SCRAMProof is the client's proof of a SCRAM exchange (RFC 5802 §3).
type SCRAMProof struct {
	// AuthMessage is client-first-message-bare "," server-first-message ","
	// client-final-message-without-proof.
	AuthMessage []byte
	// ClientProof is ClientKey XOR ClientSignature, as the client sent it.
	ClientProof []byte
	// ServerSignature is set by the Authenticator when the proof holds:
	// HMAC(ServerKey, AuthMessage), sent back in the server-final-message
	// so that the client knows the server holds the keys.
	ServerSignature []byte
}

// Authenticator checks credentials. Protocol engines implement it over
// their backend's login.
type Authenticator interface {
	// Authenticate checks a credential and, when it holds, signs the user
	// in. A refused credential (wrong password, bad token) should be
	// returned as *InvalidCredentials so that the OAuth mechanisms can send
	// their error challenge first (RFC 7628 §3.2.2); a refusal after the
	// credential was proved (protocol disabled, policy) is returned as is.
	Authenticate(ctx context.Context, c *Credential) error
}

// SCRAMLookup is implemented by an Authenticator that offers SCRAM. It
// returns the salt and iteration count for a user. For a user that does not
// exist or has no SCRAM keys it must still answer, with parameters that do
// not tell (RFC 5802 §5.1: "a fake salt"), and let Authenticate refuse the
// proof.
type SCRAMLookup interface {
	SCRAMParams(ctx context.Context, username string) (salt []byte, iterations int, err error)
}

// ProtocolError is a malformed exchange: the engine answers with its
// protocol error (IMAP BAD, POP3 -ERR) and the session goes on.
type ProtocolError struct{ Text string }

func (e *ProtocolError) Error() string { return e.Text }

func protoErr(format string, args ...any) *ProtocolError {
	return &ProtocolError{Text: fmt.Sprintf(format, args...)}
}

// ErrAuthzid refuses an authorization identity other than the user:
// Gatehouse has no proxy authorization.
var ErrAuthzid = errors.New("authorization identity must match the user")

// ErrUnsupported is returned by New for a mechanism this package does not
// have.
var ErrUnsupported = errors.New("unsupported authentication mechanism")

// InvalidCredentials wraps the error of a refused credential.
type InvalidCredentials struct{ Err error }

func (e *InvalidCredentials) Error() string { return e.Err.Error() }
func (e *InvalidCredentials) Unwrap() error { return e.Err }

// unwrapInvalid returns the error inside an *InvalidCredentials, so that
// engines see the Authenticator's own error.
func unwrapInvalid(err error) error {
	var ic *InvalidCredentials
	if errors.As(err, &ic) {
		return ic.Err
	}
	return err
}

// New returns a fresh server for one exchange of mechanism mech (case
// insensitive). ctx is passed on to the Authenticator.
func New(ctx context.Context, mech string, a Authenticator) (Server, error) {
	switch upper(mech) {
	case Plain:
		return &plainServer{ctx: ctx, a: a}, nil
	case Login:
		return &loginServer{ctx: ctx, a: a}, nil
	case ScramSHA256:
		l, ok := a.(SCRAMLookup)
		if !ok {
			return nil, ErrUnsupported
		}
		return &scramServer{ctx: ctx, a: a, lookup: l}, nil
	case XOAuth2:
		return &oauthServer{ctx: ctx, a: a, mech: XOAuth2}, nil
	case OAuthBearer:
		return &oauthServer{ctx: ctx, a: a, mech: OAuthBearer}, nil
	}
	return nil, ErrUnsupported
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
