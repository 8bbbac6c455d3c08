package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SCRAMIterations is the PBKDF2 iteration count of new SCRAM-SHA-256 keys:
// RFC 7677 §4 asks for at least 4096.
const SCRAMIterations = 4096

// SCRAMKeys are the SCRAM-SHA-256 keys of one password (RFC 5802 §3). The
// server never holds the password or SaltedPassword: StoredKey checks a
// client's proof, ServerKey signs the server's answer.
type SCRAMKeys struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewSCRAMKeys derives the keys of a password with a fresh 16-octet salt.
// SASLprep (RFC 4013) is not applied: the password is used as sent, as
// PLAIN and LOGIN use it.
func NewSCRAMKeys(password string) (SCRAMKeys, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	return DeriveSCRAMKeys(password, salt, SCRAMIterations)
}

// DeriveSCRAMKeys derives the keys of a password with a given salt:
//
//	SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i)
//	StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//	ServerKey      = HMAC(SaltedPassword, "Server Key")
func DeriveSCRAMKeys(password string, salt []byte, iterations int) (SCRAMKeys, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return SCRAMKeys{}, fmt.Errorf("scram keys: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return SCRAMKeys{Salt: salt, Iterations: iterations, StoredKey: stored[:], ServerKey: hmacSHA256(salted, "Server Key")}, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

const scramPrefix = "SCRAM-SHA-256$"

// String encodes the keys in RFC 5803's form:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func (k SCRAMKeys) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return scramPrefix + strconv.Itoa(k.Iterations) + ":" + b64(k.Salt) + "$" + b64(k.StoredKey) + ":" + b64(k.ServerKey)
}

// ErrNoSCRAMKeys is ParseSCRAMKeys's answer to an empty value: a password
// set before SCRAM keys were made.
var ErrNoSCRAMKeys = errors.New("no SCRAM-SHA-256 keys (made at the next password change)")

// ParseSCRAMKeys decodes String's form.
func ParseSCRAMKeys(s string) (SCRAMKeys, error) {
	if s == "" {
		return SCRAMKeys{}, ErrNoSCRAMKeys
	}
	bad := errors.New("malformed SCRAM-SHA-256 keys")
	rest, ok := strings.CutPrefix(s, scramPrefix)
	if !ok {
		return SCRAMKeys{}, bad
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return SCRAMKeys{}, bad
	}
	is, salt, ok1 := strings.Cut(params, ":")
	sk, svk, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return SCRAMKeys{}, bad
	}
	var k SCRAMKeys
	var err error
	if k.Iterations, err = strconv.Atoi(is); err != nil || k.Iterations < 1 {
		return SCRAMKeys{}, bad
	}
	dec := base64.StdEncoding.DecodeString
	if k.Salt, err = dec(salt); err != nil {
		return SCRAMKeys{}, bad
	}
	if k.StoredKey, err = dec(sk); err != nil || len(k.StoredKey) != sha256.Size {
		return SCRAMKeys{}, bad
	}
	if k.ServerKey, err = dec(svk); err != nil || len(k.ServerKey) != sha256.Size {
		return SCRAMKeys{}, bad
	}
	return k, nil
}

// VerifySCRAM checks a client's proof over authMessage (RFC 5802 §3):
//
//	ClientSignature = HMAC(StoredKey, AuthMessage)
//	ClientKey       = ClientProof XOR ClientSignature
//	ok             := SHA-256(ClientKey) == StoredKey
//
// and returns the ServerSignature, HMAC(ServerKey, AuthMessage), when it
// holds.
func (k SCRAMKeys) VerifySCRAM(authMessage, clientProof []byte) (serverSignature []byte, ok bool) {
	sig := hmacSHA256(k.StoredKey, string(authMessage))
	if len(clientProof) != len(sig) {
		return nil, false
	}
	clientKey := make([]byte, len(sig))
	subtle.XORBytes(clientKey, clientProof, sig)
	h := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(h[:], k.StoredKey) != 1 {
		return nil, false
	}
	return hmacSHA256(k.ServerKey, string(authMessage)), true
}
