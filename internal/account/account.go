// Package account is /account, the page where a mailbox user signs in with
// their mail password and sees which mail apps they may use and why, the
// settings to connect with, their recent sign-ins with refusals and reasons,
// and changes their password.
//
// Invariants:
//   - Everything goes through the service layer: the sign-in (the one
//     throttle of every surface), the access decision (the one the logins
//     make), the login records, the password change (the one policy,
//     audited, every session closed).
//   - An /account session is good for /account only (service.SurfaceAccount):
//     an administrator who signs in here gets no administrative right.
//   - Every POST carries a CSRF token derived from the session (or, on the
//     sign-in form, from a pre-session cookie) and is refused from another
//     site; the Content-Security-Policy allows no inline script or style;
//     the pages need no script at all.
package account

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/autoconfig"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/webguard"
)

// Base is where the page is mounted.
const Base = "/account"

const (
	homePath     = Base + "/"
	signInPath   = Base + "/signin"
	signOutPath  = Base + "/signout"
	passwordPath = Base + "/password"
	appPwPath    = Base + "/apppasswords"
	appPwRevoke  = Base + "/apppasswords/revoke"
	cssPath      = Base + "/static/account.css"

	sessionCookie    = "gatehouse_account"
	preSessionCookie = "gatehouse_account_signin"
	csrfLabel        = "gatehouse account csrf"

	// signInsShown is how many login records the page lists.
	signInsShown = 20
)

// Settings returns the connection settings of an address (the servers it
// may use); autoconfig.(*Handler).SettingsFor, so that the page and the
// clients' autoconfiguration say the same.
type Settings func(ctx context.Context, address string) (autoconfig.Settings, error)

// Options configure the page.
type Options struct {
	Service  *service.Service
	Settings Settings
	Logger   *slog.Logger
	// SessionTTL is how long the browser keeps the session cookie (the
	// service's session lifetime, 12 h by default).
	SessionTTL time.Duration
	// Organization is shown in the title.
	Organization string
}

// Page is the /account surface.
type Page struct {
	o    Options
	log  *slog.Logger
	tmpl *template.Template
}

//go:embed templates/*.html
var templates embed.FS

//go:embed static/account.css
var css []byte

// New returns the page; it panics if the embedded templates do not parse,
// which the tests catch.
func New(o Options) *Page {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	t := template.Must(template.New("").Funcs(template.FuncMap{
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}).ParseFS(templates, "templates/*.html"))
	return &Page{o: o, log: o.Logger.With("surface", service.SurfaceAccount), tmpl: t}
}

// Handler serves /account/; mount it at "/account/" (and "/account").
func (p *Page) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+Base, http.RedirectHandler(homePath, http.StatusSeeOther))
	mux.HandleFunc("GET "+cssPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(css)
	})
	mux.HandleFunc("GET "+signInPath, p.public(p.signInPage))
	mux.HandleFunc("POST "+signInPath, p.public(p.signIn))
	mux.HandleFunc("POST "+signOutPath, p.private(p.signOut))
	mux.HandleFunc("GET "+homePath+"{$}", p.private(p.home))
	mux.HandleFunc("GET "+passwordPath, p.private(p.passwordPage))
	mux.HandleFunc("POST "+passwordPath, p.private(p.changePassword))
	mux.HandleFunc("POST "+appPwPath, p.private(p.newAppPassword))
	mux.HandleFunc("POST "+appPwRevoke, p.private(p.revokeAppPassword))
	mux.HandleFunc(homePath, func(w http.ResponseWriter, r *http.Request) {
		p.render(w, http.StatusNotFound, "problem", &view{Title: "Page not found",
			Problem: "There is no such page. Go to your account: " + homePath})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webguard.SetSecurityHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				p.log.Error("panic in /account request", "path", r.URL.Path, "panic", v)
				p.render(w, http.StatusInternalServerError, "problem", &view{Title: "Something went wrong",
					Problem: "Something went wrong on the server. Nothing was changed. Try again."})
			}
		}()
		mux.ServeHTTP(w, r)
	})
}

// view is what every template receives.
type view struct {
	Title   string
	CSRF    string
	User    *service.AccountUser
	Problem string
	Notice  string
	Data    any
}

// handler is a page handler; u is nil on public pages.
type handler func(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error

// public serves the sign-in form: its CSRF token is anchored in a
// pre-session cookie, so that another site cannot sign a browser in under
// the attacker's account.
func (p *Page) public(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pre := webguard.CookieValue(r, preSessionCookie)
		if pre == "" || len(pre) > 64 {
			pre = webguard.RandomToken()
			http.SetCookie(w, webguard.Cookie(r, Base, preSessionCookie, pre, 0))
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				p.render(w, http.StatusBadRequest, "problem", &view{Title: "Bad request", Problem: "The form could not be read."})
				return
			}
			if webguard.CrossSite(r) || !webguard.ValidCSRF(csrfLabel, webguard.CookieValue(r, preSessionCookie), r.PostForm.Get("csrf")) {
				p.csrfRefused(w)
				return
			}
		}
		if err := h(w, r, nil, webguard.CSRFToken(csrfLabel, pre)); err != nil {
			p.fail(w, err)
		}
	}
}

