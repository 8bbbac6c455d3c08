package admincenter

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/webguard"
)

// secure sets the security headers of every response and keeps a panic in
// one request from taking down the listener's other requests.
func (c *Center) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webguard.SetSecurityHeaders(w, r)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				c.log.Error("panic in admin center request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				c.renderError(w, r, nil, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// handler is an admin center handler: it writes a page or a redirect, or
// returns an error that renderError turns into a page.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

var errCSRF = errors.New("csrf token missing or wrong")

// crossSite reports a request a browser marks as coming from another site
// (Fetch Metadata); such a request never changes anything here.
func crossSite(r *http.Request) bool { return webguard.CrossSite(r) }

// public serves pages that need no sign-in (the sign-in page). Its forms
// carry a CSRF token anchored in a pre-session cookie, so that another site
// cannot sign a browser in under the attacker's account.
func (c *Center) public(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pre := cookieValue(r, preSessionCookie)
		if pre == "" || len(pre) > 64 {
			pre = randomToken()
			http.SetCookie(w, cookie(r, preSessionCookie, pre, 0))
		}
		s := &session{csrf: csrfToken(pre)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				c.renderError(w, r, nil, userError(http.StatusBadRequest, "The form could not be read.", err.Error()))
				return
			}
			if crossSite(r) || !validCSRF(cookieValue(r, preSessionCookie), r.PostForm.Get("csrf")) {
				c.renderError(w, r, nil, errCSRF)
				return
			}
		}
		if err := h(w, r, s); err != nil {
			c.renderError(w, r, s, err)
		}
	}
}

// private serves pages for a signed-in administrator: it authenticates the
// session cookie through the service (role groups are read fresh, so a
// membership change applies to the next request) and checks the CSRF token
// of every POST before the handler runs.
func (c *Center) private(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := cookieValue(r, sessionCookie)
		caller, err := c.svc.Authenticate(r.Context(), token, service.SurfaceAdminCenter, clientIP(r))
		if err != nil {
			if errors.Is(err, service.ErrUnauthenticated) {
				c.toSignIn(w, r, token != "")
				return
			}
			c.renderError(w, r, nil, err)
			return
		}
		s := &session{token: token, caller: caller, csrf: csrfToken(token)}
		if r.Method == http.MethodPost {
			// A form larger than this is not one of ours.
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				c.renderError(w, r, s, userError(http.StatusBadRequest, "The form could not be read.", err.Error()))
				return
			}
			if crossSite(r) || !validCSRF(token, r.PostForm.Get("csrf")) {
				c.renderError(w, r, s, errCSRF)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r, s); err != nil {
			c.renderError(w, r, s, err)
		}
	}
}

// toSignIn sends a browser without a valid session to the sign-in page,
// remembering where it wanted to go (for a GET).
func (c *Center) toSignIn(w http.ResponseWriter, r *http.Request, expired bool) {
	if expired {
		http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	}
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != detailsPath {
		q.Set("next", r.URL.RequestURI())
	}
	if r.Method == http.MethodPost && r.URL.Path != signOutPath {
		// A change that arrived without a valid session: keep it to show
		// again after sign-in, and say that it was not saved.
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if r.ParseForm() == nil {
			q.Set("next", resumeURL(r))
		}
		q.Set("unsaved", "1")
	}
	if expired {
		q.Set("expired", "1")
	}
	to := signInPath
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	if r.Header.Get("X-Requested-With") == "fetch" {
		// The script's fragment requests: say so, the script reloads.
		w.Header().Set("X-Sign-In", to)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeNext accepts only a path inside the admin center as a place to go
// after sign-in, so that the sign-in page cannot be used to send someone to
// another site ("//evil.example", "/\evil.example", "https://...").
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, Base+"/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, signInPath) {
		return mailboxesPath
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return mailboxesPath
	}
	return next
}
