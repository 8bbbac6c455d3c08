// Package backend holds what the IMAP4 and POP3 backends share: the one
// login flow (name resolved → throttle → credentials → access rule →
// session registration → login record) and the recorder of login attempts. The protocol adapters
// live in imapadapter and pop3adapter; each maps the errors of Login to its
// wire form in one function.
package backend

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/sasl"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// ErrInvalidCredentials is the answer to a wrong user name or password,
// whichever it was.
var ErrInvalidCredentials = errors.New("invalid credentials")

// ThrottledError refuses a login after too many failures.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// LoginRequest is one login attempt as a protocol server sees it.
type LoginRequest struct {
	Protocol      access.Protocol
	Username      string
	Password      string
	RemoteAddr    string // host:port
	TLS           bool
	ClientName    string // IMAP ID "name", when sent before login
	ClientVersion string
	// Mechanism is how the client signs in, for the record and the
	// authentication policy: a SASL mechanism name (sasl.Plain, ...),
	// "LOGIN" (IMAP4 LOGIN) or "USER" (POP3 USER/PASS).
	Mechanism string
	// Token is a bearer token (XOAUTH2, OAUTHBEARER): the token's claim
	// names the mailbox, and Username, when set, must name the same one.
	// Password is then empty.
	Token string
	// SCRAM is the proof of a SCRAM-SHA-256 exchange; Password is then
	// empty. Its ServerSignature is set when the proof holds.
	SCRAM *sasl.SCRAMProof
	// Kick ends the session when the access rule turns false for it. The
	// protocol server implements it; it must be safe from any goroutine,
	// must not block, and may be called more than once.
	Kick func(reason string)
}

// Session is a logged-in POP3 or IMAP4 session.
type Session struct {
	Mailbox  store.Mailbox
	Protocol access.Protocol
	release  func()
	m        *metrics.Metrics
}

// Close unregisters the session; call it once when the connection ends.
func (s *Session) Close() {
	if s != nil && s.release != nil {
		s.release()
		s.release = nil
		s.m.SessionClosed(string(s.Protocol))
	}
}

// Logins runs the login flow.
type Logins struct {
	st       store.Store
	checker  *auth.Checker
	throttle *auth.Throttle
	registry *access.Registry
	rec      *Recorder
	tokens   TokenVerifier
	secret   [32]byte // keys the fake SCRAM salts of unknown users
	log      *slog.Logger
	m        *metrics.Metrics
	sleep    func(context.Context, time.Duration)
	// checked, when set (tests), runs after the credentials were found right
	// and before the session is registered: the window a password change can
	// fall into.
	checked func()
}

// LoginsOptions configure Logins.
type LoginsOptions struct {
	Store    store.Store
	Checker  *auth.Checker
	Throttle *auth.Throttle
	Registry *access.Registry
	Recorder *Recorder
	// Tokens verifies OAuth 2.0 bearer tokens; nil: XOAUTH2 and OAUTHBEARER
	// are not offered.
	Tokens  TokenVerifier
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// TokenVerifier checks an OAuth 2.0 bearer token (signature, issuer,
// audience, expiry) and returns the value of the claim that names the
// mailbox. auth.OIDCVerifier is the real one. Its errors say why a token
// was refused (they are logged and recorded) and never contain the token.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (mailbox string, err error)
}

// NewLogins returns the login flow.
func NewLogins(o LoginsOptions) *Logins {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Logins{st: o.Store, checker: o.Checker, throttle: o.Throttle, registry: o.Registry, rec: o.Recorder,
		tokens: o.Tokens, log: o.Logger, m: o.Metrics, sleep: sleepCtx}
	rand.Read(l.secret[:])
	return l
}

// Mechanisms lists the SASL mechanisms the flow can check, in the order
// servers offer them.
func (l *Logins) Mechanisms() []string {
	m := []string{sasl.Plain, sasl.Login, sasl.ScramSHA256}
	if l.tokens != nil {
		m = append(m, sasl.XOAuth2, sasl.OAuthBearer)
	}
	return m
}

