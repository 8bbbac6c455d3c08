package pop3adapter

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
)

// LoginFlow is the Authenticator over the shared login flow of package
// backend: throttle, credentials, access rule, session registration (so
// that an access change kicks the session) and the login record, with
// protocol "pop3".
type LoginFlow struct{ Logins *backend.Logins }

var _ Authenticator = LoginFlow{}

// Authenticate implements Authenticator.
func (f LoginFlow) Authenticate(ctx context.Context, req pop3.LoginRequest) (int64, func(), error) {
	s, err := f.Logins.Login(ctx, backend.LoginRequest{
		Protocol:   access.POP3,
		Username:   req.Username,
		Password:   req.Password,
		Mechanism:  req.Mechanism,
		Token:      req.Token,
		SCRAM:      req.SCRAM,
		RemoteAddr: req.RemoteAddr,
		TLS:        req.TLS,
		Kick:       req.Kick,
	})
	if err != nil {
		return 0, nil, err
	}
	return s.Mailbox.ID, s.Close, nil
}

// Mechanisms lists the SASL mechanisms of the login flow.
func (f LoginFlow) Mechanisms() []string { return f.Logins.Mechanisms() }

// SCRAMParams returns a user's SCRAM salt and iteration count.
func (f LoginFlow) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	return f.Logins.SCRAMParams(ctx, username)
}

var (
	_ backend.MechanismSource = LoginFlow{}
	_ pop3.MechanismLister    = (*Backend)(nil)
	_ pop3.SCRAMLookup        = (*Backend)(nil)
)

// Mechanisms implements pop3.MechanismLister: the Authenticator's, or PLAIN
// and LOGIN.
func (b *Backend) Mechanisms() []string { return backend.MechanismsOf(b.login) }

// SCRAMParams implements pop3.SCRAMLookup.
func (b *Backend) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	return backend.SCRAMParamsOf(ctx, b.login, username)
}

// RefusedPlaintext records a login refused for want of TLS.
func (f LoginFlow) RefusedPlaintext(ctx context.Context, req pop3.LoginRequest) {
	f.Logins.RefusedPlaintext(ctx, backend.LoginRequest{Protocol: access.POP3, Username: req.Username,
		Mechanism: req.Mechanism, RemoteAddr: req.RemoteAddr, TLS: req.TLS})
}

// LoginRefused records an attempt the server refused for want of TLS
// (pop3.RefusalRecorder), when the Authenticator can record one.
func (b *Backend) LoginRefused(ctx context.Context, req pop3.LoginRequest) {
	if r, ok := b.login.(interface {
		RefusedPlaintext(context.Context, pop3.LoginRequest)
	}); ok {
		r.RefusedPlaintext(ctx, req)
	}
}

// loginError maps the refusals of the login flow to what a POP3 client
// sees (RFC 3206 codes; the texts of docs/ARCHITECTURE.md, "The access
// rule"): the one place that decides it.
func loginError(err error) error {
	var (
		pe     *pop3.Error
		denied *access.Denied
		thr    *backend.ThrottledError
	)
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, backend.ErrInvalidCredentials):
		// RFC 3206 §5 [AUTH]: the same answer for an unknown user and a
		// wrong password.
		return &pop3.Error{Code: pop3.CodeAuth, Text: "Invalid credentials"}
	case errors.As(err, &denied):
		// RFC 3206 §4 [SYS/PERM]: do not retry; a person must act.
		return &pop3.Error{Code: pop3.CodeSysPerm, Text: denied.Text()}
	case errors.As(err, &thr):
		// [SYS/TEMP] rather than [LOGIN-DELAY]: RFC 2449 §8.1.2 means a
		// login too soon after a successful one, not after failures.
		secs := int(math.Ceil(thr.RetryAfter.Seconds()))
		return &pop3.Error{Code: pop3.CodeSysTemp, Text: fmt.Sprintf("Too many failed login attempts; try again in %d seconds", max(secs, 1))}
	}
	return &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot log in now; try again later", Err: err}
}
