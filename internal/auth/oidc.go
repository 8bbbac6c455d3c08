package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCOptions configure an OIDCVerifier.
type OIDCOptions struct {
	// Issuer is the OpenID Connect issuer URL; its discovery document
	// (/.well-known/openid-configuration) names the JWKS.
	Issuer string
	// Audience is the "aud" a token must carry.
	Audience string
	// Claim names the claim whose value names the mailbox ("email",
	// "preferred_username", "upn", ...).
	Claim string
	// HTTPClient fetches discovery and keys; nil: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// OIDCVerifier verifies OAuth 2.0 bearer tokens that are JWTs signed by an
// OpenID Connect issuer, with go-oidc: the issuer's discovery document is
// read at the first token (and again, at most every RetryDiscovery, while
// it fails), its JWKS is cached and fetched again when a token names a key
// it does not hold (rotation). A token is refused when its signature does
// not verify with the issuer's keys (an unsigned "alg":"none" token never
// does), when it is expired, from another issuer, or not for Audience, and
// when it lacks Claim.
type OIDCVerifier struct {
	o OIDCOptions

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
	lastErr  error
}

// RetryDiscovery is how long a failed discovery is remembered before the
// next token tries again.
const RetryDiscovery = 10 * time.Second

// NewOIDCVerifier returns a verifier; it makes no request until the first
// token.
func NewOIDCVerifier(o OIDCOptions) *OIDCVerifier {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Claim == "" {
		o.Claim = "email"
	}
	return &OIDCVerifier{o: o}
}

// get returns the token verifier, discovering the issuer first when needed.
func (v *OIDCVerifier) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if !v.failedAt.IsZero() && time.Since(v.failedAt) < RetryDiscovery {
		return nil, v.lastErr
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), v.o.HTTPClient), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, v.o.Issuer)
	if err != nil {
		v.failedAt, v.lastErr = time.Now(), fmt.Errorf("OpenID Connect discovery of %s failed: %w", v.o.Issuer, err)
		return nil, v.lastErr
	}
	// The provider fetches keys with its own background context and the
	// HTTP client, never with dctx. Its algorithms are the issuer's
	// id_token_signing_alg_values_supported that go-oidc supports (never
	// "none"), or RS256.
	v.verifier = p.Verifier(&oidc.Config{ClientID: v.o.Audience})
	return v.verifier, nil
}

// Verify implements the backend's TokenVerifier: it returns the value of
// the configured claim of a valid token. Errors say why a token was refused
// and never contain the token.
func (v *OIDCVerifier) Verify(ctx context.Context, token string) (string, error) {
	ver, err := v.get(ctx)
	if err != nil {
		return "", err
	}
	idt, err := ver.Verify(ctx, token)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return "", fmt.Errorf("token expired at %s", exp.Expiry.UTC().Format(time.RFC3339))
		}
		return "", err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("token claims: %w", err)
	}
	val, _ := claims[v.o.Claim].(string)
	if val == "" {
		return "", fmt.Errorf("the token has no %s claim naming a mailbox", v.o.Claim)
	}
	return val, nil
}
