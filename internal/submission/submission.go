// Package submission is what SMTP submission (RFC 6409, ports 587 and 465)
// adds to the delivery server: sign-in with AUTH (RFC 4954) by every
// mechanism of package sasl (PLAIN, LOGIN, SCRAM-SHA-256, and XOAUTH2 and
// OAUTHBEARER when an OAuth issuer is configured) through the one login flow (backend.Logins, protocol access.SMTP, so the
// per-mailbox switch SmtpClientAuthenticationDisabled, security defaults,
// throttling and login records apply as for POP3 and IMAP4), the sender
// rule (the envelope sender and every From: address are the signed-in
// mailbox's), the outbound queue for recipients that are not local, and
// the queue runner that sends them to the smarthost (runner.go).
//
// Local recipients are delivered by package delivery exactly as LMTP
// delivers (delivery.NewSubmission).
package submission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	gosasl "github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/delivery"
	"github.com/gatehouse-mail/gatehouse/internal/sasl"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Options configure submission.
type Options struct {
	Logins *backend.Logins
	Store  store.Store
	// AllowInsecureAuth offers AUTH without TLS to every client; without
	// it only loopback clients may sign in before STARTTLS (the rule of
	// IMAP4 and POP3).
	AllowInsecureAuth bool
	// QueueLifetime is how long a message may wait in the queue before
	// its sender gets a failure notice (DefaultQueueLifetime when 0).
	QueueLifetime time.Duration
	// Queued, when set, is called after a message was queued (the runner's
	// Wake).
	Queued func()
	// Smarthost is the next hop of mail for recipients outside the
	// organization; without one such recipients are refused at RCPT.
	Smarthost string
	Logger    *slog.Logger
}

// DefaultQueueLifetime is Exchange's MessageExpirationTimeout (2 days).
const DefaultQueueLifetime = 48 * time.Hour

// Submission implements delivery.Submission.
type Submission struct{ o Options }

// New returns the submission part of a submission server.
func New(o Options) *Submission {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueLifetime <= 0 {
		o.QueueLifetime = DefaultQueueLifetime
	}
	return &Submission{o: o}
}

var _ delivery.Submission = (*Submission)(nil)

// Open implements delivery.Submission.
func (s *Submission) Open(c delivery.ConnInfo) delivery.SubmitSession {
	return &session{s: s, c: c}
}

// The answers of submission (RFC 4954 §6, RFC 3463, Exchange's texts where
// it has them).
var (
	errAuthRequired   = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required; sign in with AUTH first"}
	errInvalid        = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication unsuccessful, invalid credentials"}
	errEncryption     = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism; use STARTTLS first"}
	errTempAuth       = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure, try again later"}
	errAlreadySigned  = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Already authenticated"}
	errAuthzid        = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication unsuccessful, an authorization identity other than the user is not supported"}
	errNoFrom         = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The message has no valid From: field"}
	errUnknownMech    = smtp.ErrAuthUnknownMechanism
	errSyntax         = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Malformed authentication data"}
	errNullSenderSays = "the null sender <> is for delivery status notifications, which users do not send"
)

// loginError maps an error of the login flow to its answer: the one place
// that decides it.
func loginError(err error) error {
	var denied *access.Denied
	var throttled *backend.ThrottledError
	switch {
	case errors.Is(err, backend.ErrInvalidCredentials):
		return errInvalid
	case errors.As(err, &denied):
		// Exchange Online: 535 5.7.139 Authentication unsuccessful,
		// SmtpClientAuthentication is disabled for the Mailbox/Tenant.
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: denied.Text()}
	case errors.As(err, &throttled):
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure: " + throttled.Error()}
	}
	return errTempAuth
}

// sendAsDenied is Exchange's refusal of a sender that is not the user's
// (550 5.7.60 SendAsDenied), with the addresses named.
func sendAsDenied(user, addr, where string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 60},
		Message: fmt.Sprintf("SMTP; Client does not have permissions to send as this sender: %s is not allowed to send as %s (%s)", user, addr, where)}
}

type session struct {
	s      *Submission
	c      delivery.ConnInfo
	signed *backend.Session
	user   string
}

func (ss *session) plaintextAllowed() bool {
	return ss.s.o.AllowInsecureAuth || ss.c.TLS() || isLoopback(ss.c.RemoteAddr)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AuthMechanisms implements delivery.SubmitSession: AUTH is not offered
// before TLS to a remote client, so that no client sends a password in the
// clear by mistake.
func (ss *session) AuthMechanisms() []string {
	if !ss.plaintextAllowed() {
		return nil
	}
	return ss.s.o.Logins.Mechanisms()
}

// Auth implements delivery.SubmitSession: every mechanism of package sasl,
// each ending in the one login flow (so an authentication policy's
// AllowBasicAuthSmtp applies to PLAIN, LOGIN and SCRAM-SHA-256, never to a
// token).
func (ss *session) Auth(mech string) (gosasl.Server, error) {
	if ss.signed != nil {
		return nil, errAlreadySigned
	}
	if !ss.plaintextAllowed() {
		ss.s.o.Logins.RefusedPlaintext(context.Background(), backend.LoginRequest{Protocol: access.SMTP,
			RemoteAddr: ss.c.RemoteAddr, TLS: ss.c.TLS()})
		return nil, errEncryption
	}
	mech = strings.ToUpper(mech)
	if !slices.Contains(ss.s.o.Logins.Mechanisms(), mech) {
		return nil, errUnknownMech
	}
	srv, err := sasl.New(context.Background(), mech, submitAuth{ss})
	if err != nil {
		return nil, errUnknownMech
	}
	return smtpReplies{srv}, nil
}

// submitAuth is the sasl.Authenticator of one AUTH: the credential goes to
// the login flow, and a signed-in session is kept.
type submitAuth struct{ ss *session }

var (
	_ sasl.Authenticator = submitAuth{}
	_ sasl.SCRAMLookup   = submitAuth{}
)

// Authenticate implements sasl.Authenticator.
func (a submitAuth) Authenticate(ctx context.Context, cr *sasl.Credential) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ss := a.ss
	sess, err := ss.s.o.Logins.Login(ctx, backend.LoginRequest{Protocol: access.SMTP, Username: cr.Username, Password: cr.Password,
		Mechanism: cr.Mechanism, Token: cr.Token, SCRAM: cr.SCRAM, RemoteAddr: ss.c.RemoteAddr, TLS: ss.c.TLS(), Kick: ss.c.Kick})
	if err != nil {
		if errors.Is(err, backend.ErrInvalidCredentials) {
			// The OAuth mechanisms send their error challenge first
			// (RFC 7628 §3.2.2).
			return &sasl.InvalidCredentials{Err: loginError(err)}
		}
		ss.s.o.Logger.Info("submission sign-in refused", "remote", ss.c.RemoteAddr, "mech", cr.Mechanism, "err", err)
		return loginError(err)
	}
	ss.signed, ss.user = sess, cr.Username
	if ss.user == "" {
		ss.user = sess.Mailbox.PrimarySmtpAddress // a token named the mailbox
	}
	return nil
}

