package pop3

import (
	"context"
	"errors"

	"github.com/gatehouse-mail/gatehouse/internal/sasl"
)

// Backend authenticates a user and opens that user's maildrop. It is the
// only thing the server needs from the rest of Gatehouse.
type Backend interface {
	// Login checks the credentials, decides whether the mailbox may use
	// POP3 and locks its maildrop (RFC 1939 §4: the lock is taken once the
	// user is authenticated). A refusal should be an *Error carrying the
	// response code and text the client sees; any other error is answered
	// with [SYS/TEMP] and logged.
	Login(ctx context.Context, req LoginRequest) (Maildrop, error)
}

// RefusalRecorder may be implemented by a Backend to hear of the login
// attempts the server refuses by itself, before Login (USER or AUTH PLAIN
// in plaintext from a remote address), so that every attempt reaches the
// backend's record. Password is always empty; Username is empty when the
// client did not send one before the refusal.
type RefusalRecorder interface {
	LoginRefused(ctx context.Context, req LoginRequest)
}

// MechanismLister may be implemented by a Backend to list the SASL
// mechanisms it can check (package sasl's names), in the order they are
// advertised. Without it the server offers PLAIN and LOGIN.
type MechanismLister interface {
	Mechanisms() []string
}

// SCRAMLookup is implemented by a Backend that offers SCRAM-SHA-256; see
// sasl.SCRAMLookup.
type SCRAMLookup interface {
	SCRAMParams(ctx context.Context, username string) (salt []byte, iterations int, err error)
}

// LoginRequest is one login attempt, by USER/PASS or AUTH.
type LoginRequest struct {
	// Username is the name the client gave; with a token it may be empty
	// (the token names the mailbox).
	Username string
	Password string
	// Mechanism is how the client signs in: "USER" for USER/PASS, else the
	// SASL mechanism of AUTH (package sasl's names).
	Mechanism string
	// Token is the bearer token of XOAUTH2 and OAUTHBEARER.
	Token string
	// SCRAM is the proof of SCRAM-SHA-256; the backend sets its
	// ServerSignature when the proof holds.
	SCRAM      *sasl.SCRAMProof
	RemoteAddr string // host:port of the client
	TLS        bool   // whether the connection is encrypted (implicit TLS or STLS)
	// Kick ends the session from outside, for example when an administrator
	// disables POP3 for the mailbox. It may be called from any goroutine, at
	// any time, any number of times; it never blocks. The session answers its
	// next command with "-ERR [SYS/PERM] reason" and closes without entering
	// the UPDATE state, so no message marked with DELE is removed.
	Kick func(reason string)
}

// Maildrop is the locked INBOX of one session. Its message list is fixed
// at login (RFC 1939 §5: message numbers do not change during a session).
// The server calls its methods from the session's goroutine only.
type Maildrop interface {
	// Messages returns the messages in the order of their message numbers
	// (number n is Messages()[n-1]). The server does not modify the slice.
	Messages() []Message
	// ReadBody reads up to len(p) octets of message i (an index into
	// Messages) at offset off, like io.ReaderAt. The octets are the message
	// as RETR sends it before dot-stuffing: CRLF line ends, Size in all.
	ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error)
	// Delete removes the given messages (indexes into Messages) at once, in
	// one transaction. It is called at most once, on QUIT in the
	// TRANSACTION state, and only when some message was marked deleted.
	Delete(ctx context.Context, msgs []int) error
	// Close releases the maildrop lock and everything the login registered.
	// It is called exactly once, when the session ends for any reason.
	Close()
}

// Message is one message of the maildrop as listed at login.
type Message struct {
	// Size is the exact number of octets RETR sends for the message before
	// dot-stuffing (RFC 1939 §5 LIST: "the exact size of the message").
	Size int64
	// UID is the unique-id listing of UIDL (RFC 1939 §7): 1 to 70 characters
	// in the range 0x21 to 0x7E, unique in the maildrop and never reused.
	UID string
}

// Response codes (RFC 2449 §8, RFC 3206).
const (
	CodeAuth       = "AUTH"        // RFC 3206 §5: the credentials are the problem
	CodeSysTemp    = "SYS/TEMP"    // RFC 3206 §4: a temporary system problem
	CodeSysPerm    = "SYS/PERM"    // RFC 3206 §4: a permanent problem; do not retry
	CodeInUse      = "IN-USE"      // RFC 2449 §8.1.1: the maildrop is locked
	CodeLoginDelay = "LOGIN-DELAY" // RFC 2449 §8.1.2: logging in too often
)

// Error is a refusal with a POP3 response code and a text for the client,
// answered as "-ERR [Code] Text" (or "-ERR Text" when Code is empty).
// Err is the cause, for logs only.
type Error struct {
	Code string
	Text string
	Err  error
}

func (e *Error) Error() string {
	s := e.Text
	if e.Code != "" {
		s = "[" + e.Code + "] " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("pop3: server closed")
