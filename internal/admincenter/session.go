package admincenter

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// Cookie names. The session cookie holds the service's sign-in token; the
// pre-session cookie only anchors the sign-in form's CSRF token; the flash
// cookie carries one message across a POST-redirect-GET.
const (
	sessionCookie    = "gatehouse_session"
	preSessionCookie = "gatehouse_signin"
	flashCookie      = "gatehouse_flash"
)

// session is the signed-in administrator of one request.
type session struct {
	token  string
	caller service.Caller
	// csrf is the token every form of this session carries.
	csrf string
}

// csrfToken derives the CSRF token of a session from its token: a one-way
// hash, so the page that shows it does not reveal the HttpOnly session
// token, and every node of a cluster computes the same value without a
// shared key. An attacker on another site can read neither.
func csrfToken(secret string) string {
	h := sha256.Sum256([]byte("gatehouse admin center csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func validCSRF(secret, got string) bool {
	if secret == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(csrfToken(secret)), []byte(got)) == 1
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// cookie builds one of our cookies: HttpOnly, SameSite=Strict, scoped to
// the admin center, and Secure when the request came over TLS (a plain
// HTTP listener on 127.0.0.1 must still work for a first start).
func cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: Base, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// clientIP is the address the audit log records. Forwarding headers are
// not trusted: anyone can send them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
