package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/sasl"
)

// handler runs one command; it writes positive responses itself and
// returns an error for the -ERR ones (see writeError).
type handler struct {
	fn          func(*session, command) error
	auth, trans bool // the states in which the command is valid
}

// commands is the dispatch table; it is never modified.
var commands = map[string]handler{
	"CAPA": {(*session).cmdCAPA, true, true},
	"USER": {(*session).cmdUSER, true, false},
	"PASS": {(*session).cmdPASS, true, false},
	"AUTH": {(*session).cmdAUTH, true, false},
	"STLS": {(*session).cmdSTLS, true, false},
	"QUIT": {(*session).cmdQUIT, true, true},
	"STAT": {(*session).cmdSTAT, false, true},
	"LIST": {(*session).cmdLIST, false, true},
	"UIDL": {(*session).cmdUIDL, false, true},
	"RETR": {(*session).cmdRETR, false, true},
	"TOP":  {(*session).cmdTOP, false, true},
	"DELE": {(*session).cmdDELE, false, true},
	"RSET": {(*session).cmdRSET, false, true},
	"NOOP": {(*session).cmdNOOP, false, true},
}

func (s *session) dispatch(cmd command) error {
	if cmd.name == "" {
		return errf("Empty command")
	}
	h, ok := commands[cmd.name]
	if !ok {
		if name := printableName(cmd.name); name != "" {
			return errf("Unknown command: %s", name)
		}
		return errf("Unknown command")
	}
	switch s.state {
	case stateAuthorization:
		if !h.auth {
			return errf("%s is valid only after login", cmd.name)
		}
	case stateTransaction:
		if !h.trans {
			return errf("%s is not valid after login", cmd.name)
		}
	}
	return h.fn(s, cmd)
}

// args checks the number of arguments.
func args(cmd command, min, max int) error {
	switch {
	case len(cmd.args) < min && min == max && min == 1:
		return errf("%s needs a message number", cmd.name)
	case len(cmd.args) < min:
		return errf("%s needs %d arguments", cmd.name, min)
	case len(cmd.args) > max && max == 0:
		return errf("%s takes no arguments", cmd.name)
	case len(cmd.args) > max:
		return errf("Too many arguments for %s", cmd.name)
	}
	return nil
}

// message resolves a message-number argument to an index into s.msgs.
// RFC 1939 §5: a message marked as deleted may not be referred to.
func (s *session) message(arg string) (int, error) {
	n, ok := parseNumber(arg)
	if !ok {
		if len(arg) <= 20 && printableName(arg) != "" {
			return 0, errf("Invalid message number: %s", arg)
		}
		return 0, errf("Invalid message number")
	}
	if n < 1 || n > len(s.msgs) {
		return 0, errf("No such message: %s", arg)
	}
	if s.deleted[n-1] {
		return 0, errf("Message %d is deleted", n)
	}
	return n - 1, nil
}

// cmdCAPA lists the capabilities of the current state (RFC 2449 §5).
func (s *session) cmdCAPA(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	s.writeOK("Capability list follows")
	s.writeLine("TOP")
	s.writeLine("UIDL")
	s.writeLine("RESP-CODES")
	s.writeLine("AUTH-RESP-CODE")
	s.writeLine("PIPELINING")
	if s.state == stateAuthorization {
		// RFC 2595 §2.1 and the transport rule: plaintext mechanisms are not
		// offered where they would be refused.
		if s.plaintextAllowed() {
			s.writeLine("USER")
			s.writeLine("SASL " + strings.Join(s.mechanisms(), " "))
		}
		if s.srv.tlsConfig != nil && !s.tls {
			s.writeLine("STLS")
		}
	}
	s.writeLine("EXPIRE NEVER")
	s.writeLine("IMPLEMENTATION Gatehouse")
	s.writeLine(".")
	return nil
}

var errPlaintext = &Error{Code: CodeAuth, Text: "Plaintext authentication is not allowed without TLS; use STLS first"}

