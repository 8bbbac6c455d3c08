// Package submission is what SMTP submission (RFC 6409, ports 587 and 465)
// adds to the delivery server: sign-in with AUTH PLAIN and LOGIN (RFC 4954)
// through the one login flow (backend.Logins, protocol access.SMTP, so the
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
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/delivery"
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
	Logger *slog.Logger
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
	mechanisms        = []string{sasl.Plain, sasl.Login}
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
	return mechanisms
}

// Auth implements delivery.SubmitSession. PLAIN and LOGIN carry a
// password; both end in the same login. This is the one place where
// mechanisms are added (SCRAM, XOAUTH2, OAUTHBEARER come from internal/auth
// at merge).
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.signed != nil {
		return nil, errAlreadySigned
	}
	if !ss.plaintextAllowed() {
		ss.s.o.Logins.RefusedPlaintext(context.Background(), backend.LoginRequest{Protocol: access.SMTP,
			RemoteAddr: ss.c.RemoteAddr, TLS: ss.c.TLS()})
		return nil, errEncryption
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return errAuthzid
			}
			return ss.login(username, password)
		}), nil
	case sasl.Login:
		return newLoginServer(ss.login), nil
	}
	return nil, errUnknownMech
}

func (ss *session) login(username, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := ss.s.o.Logins.Login(ctx, backend.LoginRequest{Protocol: access.SMTP, Username: username, Password: password,
		RemoteAddr: ss.c.RemoteAddr, TLS: ss.c.TLS(), Kick: ss.c.Kick})
	if err != nil {
		if !errors.Is(err, backend.ErrInvalidCredentials) {
			ss.s.o.Logger.Info("submission sign-in refused", "remote", ss.c.RemoteAddr, "err", err)
		}
		return loginError(err)
	}
	ss.signed, ss.user = sess, username
	return nil
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

// loginServer is the server side of SASL LOGIN (draft-murchison-sasl-login,
// which go-sasl no longer carries): the prompts "Username:" and "Password:",
// each answered with one line; an initial response is the user name.
type loginServer struct {
	step     int
	username string
	auth     func(username, password string) error
}

func newLoginServer(auth func(username, password string) error) sasl.Server {
	return &loginServer{auth: auth}
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.auth(l.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