// SCRAMParams returns the salt and iteration count of a user's SCRAM keys
// (sasl.SCRAMLookup). A user name that names no mailbox, or a mailbox
// whose password was set before SCRAM keys were made, gets a salt derived
// from the name under a secret of this process and the default count, so
// that the answer does not tell (RFC 5802 §5.1); Login then refuses the
// proof, and its record says why.
func (l *Logins) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	var m store.Mailbox
	var found bool
	if err := l.st.View(ctx, func(tx store.Tx) error {
		var err error
		m, found, err = resolve(ctx, tx, username)
		return err
	}); err != nil {
		return nil, 0, fmt.Errorf("scram %q: %w", auth.CapName(username), err)
	}
	if found {
		if k, err := auth.ParseSCRAMKeys(m.SCRAMSHA256); err == nil {
			return k.Salt, k.Iterations, nil
		}
	}
	h := hmac.New(sha256.New, l.secret[:])
	h.Write([]byte(strings.ToLower(username)))
	return h.Sum(nil)[:16], auth.SCRAMIterations, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// resolve finds the mailbox a user name means: any email address, the UPN,
// the alias or the name. An unknown or ambiguous name resolves to nothing,
// and so does one that can name no mailbox (auth.CanonicalName), which is
// not looked up at all.
func resolve(ctx context.Context, tx mailboxFinder, username string) (store.Mailbox, bool, error) {
	// SASLprep of the name (RFC 4616 §2, RFC 5802 §5.1; auth.PrepareUsername).
	username = auth.PrepareUsername(username)
	if _, ok := auth.CanonicalName(username); !ok {
		return store.Mailbox{}, false, nil
	}
	ms, err := tx.FindMailboxes(ctx, username, 2)
	if err != nil || len(ms) != 1 {
		return store.Mailbox{}, false, err
	}
	return ms[0], true, nil
}

// mailboxFinder looks mailboxes up by any of their names: a read
// transaction (store.Tx) or the store itself, in one query (store.Mail).
type mailboxFinder interface {
	FindMailboxes(ctx context.Context, identity string, limit int) ([]store.Mailbox, error)
}