// cmdUSER names the user (RFC 1939 §7). The answer never tells whether
// the user exists.
func (s *session) cmdUSER(cmd command) error {
	if !s.plaintextAllowed() {
		// The attempt is recorded here, once; the PASS that follows is
		// refused too but is not a second attempt.
		s.recordRefusal(strings.TrimSpace(cmd.args0()), "USER")
		return errPlaintext
	}
	user := strings.TrimSpace(cmd.args0())
	if user == "" {
		return errf("USER needs a user name")
	}
	s.user = user
	s.writeOK("Send your password")
	return nil
}

// cmdPASS completes USER (RFC 1939 §7); the argument is the rest of the
// line, spaces included.
func (s *session) cmdPASS(cmd command) error {
	if !s.plaintextAllowed() {
		return errPlaintext
	}
	if s.user == "" {
		return errf("Send USER first")
	}
	user := s.user
	s.user = ""
	pass := cmd.args0()
	if pass == "" {
		return errf("PASS needs a password")
	}
	return s.login(user, pass)
}

// maxSASLSteps bounds the challenges of one AUTH: SCRAM, the longest
// exchange we have, needs three.
const maxSASLSteps = 4

// cmdAUTH runs a SASL exchange (RFC 5034) with the mechanisms of package
// sasl. Without arguments it lists the mechanisms, as RFC 1734 clients
// expect. A malformed exchange is answered -ERR and the session goes on;
// "*" cancels.
func (s *session) cmdAUTH(cmd command) error {
	s.user = ""
	if len(cmd.args) == 0 {
		s.writeOK("Supported mechanisms follow")
		if s.plaintextAllowed() {
			for _, m := range s.mechanisms() {
				s.writeLine(m)
			}
		}
		s.writeLine(".")
		return nil
	}
	if err := args(cmd, 1, 2); err != nil {
		return err
	}
	mech := strings.ToUpper(cmd.args[0])
	if !slices.Contains(s.mechanisms(), mech) {
		return errf("Unsupported authentication mechanism")
	}
	if !s.plaintextAllowed() {
		user := ""
		if len(cmd.args) == 2 && mech == sasl.Plain {
			user = plainAuthcid(cmd.args[1])
		}
		s.recordRefusal(user, mech)
		return errPlaintext
	}
	a := &saslLogin{s: s}
	srv, err := sasl.New(s.ctx, mech, a)
	if err != nil {
		return errf("Unsupported authentication mechanism")
	}
	var resp []byte
	if len(cmd.args) == 2 {
		// RFC 5034 §4: "=" is an empty initial response.
		if cmd.args[1] != "=" {
			if resp, err = base64.StdEncoding.DecodeString(cmd.args[1]); err != nil {
				return errf("Invalid base64 data")
			}
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	for step := 0; ; step++ {
		chal, done, err := srv.Next(resp)
		if err != nil {
			return a.fail(s.saslError(err))
		}
		if done {
			break
		}
		if step >= maxSASLSteps {
			return a.fail(errf("Too many authentication steps"))
		}
		// RFC 5034 §4: a challenge is "+" SP base64; an empty one "+ ".
		s.w.WriteString("+ " + base64.StdEncoding.EncodeToString(chal) + "\r\n")
		if err := s.w.Flush(); err != nil {
			return a.fail(errAbort)
		}
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			return a.fail(errf("Line too long (limit %d octets); authentication aborted", maxSASLLine))
		}
		if err != nil {
			s.endOnReadError(err)
			return a.fail(errAbort)
		}
		if string(line) == "*" {
			return a.fail(errf("Authentication cancelled"))
		}
		if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			return a.fail(errf("Invalid base64 data"))
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	if a.md == nil {
		return errors.New("SASL exchange ended without a login")
	}
	return s.loggedIn(a.md, a.username)
}

// saslLogin is the sasl.Authenticator of one AUTH: it passes the credential
// to the backend's Login and keeps the maildrop it returns.
type saslLogin struct {
	s        *session
	md       Maildrop
	username string
}

// Authenticate implements sasl.Authenticator.
func (a *saslLogin) Authenticate(ctx context.Context, cr *sasl.Credential) error {
	md, err := a.s.backendLogin(LoginRequest{Username: cr.Username, Password: cr.Password,
		Mechanism: cr.Mechanism, Token: cr.Token, SCRAM: cr.SCRAM})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeAuth {
			return &sasl.InvalidCredentials{Err: err}
		}
		return err
	}
	a.md, a.username = md, cr.Username
	return nil
}

// SCRAMParams implements sasl.SCRAMLookup over the backend.
func (a *saslLogin) SCRAMParams(ctx context.Context, username string) ([]byte, int, error) {
	l, ok := a.s.srv.backend.(SCRAMLookup)
	if !ok {
		return nil, 0, errors.New("SCRAM is not offered")
	}
	return l.SCRAMParams(ctx, username)
}

// fail ends an exchange that did not complete: a maildrop already opened
// (SCRAM logs in before its last step) is closed again.
func (a *saslLogin) fail(err error) error {
	if a.md != nil {
		a.md.Close()
		a.md = nil
	}
	return err
}

// saslError maps the errors of a SASL exchange to responses.
func (s *session) saslError(err error) error {
	var (
		e  *Error
		pe *sasl.ProtocolError
	)
	switch {
	case errors.As(err, &e):
		s.log.Debug("login refused", "code", e.Code, "reason", e.Text)
		return e
	case errors.As(err, &pe):
		return &Error{Code: CodeAuth, Text: pe.Text}
	case errors.Is(err, sasl.ErrAuthzid):
		return &Error{Code: CodeAuth, Text: "Logging in as another user is not supported"}
	}
	return fmt.Errorf("login: %w", err)
}

// mechanisms lists the SASL mechanisms offered: the backend's
// (MechanismLister), else PLAIN and LOGIN.
func (s *session) mechanisms() []string {
	if l, ok := s.srv.backend.(MechanismLister); ok {
		return l.Mechanisms()
	}
	return []string{sasl.Plain, sasl.Login}
}

// login asks the backend and enters the TRANSACTION state (RFC 1939 §4).
// recordRefusal tells the backend, when it listens, of a login attempt
// refused for want of TLS.
func (s *session) recordRefusal(user, mech string) {
	if rr, ok := s.srv.backend.(RefusalRecorder); ok {
		rr.LoginRefused(s.ctx, LoginRequest{Username: user, Mechanism: mech, RemoteAddr: s.remote.String(), TLS: s.tls})
	}
}

// plainAuthcid returns the authentication identity of a SASL PLAIN
// response (RFC 4616), or "" when there is none or it does not decode.
func plainAuthcid(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

func (s *session) login(user, pass string) error {
	md, err := s.backendLogin(LoginRequest{Username: user, Password: pass, Mechanism: "USER"})
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return fmt.Errorf("login %s: %w", user, err)
		}
		s.log.Debug("login refused", "user", user, "code", e.Code, "reason", e.Text)
		return e // writeError logs its cause, if any
	}
	return s.loggedIn(md, user)
}

