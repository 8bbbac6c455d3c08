package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/sasl"
)

// CAPABILITY (RFC 9051 §6.1.1).
func cmdCapability(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	c.w.raw("* CAPABILITY " + c.capabilities() + "\r\n")
	return nil
}

// NOOP and CHECK (RFC 9051 §6.1.2, §6.4.1): updates are sent by the
// dispatcher (forceUpdate).
func cmdNoop(ctx context.Context, c *conn, r *request) error {
	return r.p.end()
}

// LOGOUT (RFC 9051 §6.1.3).
func cmdLogout(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	c.w.raw("* BYE Logging out\r\n")
	c.state = stateLogout
	return nil
}

// maxIDFields bounds the ID parameter list (RFC 2971 §3.3: at most 30).
const maxIDFields = 30

// ID (RFC 2971): the client's name and version go to the login record.
func cmdID(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	var fields map[string]string
	if p.peek() == '(' {
		p.pos++
		fields = map[string]string{}
		for !p.consume(')') {
			if len(fields) > 0 {
				if err := p.sp(); err != nil {
					return err
				}
			}
			k, err := p.string()
			if err != nil {
				return err
			}
			if err := p.sp(); err != nil {
				return err
			}
			v, _, err := p.nstring()
			if err != nil {
				return err
			}
			if len(fields) >= maxIDFields {
				return bad("Too many ID fields")
			}
			fields[strings.ToLower(truncate(k, 30))] = truncate(v, 1024)
		}
	} else if _, _, err := p.nstring(); err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	if c.state == stateNotAuth && fields != nil {
		c.clientName = cleanText(fields["name"])
		c.clientVersion = cleanText(fields["version"])
	}
	c.w.raw(`* ID ("name" "Gatehouse")` + "\r\n")
	return nil
}

