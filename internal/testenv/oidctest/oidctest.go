// Package oidctest runs a local OpenID Connect issuer for tests: a real
// HTTP server on loopback serving discovery and a JWKS, signing tokens with
// go-jose. No packaged OpenID Connect provider is in the registries this
// project may use; this one implements only what a resource server reads
// (the sign-in tests of IMAP4, POP3 and SMTP submission share it).
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-mail/gatehouse/internal/config"
)

// Audience is the audience the issuer's tokens name and Configure sets.
const Audience = "gatehouse"

// Issuer is a local OpenID Connect issuer.
type Issuer struct {
	srv *httptest.Server
	mu  sync.Mutex
	// keys are published in the JWKS; signing may use one that is not.
	keys map[string]*rsa.PrivateKey
	pub  []string // kids published
}

// New starts an issuer with one published key, "k1"; it stops with the
// test.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{keys: map[string]*rsa.PrivateKey{}}
	is.AddKey(t, "k1", true)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks",
			"authorization_endpoint": is.srv.URL + "/authorize", "token_endpoint": is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, kid := range is.pub {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &is.keys[kid].PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// URL is the issuer's URL (the "iss" of its tokens).
func (is *Issuer) URL() string { return is.srv.URL }

// Configure points a server's configuration at the issuer, with the
// "email" claim naming the mailbox.
func (is *Issuer) Configure(c *config.Config) {
	c.OAuth = config.OAuth{Issuer: is.srv.URL, Audience: Audience, Claim: "email"}
}

// AddKey makes a signing key; publish puts it in the JWKS at once.
func (is *Issuer) AddKey(t testing.TB, kid string, publish bool) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = k
	if publish {
		is.pub = append(is.pub, kid)
	}
}

// Publish puts a key made before in the JWKS (a key rotation).
func (is *Issuer) Publish(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.pub = append(is.pub, kid)
}

// Claims are a valid token's claims for a mailbox, valid for an hour.
func (is *Issuer) Claims(email string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": is.srv.URL, "aud": Audience, "sub": "user-" + email, "email": email,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign signs claims with the key kid (RS256, compact JWS).
func (is *Issuer) Sign(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	key := is.keys[kid]
	is.mu.Unlock()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Unsigned is an "alg":"none" token (RFC 7519 §6).
func Unsigned(claims map[string]any) string {
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(claims)
	return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + "."
}