// backendLogin completes a login request with what the session knows and
// asks the backend.
func (s *session) backendLogin(req LoginRequest) (Maildrop, error) {
	req.RemoteAddr = s.remote.String()
	req.TLS = s.tls
	req.Kick = s.kick
	return s.srv.backend.Login(s.ctx, req)
}

// loggedIn enters the TRANSACTION state with a maildrop the backend opened.
func (s *session) loggedIn(md Maildrop, user string) error {
	s.md = md
	s.msgs = md.Messages()
	s.deleted = make([]bool, len(s.msgs))
	s.nDeleted = 0
	s.username = user
	s.state = stateTransaction
	s.log = s.log.With("user", user)
	n, size := s.stat()
	s.log.Debug("logged in", "tls", s.tls, "messages", n)
	s.writeOK(fmt.Sprintf("Logged in; %d messages (%d octets)", n, size))
	return nil
}

// cmdSTLS starts TLS (RFC 2595 §4).
func (s *session) cmdSTLS(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	if s.tls {
		return errf("TLS is already active")
	}
	if s.srv.tlsConfig == nil {
		return errf("STLS is not available")
	}
	s.user = ""
	s.writeOK("Begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		return errAbort
	}
	if err := s.handshake(); err != nil {
		s.log.Debug("STLS handshake failed", "err", err)
		return errAbort
	}
	return nil
}

