package delivery

import (
	"context"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Submission turns a delivery server into a submission server (RFC 6409):
// clients sign in (RFC 4954), send as their own addresses only, and
// recipients that are not local go to the outbound queue. Local recipients
// take the very path of LMTP and SMTP (read, trace fields, spool, memory
// budget, Store.Deliver, notifications), which is why submission lives in
// this server rather than beside it; what a submission adds (sign-in, the
// sender rule, the queue) is package submission's, behind this interface,
// so that delivery never depends on the login backends.
type Submission interface {
	// Open starts the submission state of one connection.
	Open(c ConnInfo) SubmitSession
}

// ConnInfo is what a submission session knows of its connection.
type ConnInfo struct {
	RemoteAddr string // host:port
	// TLS reports whether the connection is under TLS now (after STARTTLS
	// or on an implicit-TLS listener).
	TLS func() bool
	// Kick ends the session: at once when it waits for a command, else when
	// its transaction ends; the client reads "421 4.7.0 reason". Safe from
	// any goroutine, never blocks.
	Kick func(reason string)
}

// SubmitSession is one connection's submission state. Its errors are sent
// as they are when they are *smtp.SMTPError.
type SubmitSession interface {
	// AuthMechanisms lists the SASL mechanisms offered now (none before
	// TLS from a remote address).
	AuthMechanisms() []string
	// Auth starts a SASL exchange.
	Auth(mech string) (sasl.Server, error)
	// Authenticated reports whether the client signed in.
	Authenticated() bool
	// Mail checks the envelope sender (530 before sign-in, 550 5.7.60 for
	// an address that is not the user's).
	Mail(from string) error
	// Message checks the message before anything of it is stored (the
	// From: field).
	Message(msg *store.NewMessage) error
	// Outbound says whether a recipient outside the organization may be
	// accepted (nil) or is refused at RCPT (an *smtp.SMTPError): with no
	// smarthost, mail for it could only wait in the queue until it expires.
	Outbound(to string) error
	// Enqueue stores the message for the recipients that are not local in
	// the outbound queue; nil only after commit.
	Enqueue(ctx context.Context, from string, rcpts []string, raw []byte) error
	// Close ends the session (signed out).
	Close()
}

// NewSubmission returns a submission server: SMTP with AUTH, the sender
// rule and the outbound queue of sub.
func NewSubmission(o Options, sub Submission) *Server {
	s := newServer(o, false)
	s.proto = "submission"
	s.sub = sub
	// The submission session decides per connection whether AUTH is
	// offered (TLS, or a loopback client): go-smtp's own rule knows only
	// TLS.
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = slogLogger{o.Logger.With("proto", s.proto)}
	return s
}

var (
	errAuthUnsupported = smtp.ErrAuthUnsupported
	errNoSubmission    = &smtp.SMTPError{Code: 502, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "AUTH is not offered here; use the submission port"}
)

// AuthMechanisms implements smtp.AuthSession: none on LMTP and inbound SMTP.
func (ss *session) AuthMechanisms() []string {
	if ss.sub == nil {
		return nil
	}
	return ss.sub.AuthMechanisms()
}

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.sub == nil {
		return nil, errNoSubmission
	}
	return ss.sub.Auth(mech)
}

var _ smtp.AuthSession = (*session)(nil)

// openSubmission starts the submission state of a new session.
func (ss *session) openSubmission(c *smtp.Conn) {
	tc := ss.tc
	ss.sub = ss.s.sub.Open(ConnInfo{
		RemoteAddr: ss.remote,
		TLS: func() bool {
			_, ok := c.TLSConnectionState()
			return ok
		},
		Kick: func(reason string) { tc.kick(reason) },
	})
}

// remoteRecipient reports whether a recipient that is no mailbox
// here is to go out through the queue: any address outside the
// organization's domain, for a signed-in client.
func (ss *session) remoteRecipient(to, orgDomain string) bool {
	if ss.sub == nil || !ss.sub.Authenticated() {
		return false
	}
	_, domain, ok := strings.Cut(to, "@")
	return ok && domain != "" && !strings.EqualFold(domain, orgDomain)
}

// stripReturnPath drops the Return-Path field read() put on top: only the
// final delivery adds one (RFC 5321 §4.4), not a message sent on.
func stripReturnPath(raw []byte) []byte {
	if !strings.HasPrefix(string(raw[:min(len(raw), 12)]), "Return-Path:") {
		return raw
	}
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] == '\r' && raw[i+1] == '\n' {
			return raw[i+2:]
		}
	}
	return raw
}