// private serves the pages of a signed-in user; a browser without a valid
// session goes to the sign-in form.
func (p *Page) private(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := webguard.CookieValue(r, sessionCookie)
		u, err := p.o.Service.AccountAuthenticate(r.Context(), token, webguard.ClientIP(r))
		if err != nil {
			if errors.Is(err, service.ErrUnauthenticated) {
				if token != "" {
					http.SetCookie(w, webguard.Cookie(r, Base, sessionCookie, "", -1))
				}
				to := signInPath
				if token != "" {
					to += "?expired=1"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			p.fail(w, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				p.render(w, http.StatusBadRequest, "problem", &view{Title: "Bad request", Problem: "The form could not be read.", User: &u})
				return
			}
			if webguard.CrossSite(r) || !webguard.ValidCSRF(csrfLabel, token, r.PostForm.Get("csrf")) {
				p.csrfRefused(w)
				return
			}
		}
		if err := h(w, r, &u, webguard.CSRFToken(csrfLabel, token)); err != nil {
			p.fail(w, err)
		}
	}
}

func (p *Page) csrfRefused(w http.ResponseWriter) {
	p.render(w, http.StatusForbidden, "problem", &view{Title: "Form refused",
		Problem: "The form was refused: it had expired, or it was sent from another site. Nothing was changed. Open the page again and retry."})
}

// fail renders an unexpected error; the details go to the log only.
func (p *Page) fail(w http.ResponseWriter, err error) {
	p.log.Error("/account request failed", "err", err)
	p.render(w, http.StatusInternalServerError, "problem", &view{Title: "Something went wrong",
		Problem: "The server could not complete the request. Nothing was changed. Try again in a moment."})
}

func (p *Page) render(w http.ResponseWriter, status int, name string, v *view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, v); err != nil {
		p.log.Error("render /account page", "page", name, "err", err)
	}
}

// signInPage shows the form; a signed-in browser goes to the account.
func (p *Page) signInPage(w http.ResponseWriter, r *http.Request, _ *service.AccountUser, csrf string) error {
	if token := webguard.CookieValue(r, sessionCookie); token != "" {
		if _, err := p.o.Service.AccountAuthenticate(r.Context(), token, webguard.ClientIP(r)); err == nil {
			http.Redirect(w, r, homePath, http.StatusSeeOther)
			return nil
		}
	}
	v := &view{Title: "Sign in to your account", CSRF: csrf, Data: signInData{}}
	if r.URL.Query().Get("expired") != "" {
		v.Notice = "You were signed out. Sign in again."
	}
	p.render(w, http.StatusOK, "signin", v)
	return nil
}

type signInData struct{ User string }

func (p *Page) signIn(w http.ResponseWriter, r *http.Request, _ *service.AccountUser, csrf string) error {
	user, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	token, u, err := p.o.Service.AccountSignIn(r.Context(), user, password, webguard.ClientIP(r))
	if err != nil {
		var se *service.SignInError
		if !errors.As(err, &se) {
			return err
		}
		status := http.StatusUnauthorized
		if se.RetryAfter > 0 {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(se.RetryAfter.Round(time.Second)/time.Second)))
		}
		p.log.Info("account sign-in refused", "remote", webguard.ClientIP(r))
		p.render(w, status, "signin", &view{Title: "Sign in to your account", CSRF: csrf, Problem: se.Message,
			Data: signInData{User: user}})
		return nil
	}
	http.SetCookie(w, webguard.Cookie(r, Base, sessionCookie, token, p.o.SessionTTL))
	http.SetCookie(w, webguard.Cookie(r, Base, preSessionCookie, "", -1))
	p.log.Info("account sign-in", "user", u.UserPrincipalName, "remote", webguard.ClientIP(r))
	http.Redirect(w, r, homePath, http.StatusSeeOther)
	return nil
}

func (p *Page) signOut(w http.ResponseWriter, r *http.Request, _ *service.AccountUser, _ string) error {
	if err := p.o.Service.SignOut(r.Context(), webguard.CookieValue(r, sessionCookie)); err != nil {
		return err
	}
	http.SetCookie(w, webguard.Cookie(r, Base, sessionCookie, "", -1))
	http.Redirect(w, r, signInPath, http.StatusSeeOther)
	return nil
}

type homeData struct {
	Apps     []service.MailApp
	Settings autoconfig.Settings
	SignIns  []service.SignIn
	// AppPasswords are the mailbox's own app passwords.
	AppPasswords []service.AppPassword
	// ProfileURL downloads the Apple configuration profile ("" when the
	// mailbox may not use what a profile needs).
	ProfileURL string
}

