// Package webguard holds the browser-facing safeguards that the admin
// center and the users' /account page share: CSRF tokens derived from the
// session, cookies, security headers, Fetch Metadata and the client
// address. One copy, so that a rule tightened for one surface holds for
// both.
package webguard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"time"
)

// CSRFToken derives the CSRF token of a session from its secret (the
// session token, or a pre-session cookie): a one-way hash under a label
// naming the surface, so that the page showing it does not reveal the
// HttpOnly secret, a token of one surface is no token of another, and every
// node of a cluster computes the same value without a shared key.
func CSRFToken(label, secret string) string {
	h := sha256.Sum256([]byte(label + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// ValidCSRF reports whether got is the CSRF token of secret.
func ValidCSRF(label, secret, got string) bool {
	if secret == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(CSRFToken(label, secret)), []byte(got)) == 1
}

// RandomToken returns 24 random bytes, base64url.
func RandomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Cookie builds a cookie: HttpOnly, SameSite=Strict, scoped to path, and
// Secure when the request came over TLS (a plain HTTP listener on
// 127.0.0.1 must still work for a first start). maxAge < 0 deletes it, 0
// makes a session cookie.
func Cookie(r *http.Request, path, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// CookieValue returns the value of the named cookie, or "".
func CookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// ClientIP is the address audit records and throttles use. Forwarding
// headers are not trusted: anyone can send them.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CrossSite reports a request a browser marks as coming from another site
// (Fetch Metadata); such a request never changes anything.
func CrossSite(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "cross-site"
}

// ContentSecurityPolicy allows scripts and styles from the surface's own
// static files only: no inline script, no inline style, no framing
// (clickjacking), forms posting only here.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SetSecurityHeaders sets the headers every page of a browser surface
// carries.
func SetSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}