// cmdQUIT ends the session; in the TRANSACTION state it is the UPDATE
// state of RFC 1939 §6: the marked messages are removed, all at once.
func (s *session) cmdQUIT(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	if s.state == stateAuthorization {
		s.writeOK("Gatehouse POP3 server signing off")
		return errClose
	}
	if s.nDeleted > 0 {
		idx := make([]int, 0, s.nDeleted)
		for i, d := range s.deleted {
			if d {
				idx = append(idx, i)
			}
		}
		if err := s.md.Delete(s.ctx, idx); err != nil {
			s.log.Error("QUIT: removing messages failed", "err", err, "messages", len(idx))
			s.writeError(&Error{Code: CodeSysTemp, Text: "Some deleted messages were not removed"})
			return errClose
		}
		s.log.Info("removed messages", "messages", len(idx))
	}
	n, _ := s.stat()
	// Unlock before answering (RFC 1939 §6: the server releases the maildrop
	// in the UPDATE state), so that a client that reconnects as soon as it
	// reads the answer finds the maildrop free, also on another node.
	s.releaseMaildrop()
	if n == 0 {
		s.writeOK("Gatehouse POP3 server signing off (maildrop empty)")
	} else {
		s.writeOK(fmt.Sprintf("Gatehouse POP3 server signing off (%d messages left)", n))
	}
	return errClose
}

// stat counts the messages not marked deleted and their octets.
func (s *session) stat() (int, int64) {
	n, size := 0, int64(0)
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += m.Size
		}
	}
	return n, size
}

// cmdSTAT: RFC 1939 §5.
func (s *session) cmdSTAT(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	n, size := s.stat()
	s.w.WriteString("+OK ")
	s.writeInt(int64(n))
	s.w.WriteByte(' ')
	s.writeInt(size)
	s.w.WriteString("\r\n")
	return nil
}

// cmdLIST: RFC 1939 §5, with and without a message number.
func (s *session) cmdLIST(cmd command) error {
	if err := args(cmd, 0, 1); err != nil {
		return err
	}
	if len(cmd.args) == 1 {
		i, err := s.message(cmd.args[0])
		if err != nil {
			return err
		}
		s.w.WriteString("+OK ")
		s.writeInt(int64(i + 1))
		s.w.WriteByte(' ')
		s.writeInt(s.msgs[i].Size)
		s.w.WriteString("\r\n")
		return nil
	}
	n, size := s.stat()
	s.writeOK(fmt.Sprintf("%d messages (%d octets)", n, size))
	for i, m := range s.msgs {
		if s.deleted[i] {
			continue
		}
		s.writeInt(int64(i + 1))
		s.w.WriteByte(' ')
		s.writeInt(m.Size)
		s.w.WriteString("\r\n")
	}
	s.writeLine(".")
	return nil
}

