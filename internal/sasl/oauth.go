package sasl

import (
	"bytes"
	"context"
	"errors"
	"strings"
)

// oauthServer is XOAUTH2 (Google's format: "user=" user ^A "auth=Bearer "
// token ^A ^A) and OAUTHBEARER (RFC 7628 §3.1: gs2-header ^A
// "auth=Bearer " token ^A [host=, port=, ...] ^A).
//
// A refused token is answered, as both formats want, with a JSON error as a
// challenge; the client answers with a dummy response (RFC 7628 §3.2.3:
// ^A; Google's clients: an empty line) and only then does the exchange end
// with the failure. A refusal after the token was accepted (protocol
// disabled, policy) ends the exchange at once with its own reason.
type oauthServer struct {
	ctx    context.Context
	a      Authenticator
	mech   string
	step   int
	failed error
}

// errorChallenge is the JSON of RFC 7628 §3.2.2, and of Google's XOAUTH2
// (there the status is an HTTP status).
func (s *oauthServer) errorChallenge() []byte {
	if s.mech == XOAuth2 {
		return []byte(`{"status":"401","schemes":"bearer"}`)
	}
	return []byte(`{"status":"invalid_token","schemes":"bearer"}`)
}

func (s *oauthServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte{}, false, nil
		}
	case 1:
	case 2:
		// The dummy response after the error challenge: whatever it is,
		// the exchange ends with the failure.
		s.step = 3
		return nil, true, s.failed
	default:
		return nil, true, protoErr("Unexpected authentication data")
	}
	s.step = 3
	var (
		c   *Credential
		err error
	)
	if s.mech == XOAuth2 {
		c, err = parseXOAuth2(resp)
	} else {
		c, err = parseOAuthBearer(resp)
	}
	if err != nil {
		return nil, true, err
	}
	err = s.a.Authenticate(s.ctx, c)
	var ic *InvalidCredentials
	if errors.As(err, &ic) {
		s.step, s.failed = 2, ic.Err
		return s.errorChallenge(), false, nil
	}
	return nil, true, err
}

// bearer takes the token out of an "auth" value: "Bearer" SP token, the
// scheme case-insensitive (RFC 6750 §2.1).
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

func parseXOAuth2(resp []byte) (*Credential, error) {
	c := &Credential{Mechanism: XOAuth2}
	for _, kv := range bytes.Split(resp, []byte{1}) {
		if len(kv) == 0 {
			continue
		}
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			return nil, protoErr("Invalid XOAUTH2 data")
		}
		switch k {
		case "user":
			c.Username = v
		case "auth":
			if c.Token, ok = bearer(v); !ok {
				return nil, protoErr("Invalid XOAUTH2 data: expected auth=Bearer <token>")
			}
		}
	}
	if c.Token == "" {
		return nil, protoErr("Invalid XOAUTH2 data: no token")
	}
	return c, nil
}

func parseOAuthBearer(resp []byte) (*Credential, error) {
	c := &Credential{Mechanism: OAuthBearer}
	// gs2-header = gs2-cbind-flag "," [ authzid ] "," (RFC 5801 §4).
	parts := bytes.SplitN(resp, []byte{','}, 3)
	if len(parts) != 3 {
		return nil, protoErr("Invalid OAUTHBEARER data")
	}
	switch string(parts[0]) {
	case "n", "y":
	default:
		// "p=": we offer no channel binding.
		return nil, protoErr("Invalid OAUTHBEARER data: channel binding is not supported")
	}
	if len(parts[1]) > 0 {
		a, ok := bytes.CutPrefix(parts[1], []byte("a="))
		if !ok {
			return nil, protoErr("Invalid OAUTHBEARER data")
		}
		user, err := saslname(string(a))
		if err != nil {
			return nil, err
		}
		c.Username = user
	}
	rest := parts[2]
	if len(rest) < 2 || rest[0] != 1 || !bytes.HasSuffix(rest, []byte{1, 1}) {
		return nil, protoErr("Invalid OAUTHBEARER data")
	}
	for _, kv := range bytes.Split(rest[1:len(rest)-2], []byte{1}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			return nil, protoErr("Invalid OAUTHBEARER data")
		}
		if k == "auth" {
			if c.Token, ok = bearer(v); !ok {
				return nil, protoErr("Invalid OAUTHBEARER data: expected auth=Bearer <token>")
			}
		}
	}
	if c.Token == "" {
		return nil, protoErr("Invalid OAUTHBEARER data: no token")
	}
	return c, nil
}

// saslname decodes a GS2/SCRAM saslname: "=2C" is ",", "=3D" is "=", and
// any other "=" is invalid (RFC 5801 §4, RFC 5802 §5.1).
func saslname(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", protoErr("Invalid user name encoding")
		}
		i += 2
	}
	return b.String(), nil
}
