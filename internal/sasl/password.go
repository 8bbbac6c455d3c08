package sasl

import (
	"bytes"
	"context"
)

// plainServer is PLAIN (RFC 4616): one response,
// [authzid] NUL authcid NUL passwd.
type plainServer struct {
	ctx  context.Context
	a    Authenticator
	done bool
}

func (s *plainServer) Next(resp []byte) ([]byte, bool, error) {
	if s.done {
		return nil, true, protoErr("Unexpected authentication data")
	}
	if resp == nil {
		// RFC 4422 §5: no initial response, so an empty challenge.
		return []byte{}, false, nil
	}
	s.done = true
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return nil, true, protoErr("Invalid PLAIN authentication data")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		return nil, true, ErrAuthzid
	}
	err := s.a.Authenticate(s.ctx, &Credential{Mechanism: Plain, Username: user, Password: pass})
	return nil, true, unwrapInvalid(err)
}

// loginServer is LOGIN (draft-murchison-sasl-login-00): the challenges
// "Username:" and "Password:", each answered by the bare value. A client may
// send the user name as initial response (§2.1).
type loginServer struct {
	ctx   context.Context
	a     Authenticator
	step  int
	user  string
	ended bool
}

func (s *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case s.ended:
		return nil, true, protoErr("Unexpected authentication data")
	case s.step == 0 && resp == nil:
		s.step = 1
		return []byte("Username:"), false, nil
	case s.step <= 1:
		if len(resp) == 0 || bytes.IndexByte(resp, 0) >= 0 {
			s.ended = true
			return nil, true, protoErr("Invalid LOGIN user name")
		}
		s.user = string(resp)
		s.step = 2
		return []byte("Password:"), false, nil
	}
	s.ended = true
	if bytes.IndexByte(resp, 0) >= 0 {
		return nil, true, protoErr("Invalid LOGIN password")
	}
	err := s.a.Authenticate(s.ctx, &Credential{Mechanism: Login, Username: s.user, Password: string(resp)})
	return nil, true, unwrapInvalid(err)
}