// cmdUIDL: RFC 1939 §7, with and without a message number.
func (s *session) cmdUIDL(cmd command) error {
	if err := args(cmd, 0, 1); err != nil {
		return err
	}
	if len(cmd.args) == 1 {
		i, err := s.message(cmd.args[0])
		if err != nil {
			return err
		}
		s.w.WriteString("+OK ")
		s.writeInt(int64(i + 1))
		s.w.WriteByte(' ')
		s.writeLine(s.msgs[i].UID)
		return nil
	}
	s.writeOK("Unique-ID listing follows")
	for i, m := range s.msgs {
		if s.deleted[i] {
			continue
		}
		s.writeInt(int64(i + 1))
		s.w.WriteByte(' ')
		s.writeLine(m.UID)
	}
	s.writeLine(".")
	return nil
}

// cmdRETR: RFC 1939 §5.
func (s *session) cmdRETR(cmd command) error {
	if err := args(cmd, 1, 1); err != nil {
		return err
	}
	i, err := s.message(cmd.args[0])
	if err != nil {
		return err
	}
	return s.sendMessage(i, -1)
}

// cmdTOP: RFC 1939 §7; the line count may be 0 or more than the body has.
func (s *session) cmdTOP(cmd command) error {
	if err := args(cmd, 2, 2); err != nil {
		return err
	}
	i, err := s.message(cmd.args[0])
	if err != nil {
		return err
	}
	n, ok := parseNumber(cmd.args[1])
	if !ok {
		return errf("Invalid line count")
	}
	return s.sendMessage(i, n)
}

// sendMessage streams message i as a multi-line response: all of it, or
// for TOP (lines >= 0) its header and that many body lines. The first
// chunk is read before "+OK", so that a message that cannot be read gets
// an -ERR; a failure later can only end the connection.
func (s *session) sendMessage(i int, lines int) error {
	m := s.msgs[i]
	bufp := s.srv.chunks.Get().(*[]byte)
	defer s.srv.chunks.Put(bufp)
	buf := *bufp

	read := func(off int64) (int, error) {
		want := int64(len(buf))
		if rest := m.Size - off; rest < want {
			want = rest
		}
		if want <= 0 {
			return 0, io.EOF
		}
		n, err := s.md.ReadBody(s.ctx, i, off, buf[:want])
		if n > 0 && errors.Is(err, io.EOF) {
			err = nil
		}
		return n, err
	}

	n, err := read(0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read message %d: %w", i+1, err)
	}
	if lines < 0 {
		s.w.WriteString("+OK ")
		s.writeInt(m.Size)
		s.w.WriteString(" octets\r\n")
	} else {
		s.writeOK("Top of message follows")
	}
	var bw *bodyWriter
	if lines < 0 {
		bw = newBodyWriter(s.w)
	} else {
		bw = newTopWriter(s.w, lines)
	}
	off := int64(0)
	for n > 0 {
		off += int64(n)
		if !bw.write(buf[:n]) {
			break
		}
		n, err = read(off)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.log.Error("reading message failed in the middle; closing", "msg", i+1, "offset", off, "err", err)
			return errAbort
		}
	}
	if lines < 0 && off != m.Size {
		s.log.Warn("message shorter than its size", "msg", i+1, "size", m.Size, "sent", off)
	}
	bw.finish()
	return nil
}

// cmdDELE marks a message (RFC 1939 §5); only QUIT removes it.
func (s *session) cmdDELE(cmd command) error {
	if err := args(cmd, 1, 1); err != nil {
		return err
	}
	i, err := s.message(cmd.args[0])
	if err != nil {
		return err
	}
	s.deleted[i] = true
	s.nDeleted++
	s.writeOK("Message " + strconv.Itoa(i+1) + " deleted")
	return nil
}

// cmdRSET unmarks all messages (RFC 1939 §5).
func (s *session) cmdRSET(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	clear(s.deleted)
	s.nDeleted = 0
	n, size := s.stat()
	s.writeOK(fmt.Sprintf("Maildrop has %d messages (%d octets)", n, size))
	return nil
}

// cmdNOOP: RFC 1939 §5.
func (s *session) cmdNOOP(cmd command) error {
	if err := args(cmd, 0, 0); err != nil {
		return err
	}
	s.writeOK("")
	return nil
}
