package sasl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
)

// scramServer is SCRAM-SHA-256 (RFC 5802 §5 with RFC 7677's hash), without
// channel binding (we do not offer SCRAM-SHA-256-PLUS):
//
//	C: gs2-header client-first-message-bare      (n,,n=user,r=cnonce)
//	S: server-first-message                      (r=cnonce+snonce,s=salt,i=4096)
//	C: client-final-message                      (c=biws,r=nonce,p=proof)
//	S: server-final-message                      (v=signature)
//	C: (empty)
//
// The proof is checked by the Authenticator (it holds StoredKey and
// ServerKey); the mechanism checks the framing, the nonce and the channel
// binding echo. SASLprep (RFC 4013) of the user name is not applied: names
// are compared as the directory compares them.
type scramServer struct {
	ctx    context.Context
	a      Authenticator
	lookup SCRAMLookup
	nonce  func() string // tests set it

	step        int
	gs2Header   string
	clientFirst string // client-first-message-bare
	serverFirst string
	fullNonce   string
	user        string
}

func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *scramServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte{}, false, nil
		}
		return s.first(resp)
	case 1:
		return s.first(resp)
	case 2:
		return s.final(resp)
	case 3:
		// The client's empty answer to the server-final-message.
		s.step = 4
		if len(resp) != 0 {
			return nil, true, protoErr("Unexpected SCRAM data after the server's signature")
		}
		return nil, true, nil
	}
	return nil, true, protoErr("Unexpected authentication data")
}

func (s *scramServer) fail(text string) ([]byte, bool, error) {
	s.step = 4
	return nil, true, protoErr("%s", text)
}

// first takes the client-first-message (RFC 5802 §7):
// gs2-cbind-flag "," [authzid] "," [reserved-mext ","] username "," nonce ["," extensions].
func (s *scramServer) first(resp []byte) ([]byte, bool, error) {
	msg := string(resp)
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return s.fail("Invalid SCRAM client-first-message")
	}
	switch {
	case flag == "n" || flag == "y":
	case strings.HasPrefix(flag, "p="):
		return s.fail("SCRAM channel binding is not supported; use SCRAM-SHA-256 without -PLUS")
	default:
		return s.fail("Invalid SCRAM client-first-message")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return s.fail("Invalid SCRAM client-first-message")
	}
	s.gs2Header = flag + "," + authz + ","
	s.clientFirst = bare
	if strings.HasPrefix(bare, "m=") {
		return s.fail("SCRAM mandatory extensions are not supported")
	}
	fields := strings.Split(bare, ",")
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "n=") || !strings.HasPrefix(fields[1], "r=") {
		return s.fail("Invalid SCRAM client-first-message")
	}
	user, err := saslname(fields[0][2:])
	if err != nil || user == "" {
		return s.fail("Invalid SCRAM user name")
	}
	if authz != "" {
		a, ok := strings.CutPrefix(authz, "a=")
		if !ok {
			return s.fail("Invalid SCRAM client-first-message")
		}
		if a, err = saslname(a); err != nil {
			return s.fail("Invalid SCRAM authorization identity")
		}
		if a != user {
			s.step = 4
			return nil, true, ErrAuthzid
		}
	}
	cnonce := fields[1][2:]
	if cnonce == "" || !printable(cnonce) {
		return s.fail("Invalid SCRAM nonce")
	}
	salt, iter, err := s.lookup.SCRAMParams(s.ctx, user)
	if err != nil {
		s.step = 4
		return nil, true, err
	}
	gen := s.nonce
	if gen == nil {
		gen = newNonce
	}
	s.user = user
	s.fullNonce = cnonce + gen()
	s.serverFirst = "r=" + s.fullNonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(iter)
	s.step = 2
	return []byte(s.serverFirst), false, nil
}

// final takes the client-final-message (RFC 5802 §7):
// channel-binding "," nonce ["," extensions] "," proof.
func (s *scramServer) final(resp []byte) ([]byte, bool, error) {
	msg := string(resp)
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return s.fail("Invalid SCRAM client-final-message")
	}
	withoutProof := msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) == 0 {
		return s.fail("Invalid SCRAM proof")
	}
	fields := strings.Split(withoutProof, ",")
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "c=") || !strings.HasPrefix(fields[1], "r=") {
		return s.fail("Invalid SCRAM client-final-message")
	}
	cb, err := base64.StdEncoding.DecodeString(fields[0][2:])
	if err != nil || !bytes.Equal(cb, []byte(s.gs2Header)) {
		return s.fail("SCRAM channel binding data do not match")
	}
	if fields[1][2:] != s.fullNonce {
		return s.fail("SCRAM nonce does not match")
	}
	p := &SCRAMProof{
		AuthMessage: []byte(s.clientFirst + "," + s.serverFirst + "," + withoutProof),
		ClientProof: proof,
	}
	s.step = 4
	err = s.a.Authenticate(s.ctx, &Credential{Mechanism: ScramSHA256, Username: s.user, SCRAM: p})
	if err != nil {
		return nil, true, unwrapInvalid(err)
	}
	if len(p.ServerSignature) == 0 {
		// An Authenticator that let the user in without checking the
		// proof: never happens with a correct one; refuse rather than
		// send a signature we do not have.
		return nil, true, protoErr("SCRAM proof was not verified")
	}
	s.step = 3
	return []byte("v=" + base64.StdEncoding.EncodeToString(p.ServerSignature)), false, nil
}

// printable is RFC 5802's printable: %x21-2B / %x2D-7E (no comma).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}