// SCRAMParams implements sasl.SCRAMLookup.
func (a submitAuth) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	return a.ss.s.o.Logins.SCRAMParams(ctx, username)
}

// smtpReplies gives go-smtp the answer of a failed exchange as an
// *smtp.SMTPError, which go-smtp sends as it is (any other error becomes
// a 454 with the error's text): a malformed exchange is 501 5.5.2, an
// authorization identity other than the user 535 5.7.8, and the login
// flow's refusals their own codes (loginError).
type smtpReplies struct{ srv gosasl.Server }

func (r smtpReplies) Next(response []byte) ([]byte, bool, error) {
	chal, done, err := r.srv.Next(response)
	if err == nil {
		return chal, done, nil
	}
	var se *smtp.SMTPError
	var pe *sasl.ProtocolError
	switch {
	case errors.As(err, &se):
		return chal, done, se
	case errors.As(err, &pe):
		return chal, done, &smtp.SMTPError{Code: errSyntax.Code, EnhancedCode: errSyntax.EnhancedCode, Message: pe.Text}
	case errors.Is(err, sasl.ErrAuthzid):
		return chal, done, errAuthzid
	}
	return chal, done, errTempAuth
}

// Authenticated implements delivery.SubmitSession.
func (ss *session) Authenticated() bool { return ss.signed != nil }

// owns reports whether addr is one of the signed-in mailbox's addresses.
func (ss *session) owns(addr string) bool {
	m := ss.signed.Mailbox
	if strings.EqualFold(addr, m.PrimarySmtpAddress) {
		return true
	}
	for _, a := range m.EmailAddresses {
		if strings.EqualFold(addr, a) {
			return true
		}
	}
	return false
}

// Mail implements delivery.SubmitSession.
func (ss *session) Mail(from string) error {
	if ss.signed == nil {
		return errAuthRequired
	}
	if from == "" {
		return sendAsDenied(ss.user, "<>", errNullSenderSays)
	}
	if !ss.owns(from) {
		return sendAsDenied(ss.user, from, "envelope sender MAIL FROM")
	}
	return nil
}

// Message implements delivery.SubmitSession: every address of the From:
// field must be the user's (RFC 6409 §8 lets an MSA refuse what it
// cannot vouch for).
func (ss *session) Message(msg *store.NewMessage) error {
	m, err := mail.ReadMessage(bytes.NewReader(msg.Raw))
	if err != nil {
		return errNoFrom
	}
	list, err := m.Header.AddressList("From")
	if err != nil || len(list) == 0 {
		return errNoFrom
	}
	for _, a := range list {
		if !ss.owns(a.Address) {
			return sendAsDenied(ss.user, a.Address, "From: field")
		}
	}
	return nil
}

// errNoSmarthost refuses, at RCPT, a recipient outside the organization
// when no smarthost is configured: the message could only wait in the
// queue until it expired, and the sender would learn of it two days later.
// 550 5.7.1 as Postfix refuses a relay it is not allowed (its "Relay access
// denied" is 554 5.7.1; RFC 5321 §4.2.2 makes 550 the reply for a mailbox
// refused by policy), and as Exchange's 550 5.7.54 "Unable to relay" with
// the standard subject code; 5.4.4 ("unable to route") would suggest a DNS
// failure that a retry might cure.
func errNoSmarthost(to string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("Unable to relay to %s: this server sends no mail outside the organization (no smarthost is configured). Contact your administrator.", to)}
}

// Outbound implements delivery.SubmitSession.
func (ss *session) Outbound(to string) error {
	if ss.s.o.Smarthost == "" {
		return errNoSmarthost(to)
	}
	return nil
}

// Enqueue implements delivery.SubmitSession.
func (ss *session) Enqueue(ctx context.Context, from string, rcpts []string, raw []byte) error {
	now := time.Now()
	_, err := ss.s.o.Store.Enqueue(ctx, store.OutboundMessage{MailboxID: ss.signed.Mailbox.ID, From: from,
		Recipients: rcpts, Data: raw, DateReceived: now, NextRetry: now, Expires: now.Add(ss.s.o.QueueLifetime)})
	if err == nil && ss.s.o.Queued != nil {
		ss.s.o.Queued()
	}
	return err
}

// Close implements delivery.SubmitSession.
func (ss *session) Close() {
	ss.signed.Close()
	ss.signed = nil
}
