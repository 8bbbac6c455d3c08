package admincenter

import (
	"net/http"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/webguard"
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

// csrfLabel keeps the admin center's CSRF tokens apart from those of
// other surfaces (webguard.CSRFToken).
const csrfLabel = "gatehouse admin center csrf"

func csrfToken(secret string) string { return webguard.CSRFToken(csrfLabel, secret) }

func validCSRF(secret, got string) bool { return webguard.ValidCSRF(csrfLabel, secret, got) }

func randomToken() string { return webguard.RandomToken() }

// cookie builds one of our cookies, scoped to the admin center.
func cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	return webguard.Cookie(r, Base, name, value, maxAge)
}

func cookieValue(r *http.Request, name string) string { return webguard.CookieValue(r, name) }

// clientIP is the address the audit log records.
func clientIP(r *http.Request) string { return webguard.ClientIP(r) }
