package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
)

// AppPasswordLength is the length of an app password: 28 lowercase letters,
// log2(26^28) ≈ 131.6 bits of randomness, easy to type on a phone.
const AppPasswordLength = 28

// NewAppPassword returns a new random app password and the hash to store.
func NewAppPassword() (secret, hash string, err error) {
	b := make([]byte, AppPasswordLength)
	max := big.NewInt(26)
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", "", err
		}
		b[i] = 'a' + byte(n.Int64())
	}
	secret = string(b)
	return secret, AppPasswordHash(secret), nil
}

// AppPasswordHash is the stored form of an app password: its SHA-256, in
// hex. An app password is a random secret of more than 128 bits, not a word
// a person chose, so no guess list shortens a search of its space and a slow
// hash (argon2id, for passwords) would add nothing but cost at every login;
// nor does it need a salt, since no two secrets are alike. A plain hash also
// lets a login find it with one indexed read instead of trying every app
// password of the mailbox.
func AppPasswordHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// LooksLikeAppPassword reports whether s has the form of an app password.
// No password a person sets can have it: the password policy asks for three
// kinds of characters, and this is one kind only.
func LooksLikeAppPassword(s string) bool {
	if len(s) != AppPasswordLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