// Login checks a login attempt. In order: the name is resolved (so that
// the throttle counts every spelling of one mailbox together); the
// throttle; the credentials (always, so that only a client that proved the
// password learns anything more, and a wrong password costs the same
// whether or not the user exists); then the access rule, evaluated from
// freshly read state after the session is registered, so that a change
// committed at any moment either refuses this login or closes the session.
//
// The name is kept (records, logs, errors) capped to auth.MaxNameLen
// octets; attempts refused by a throttle lock are counted, and only the
// first of each lock is recorded.
func (l *Logins) Login(ctx context.Context, req LoginRequest) (*Session, error) {
	// A token names its mailbox by a claim; the name the client gave, if
	// any, must name the same one.
	lookup := req.Username
	var tokenErr error
	if req.Token != "" {
		var claim string
		switch {
		case l.tokens == nil:
			tokenErr = errors.New("OAuth is not configured")
		default:
			claim, tokenErr = l.tokens.Verify(ctx, req.Token)
		}
		if tokenErr == nil {
			lookup = claim
			if req.Username == "" {
				req.Username = claim
			}
		}
	}
	name := auth.CapName(req.Username)
	rec := store.LoginRecord{Time: time.Now().UTC(), Protocol: string(req.Protocol), Username: name,
		RemoteAddr: req.RemoteAddr, TLS: req.TLS, ClientName: req.ClientName, ClientVersion: req.ClientVersion,
		AuthMethod: req.Mechanism}
	var m store.Mailbox
	var found bool
	var err error
	if req.Token == "" || tokenErr != nil || lookup == req.Username {
		// One name to look up: one query, outside a transaction.
		m, found, err = resolve(ctx, l.st, lookup)
	} else {
		// The token's claim and the name the client gave, from one
		// snapshot.
		err = l.st.View(ctx, func(tx store.Tx) error {
			var err error
			m, found, err = resolve(ctx, tx, lookup)
			if err != nil || !found {
				return err
			}
			named, ok, err := resolve(ctx, tx, req.Username)
			if err == nil && (!ok || named.ID != m.ID) {
				tokenErr = fmt.Errorf("the token names %q, not the user %q the client gave", auth.CapName(lookup), name)
			}
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("login %q: %w", name, err)
	}
	key := auth.UserKey(m.ID, lookup)
	host := req.RemoteAddr // the throttle keys it by IP (auth.AddrKey)
	if l.throttle != nil {
		v := l.throttle.Check(host, key)
		if v.Locked {
			rec.Result, rec.Reason = store.LoginThrottled, "too many failed logins"
			if found {
				rec.MailboxID = m.ID
			}
			if v.Refused <= 1 {
				l.record(rec)
			} else {
				l.m.Login(rec.Protocol, rec.Result)
			}
			return nil, &ThrottledError{RetryAfter: v.RetryAfter}
		}
		l.sleep(ctx, v.Delay)
	}

	hash := ""
	if found {
		hash = m.PasswordHash
		rec.MailboxID = m.ID
	}
	refused, app := l.checkCredential(ctx, req, m, found, hash, tokenErr)
	if app != nil {
		rec.AppPassword, rec.AppPasswordID = app.Name, app.ID
	}
	if refused != "" {
		if l.throttle != nil {
			l.throttle.Fail(host, key)
		}
		rec.Result, rec.Reason = store.LoginFailed, refused
		l.record(rec)
		return nil, ErrInvalidCredentials
	}
	if l.throttle != nil {
		l.throttle.Succeed(key)
	}
	if l.checked != nil {
		l.checked()
	}

	s := &Session{Protocol: req.Protocol, m: l.m}
	kick := req.Kick
	if kick == nil {
		kick = func(string) {}
	}
	// A token session does not hang on the password hash (credential ""):
	// the registry's re-checks leave it alone, though a password change
	// (CredentialsChanged) still ends every session of the mailbox.
	credential := m.PasswordHash
	if req.Token != "" {
		credential = ""
	}
	var appID int64
	if app != nil {
		appID = app.ID
	}
	// Registered before the fresh read below, so that a change committed
	// after it kicks this session; but a kick that comes while the login
	// is still deciding waits for the decision (kickGate): a refused
	// login drops it, since the connection, still unauthenticated, goes
	// on (a re-check of an earlier change closed the connection of a
	// login refused by that very change, and with it the client's next,
	// allowed, attempt).
	gate := &kickGate{kick: kick}
	_, release := l.registry.RegisterAppPassword(m.ID, req.Protocol, req.RemoteAddr, credential, appID, gate.fire)
	s.release = func() {
		gate.drop()
		release()
	}
	// Every read below starts after the registration, so each sees every
	// change committed before it, and a change committed after it kicks
	// the session: they need no common snapshot. The organization and the
	// mailbox come in one query; an app password and a policy, when the
	// login has them, in one read transaction more.
	appRevoked := false
	var policy *store.AuthPolicy
	org, m, err := l.st.SignInState(ctx, m.ID)
	policyName := ""
	if err == nil && req.Token == "" {
		policyName = access.EffectivePolicy(org, m)
	}
	if err == nil && (app != nil || policyName != "") {
		err = l.st.View(ctx, func(tx store.Tx) error {
			appRevoked, policy = false, nil
			if app != nil {
				// Revoked between the check and the registration: the
				// revocation's kick may have missed this session.
				p, err := tx.AppPasswordBySecret(ctx, app.SecretHash)
				if errors.Is(err, store.ErrNotFound) || err == nil && p.ID != app.ID {
					appRevoked = true
				} else if err != nil {
					return err
				}
			}
			if policyName != "" {
				p, err := tx.AuthPolicy(ctx, policyName)
				if errors.Is(err, store.ErrNotFound) {
					// Removed meanwhile: no policy.
					return nil
				}
				policy = &p
				return err
			}
			return nil
		})
	}
	if err != nil {
		s.release()
		if errors.Is(err, store.ErrNotFound) {
			// Removed between the two reads.
			rec.Result, rec.Reason = store.LoginFailed, "mailbox removed"
			l.record(rec)
			return nil, ErrInvalidCredentials
		}
		return nil, fmt.Errorf("login %q: %w", name, err)
	}
	if appRevoked {
		s.release()
		rec.Result, rec.Reason = store.LoginFailed, "app password revoked during sign-in"
		l.record(rec)
		return nil, ErrInvalidCredentials
	}
	if req.Token == "" && m.PasswordHash != hash && (req.SCRAM != nil || app != nil || !l.checker.Check(m.ID, m.PasswordHash, req.Password)) {
		// The password changed between the check and the registration: the
		// change's kick may have gone out before this session was
		// registered, so the fresh read decides (a change committed after
		// it kicks the registered session).
		s.release()
		rec.Result, rec.Reason = store.LoginFailed, "password changed during sign-in"
		l.record(rec)
		return nil, ErrInvalidCredentials
	}
	// After the credential was proved: only a client that knows the
	// password learns of the rule or the policy. A token sign-in has no
	// policy (policy is nil then), so only the rule applies to it.
	why := access.DecidePassword(org, m, policy, req.Protocol)
	if why != access.Allowed {
		s.release()
		d := &access.Denied{Protocol: req.Protocol, Reason: why}
		rec.Result, rec.Reason = store.LoginDisabled, d.Text()
		if why == access.SecurityDefaults || why == access.BasicAuthBlocked {
			rec.Result = store.LoginBlocked
		}
		l.record(rec)
		return nil, d
	}
	s.Mailbox = m
	rec.Result = store.LoginSuccess
	l.record(rec)
	l.m.SessionOpened(string(req.Protocol))
	gate.open()
	return s, nil
}

// kickGate holds back the kicks of a session that is still signing in:
// fire passes a kick on once open was called, keeps the first one until
// then (open delivers it), and drops everything after drop.
type kickGate struct {
	kick func(reason string)

	mu      sync.Mutex
	state   gateState
	pending *string
}

type gateState uint8

const (
	gateSigningIn gateState = iota
	gateOpen
	gateDropped
)

func (g *kickGate) fire(reason string) {
	g.mu.Lock()
	switch g.state {
	case gateOpen:
		g.mu.Unlock()
		g.kick(reason)
		return
	case gateSigningIn:
		if g.pending == nil {
			g.pending = &reason
		}
	}
	g.mu.Unlock()
}

func (g *kickGate) open() {
	g.mu.Lock()
	if g.state != gateSigningIn {
		g.mu.Unlock()
		return
	}
	g.state = gateOpen
	p := g.pending
	g.mu.Unlock()
	if p != nil {
		g.kick(*p)
	}
}

func (g *kickGate) drop() {
	g.mu.Lock()
	g.state, g.pending = gateDropped, nil
	g.mu.Unlock()
}

// checkCredential checks the credential of a login attempt against mailbox
// m and returns "" when it holds, else the reason for the record; app is
// the app password the client gave (set, too, when it was refused for
// another reason, so that the record names it). The password is checked
// even when no mailbox was found (against a dummy hash), so that a wrong
// name costs what a wrong password costs.
func (l *Logins) checkCredential(ctx context.Context, req LoginRequest, m store.Mailbox, found bool, hash string, tokenErr error) (why string, app *store.AppPassword) {
	if req.Token == "" && req.SCRAM == nil && auth.LooksLikeAppPassword(req.Password) {
		// An app password (docs/ARCHITECTURE.md, App passwords): one
		// SHA-256 and one indexed read, whether or not the name was found,
		// instead of an argon2id hash. One that is not this mailbox's falls
		// through to the password check, and costs what a wrong password
		// costs.
		var p store.AppPassword
		err := l.st.View(ctx, func(tx store.Tx) error {
			var err error
			p, err = tx.AppPasswordBySecret(ctx, auth.AppPasswordHash(req.Password))
			return err
		})
		switch {
		case err == nil && found && p.MailboxID == m.ID:
			return "", &p
		case err != nil && !errors.Is(err, store.ErrNotFound):
			l.log.Error("app password lookup", "proto", req.Protocol, "user", auth.CapName(req.Username), "err", err)
		}
	}
	return l.checkSecret(ctx, req, m, found, hash, tokenErr), nil
}

// checkSecret checks a password, SCRAM proof or token (checkCredential).
func (l *Logins) checkSecret(ctx context.Context, req LoginRequest, m store.Mailbox, found bool, hash string, tokenErr error) string {
	switch {
	case req.Token != "":
		if tokenErr != nil {
			l.log.Info("OAuth token refused", "proto", req.Protocol, "user", auth.CapName(req.Username),
				"remote", req.RemoteAddr, "why", tokenErr.Error())
			return "OAuth token refused: " + tokenErr.Error()
		}
		if !found {
			l.log.Info("OAuth token refused", "proto", req.Protocol, "user", auth.CapName(req.Username),
				"remote", req.RemoteAddr, "why", "the token's claim names no mailbox")
			return "the token's claim names no mailbox"
		}
		return ""
	case req.SCRAM != nil:
		if !found {
			return "invalid credentials"
		}
		keys, err := auth.ParseSCRAMKeys(m.SCRAMSHA256)
		if err != nil {
			// Said to the admin (record, log), never to the client: the
			// client learns nothing before it proved the password.
			return "SCRAM-SHA-256 keys are not yet made for this mailbox (they are made at the next password change)"
		}
		sig, ok := keys.VerifySCRAM(req.SCRAM.AuthMessage, req.SCRAM.ClientProof)
		if !ok {
			return "invalid credentials"
		}
		req.SCRAM.ServerSignature = sig
		return ""
	}
	if !l.checker.Check(m.ID, hash, req.Password) || !found {
		return "invalid credentials"
	}
	return ""
}

// RefusedPlaintext records a login attempt that the protocol server refused
// by itself because it came in plaintext, without TLS, from a remote address
// (docs/ARCHITECTURE.md, The access rule). The password is not checked: a
// server that answered whether it was right would turn a plaintext listener
// into a password oracle. The user name is resolved only to attach the record
// to its mailbox in the usage report.
func (l *Logins) RefusedPlaintext(ctx context.Context, req LoginRequest) {
	rec := store.LoginRecord{Time: time.Now().UTC(), Protocol: string(req.Protocol), Username: auth.CapName(req.Username),
		RemoteAddr: req.RemoteAddr, TLS: req.TLS, ClientName: req.ClientName, ClientVersion: req.ClientVersion,
		AuthMethod: req.Mechanism, Result: store.LoginNoTLS, Reason: "plaintext authentication without TLS refused"}
	if req.Username != "" {
		_ = l.st.View(ctx, func(tx store.Tx) error {
			m, found, err := resolve(ctx, tx, req.Username)
			if found {
				rec.MailboxID = m.ID
			}
			return err
		})
	}
	l.record(rec)
}

func (l *Logins) record(r store.LoginRecord) {
	l.m.Login(r.Protocol, r.Result)
	l.log.Info("login", "proto", r.Protocol, "user", r.Username, "remote", r.RemoteAddr, "tls", r.TLS,
		"result", r.Result, "client", r.ClientName, "app_password", r.AppPassword)
	if l.rec != nil {
		l.rec.Add(r)
	}
}