// cleanText keeps printable characters of client-supplied text for logs and
// records.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// STARTTLS (RFC 9051 §6.2.1). Input pipelined after the command is thrown
// away, so that nothing sent in plaintext is executed after the handshake.
func cmdStartTLS(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	c.w.raw(r.tag + " OK Begin TLS negotiation now\r\n")
	c.w.flush()
	if c.w.err != nil {
		return errClose
	}
	tc := tls.Server(c.nc, c.srv.opts.TLSConfig)
	tc.SetDeadline(time.Now().Add(c.srv.opts.LoginTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.Debug("STARTTLS handshake failed", "err", err)
		return errClose
	}
	tc.SetDeadline(time.Time{})
	c.nc = tc
	c.tls = true
	c.rd.reset(tc)
	c.w.bw.Reset(tc)
	// The tagged response is already sent.
	r.p.done = true
	return errResponded
}

// LOGIN (RFC 9051 §6.2.3).
func cmdLogin(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	user, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	pass, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	return c.login(ctx, r, user, pass)
}

// maxSASLSteps bounds the challenges of one AUTHENTICATE: SCRAM, the
// longest exchange we have, needs three.
const maxSASLSteps = 4

// AUTHENTICATE (RFC 9051 §6.2.2) with the mechanisms of package sasl and an
// initial response (RFC 4959 SASL-IR). A malformed exchange is BAD and the
// session goes on; "*" cancels (RFC 9051 §6.2.2).
func cmdAuthenticate(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	mech, err := p.keyword()
	if err != nil {
		return err
	}
	mech = strings.ToUpper(mech)
	var initial string
	haveInitial := false
	if p.consume(' ') {
		if p.consume('=') {
			haveInitial = true
		} else {
			initial = p.takeWhile(isBase64Char)
			if initial == "" {
				return p.errorf("expected initial response")
			}
			haveInitial = true
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if !slices.Contains(c.mechanisms(), mech) {
		return no("", "Unsupported authentication mechanism")
	}
	if c.plaintextRefused() {
		user := ""
		if mech == sasl.Plain {
			user = plainAuthcid(initial)
		}
		c.recordRefusal(ctx, user, mech)
		return no(CodePrivacyRequired, "Authentication requires TLS (STARTTLS first)")
	}
	a := &saslLogin{c: c}
	srv, err := sasl.New(ctx, mech, a)
	if err != nil {
		return no("", "Unsupported authentication mechanism")
	}
	var resp []byte
	if haveInitial {
		if resp, err = base64.StdEncoding.DecodeString(initial); err != nil {
			return bad("Invalid base64 data")
		}
	}
	for step := 0; ; step++ {
		chal, done, err := srv.Next(resp)
		if err != nil {
			return a.fail(saslError(c, err))
		}
		if done {
			break
		}
		if step >= maxSASLSteps {
			return a.fail(bad("Too many authentication steps"))
		}
		if err := c.continuation(base64.StdEncoding.EncodeToString(chal)); err != nil {
			return a.fail(err)
		}
		line, _, tooLong, err := c.rd.readLine((*c.lineBuf)[:0], c.srv.opts.MaxLineLength)
		if err != nil {
			return a.fail(&netError{err})
		}
		if tooLong {
			return a.fail(bad("Authentication data too long"))
		}
		if string(line) == "*" {
			return a.fail(bad("Authentication cancelled"))
		}
		if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			return a.fail(bad("Invalid base64 data"))
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	if a.user == nil {
		c.log.Error("SASL exchange ended without a login", "mech", mech)
		return no(CodeUnavailable, "Temporary server failure, try again later")
	}
	return c.loggedIn(a.user, a.username)
}

// saslLogin is the sasl.Authenticator of one AUTHENTICATE: it passes the
// credential to the backend's Login and keeps the user it returns.
type saslLogin struct {
	c        *conn
	user     User
	username string
}

// Authenticate implements sasl.Authenticator.
func (a *saslLogin) Authenticate(ctx context.Context, cr *sasl.Credential) error {
	u, err := a.c.backendLogin(ctx, &LoginRequest{Username: cr.Username, Password: cr.Password,
		Mechanism: cr.Mechanism, Token: cr.Token, SCRAM: cr.SCRAM})
	if err != nil {
		var ie *Error
		if errors.As(err, &ie) && ie.Code == CodeAuthenticationFailed {
			return &sasl.InvalidCredentials{Err: err}
		}
		return err
	}
	a.user, a.username = u, cr.Username
	return nil
}

// SCRAMParams implements sasl.SCRAMLookup over the backend.
func (a *saslLogin) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	l, ok := a.c.srv.opts.Backend.(SCRAMLookup)
	if !ok {
		return nil, 0, errors.New("SCRAM is not offered")
	}
	return l.SCRAMParams(ctx, username)
}

// fail ends an exchange that did not complete: a user already signed in
// (SCRAM signs in before its last step) is signed out again.
func (a *saslLogin) fail(err error) error {
	if a.user != nil {
		a.user.Logout()
		a.user = nil
	}
	return err
}

// saslError maps the errors of a SASL exchange to responses.
func saslError(c *conn, err error) error {
	var (
		ie *Error
		pe *sasl.ProtocolError
	)
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &pe):
		return bad("%s", pe.Text)
	case errors.Is(err, sasl.ErrAuthzid):
		return no(CodeAuthorizationFailed, "Authorization identity must match the user")
	}
	var ne *netError
	if errors.As(err, &ne) {
		return err
	}
	c.log.Error("login failed", "err", err)
	return no(CodeUnavailable, "Temporary server failure, try again later")
}

// mechanisms lists the SASL mechanisms offered: the backend's
// (MechanismLister), else PLAIN and LOGIN.
func (c *conn) mechanisms() []string {
	if l, ok := c.srv.opts.Backend.(MechanismLister); ok {
		return l.Mechanisms()
	}
	return []string{sasl.Plain, sasl.Login}
}

// recordRefusal tells the backend, when it listens, of a login attempt
// refused for want of TLS.
func (c *conn) recordRefusal(ctx context.Context, user, mech string) {
	if rr, ok := c.srv.opts.Backend.(RefusalRecorder); ok {
		rr.LoginRefused(ctx, &LoginRequest{
			Username:      user,
			Mechanism:     mech,
			RemoteAddr:    c.nc.RemoteAddr().String(),
			TLS:           c.tls,
			ClientName:    c.clientName,
			ClientVersion: c.clientVersion,
		})
	}
}

// plainAuthcid returns the authentication identity of a SASL PLAIN
// response (RFC 4616), or "" when there is none or it does not decode.
func plainAuthcid(b64 string) string {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	parts := bytes.Split(data, []byte{0})
	if len(parts) != 3 {
		return ""
	}
	return string(parts[1])
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// login runs the LOGIN command (RFC 9051 §6.2.3).
func (c *conn) login(ctx context.Context, r *request, user, pass string) error {
	if c.plaintextRefused() {
		c.recordRefusal(ctx, user, "LOGIN")
		return no(CodePrivacyRequired, "Login requires TLS (STARTTLS first)")
	}
	u, err := c.backendLogin(ctx, &LoginRequest{Username: user, Password: pass, Mechanism: "LOGIN"})
	if err != nil {
		var ie *Error
		if errors.As(err, &ie) {
			return ie
		}
		c.log.Error("login failed", "err", err)
		return no(CodeUnavailable, "Temporary server failure, try again later")
	}
	return c.loggedIn(u, user)
}

// backendLogin completes a login request with what the connection knows
// and asks the backend.
func (c *conn) backendLogin(ctx context.Context, req *LoginRequest) (User, error) {
	req.RemoteAddr = c.nc.RemoteAddr().String()
	req.TLS = c.tls
	req.ClientName, req.ClientVersion = c.clientName, c.clientVersion
	req.Kick = c.kick
	return c.srv.opts.Backend.Login(ctx, req)
}

// loggedIn enters the authenticated state with a user the backend let in.
func (c *conn) loggedIn(u User, user string) error {
	key := u.Key()
	if !c.srv.addUser(key) {
		u.Logout()
		return no(CodeLimit, "Too many connections to this mailbox")
	}
	c.user, c.userKey = u, key
	c.state = stateAuth
	c.log = c.log.With("user", user)
	return &okResult{code: "CAPABILITY " + c.capabilities(), text: "Logged in"}
}

// ENABLE (RFC 5161, RFC 9051 §6.3.1): IMAP4rev2 switches the session to
// RFC 9051 rules.
func cmdEnable(ctx context.Context, c *conn, r *request) error {
	p := r.p
	var caps []string
	for p.consume(' ') {
		a, err := p.keyword()
		if err != nil {
			return err
		}
		caps = append(caps, a)
	}
	if len(caps) == 0 {
		return p.errorf("expected capability")
	}
	if err := p.end(); err != nil {
		return err
	}
	var enabled []string
	for _, cp := range caps {
		if cp == "IMAP4REV2" && !c.rev2 {
			c.rev2 = true
			c.w.utf8 = true
			enabled = append(enabled, "IMAP4rev2")
		}
		if cp == "CONDSTORE" && !c.condstore {
			c.condstore = true
			enabled = append(enabled, "CONDSTORE")
		}
		if cp == "UTF8=ACCEPT" && !c.utf8Accept {
			c.utf8Accept = true
			c.w.utf8 = true
			enabled = append(enabled, "UTF8=ACCEPT")
		}
		if cp == "QRESYNC" && !c.qresync {
			// RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
			c.qresync, c.condstore = true, true
			enabled = append(enabled, "QRESYNC")
		}
	}
	c.w.raw("* ENABLED")
	for _, e := range enabled {
		c.w.raw(" " + e)
	}
	c.w.crlf()
	return nil
}