func (p *Page) home(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error {
	ctx := r.Context()
	apps, err := p.o.Service.AccountMailApps(ctx, *u)
	if err != nil {
		return err
	}
	d := homeData{Apps: apps}
	if p.o.Settings != nil {
		if d.Settings, err = p.o.Settings(ctx, u.PrimarySmtpAddress); err != nil {
			return err
		}
		if len(d.Settings.Incoming) > 0 && len(d.Settings.Outgoing) > 0 {
			d.ProfileURL = autoconfig.ApplePath + "?emailaddress=" + template.URLQueryEscaper(u.PrimarySmtpAddress)
		}
	}
	if d.SignIns, err = p.o.Service.AccountSignIns(ctx, *u, signInsShown); err != nil {
		return err
	}
	if d.AppPasswords, err = p.o.Service.OwnAppPasswords(ctx, u.Caller()); err != nil {
		return err
	}
	v := &view{Title: "Your account", CSRF: csrf, User: u, Data: d}
	switch {
	case r.URL.Query().Get("changed") != "":
		v.Notice = "Your password was changed. Mail apps that were signed in with the old password were signed out, and your app passwords were revoked: sign the apps in again with the new password, or make new app passwords."
	case r.URL.Query().Get("revoked") != "":
		v.Notice = "The app password was revoked. Mail apps that signed in with it were signed out."
	}
	p.render(w, http.StatusOK, "home", v)
	return nil
}

// newAppPassword makes an app password and shows its secret this once, on
// the answer to the POST itself (no redirect, so the secret travels in no
// URL, and no-store like every /account answer).
func (p *Page) newAppPassword(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error {
	res, err := p.o.Service.NewOwnAppPassword(r.Context(), u.Caller(), r.PostForm.Get("name"), false)
	if err != nil {
		if userError(err) {
			p.render(w, http.StatusBadRequest, "problem", &view{Title: "App password not made", User: u,
				Problem: err.Error() + " Nothing was changed. Go back to your account: " + homePath})
			return nil
		}
		return err
	}
	p.render(w, http.StatusOK, "apppassword", &view{Title: "Your new app password", CSRF: csrf, User: u, Data: res})
	return nil
}

func (p *Page) revokeAppPassword(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error {
	name := r.PostForm.Get("name")
	if _, err := p.o.Service.RemoveOwnAppPassword(r.Context(), u.Caller(), name, false); err != nil {
		if userError(err) {
			p.render(w, http.StatusBadRequest, "problem", &view{Title: "App password not revoked", User: u,
				Problem: err.Error() + " Nothing was changed. Go back to your account: " + homePath})
			return nil
		}
		return err
	}
	http.Redirect(w, r, homePath+"?revoked=1", http.StatusSeeOther)
	return nil
}

type passwordData struct {
	MinLength int
	Policy    string
}

func (p *Page) passwordPage(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error {
	p.render(w, http.StatusOK, "password", &view{Title: "Change your password", CSRF: csrf, User: u,
		Data: passwordData{MinLength: service.MinPasswordLength, Policy: service.PasswordPolicyText}})
	return nil
}

func (p *Page) changePassword(w http.ResponseWriter, r *http.Request, u *service.AccountUser, csrf string) error {
	current, next, again := r.PostForm.Get("current"), r.PostForm.Get("new"), r.PostForm.Get("confirm")
	again2 := func(status int, msg string) error {
		p.render(w, status, "password", &view{Title: "Change your password", CSRF: csrf, User: u, Problem: msg,
			Data: passwordData{MinLength: service.MinPasswordLength, Policy: service.PasswordPolicyText}})
		return nil
	}
	if next != again {
		return again2(http.StatusBadRequest, "The new password and its confirmation are not the same. Nothing was changed.")
	}
	token, err := p.o.Service.ChangeOwnPassword(r.Context(), *u, current, next)
	if err != nil {
		var ve *service.ValidationError
		var se *service.SignInError
		switch {
		case errors.As(err, &ve):
			return again2(http.StatusBadRequest, ve.Message+" Nothing was changed.")
		case errors.As(err, &se):
			if se.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(se.RetryAfter.Round(time.Second)/time.Second)))
			}
			return again2(http.StatusTooManyRequests, se.Message+" Nothing was changed.")
		}
		return err
	}
	http.SetCookie(w, webguard.Cookie(r, Base, sessionCookie, token, p.o.SessionTTL))
	http.Redirect(w, r, homePath+"?changed=1", http.StatusSeeOther)
	return nil
}

// userError reports a refusal the user can act on (a bad or taken name, an
// app password that is gone), shown in words; anything else is the
// server's failure.
func userError(err error) bool {
	var (
		ve *service.ValidationError
		nf *service.NotFoundError
		ce *service.ConflictError
		ae *service.AmbiguousError
	)
	return errors.As(err, &ve) || errors.As(err, &nf) || errors.As(err, &ce) || errors.As(err, &ae)
}
