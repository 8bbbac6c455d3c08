package admincenter

import (
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type signInData struct {
	User    string
	Next    string
	Expired bool
	// Unsaved: a change arrived after the session had ended.
	Unsaved bool
}

// signInPage shows the sign-in form. A browser that is already signed in
// goes on to the mailboxes.
func (c *Center) signInPage(w http.ResponseWriter, r *http.Request, s *session) error {
	next := safeNext(r.URL.Query().Get("next"))
	if token := cookieValue(r, sessionCookie); token != "" {
		if _, err := c.svc.Authenticate(r.Context(), token, service.SurfaceAdminCenter, clientIP(r)); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
	}
	d := c.newPage(w, r, s, "Sign in", "", "")
	d.Data = signInData{Next: next, Expired: r.URL.Query().Get("expired") != "",
		Unsaved: r.URL.Query().Get("unsaved") != ""}
	c.render(w, r, http.StatusOK, "signin", d)
	return nil
}

// signIn checks the credentials through the service and sets the session
// cookie. A refusal shows the form again with the service's words, which
// never say whether the user exists.
func (c *Center) signIn(w http.ResponseWriter, r *http.Request, s *session) error {
	user, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	token, caller, err := c.svc.SignIn(r.Context(), user, password, service.SurfaceAdminCenter, clientIP(r))
	if err != nil {
		if !isSignIn(err) {
			return err
		}
		p := describe(err)
		setRetryAfter(w, err)
		c.log.Info("admin center sign-in refused", "user", user, "remote", clientIP(r))
		d := c.newPage(w, r, s, "Sign in", "", "")
		d.Problem = &p
		d.Data = signInData{User: user, Next: next, Unsaved: r.PostForm.Get("unsaved") != ""}
		c.render(w, r, p.Status, "signin", d)
		return nil
	}
	http.SetCookie(w, cookie(r, sessionCookie, token, c.ttl))
	// The pre-session cookie has done its work.
	http.SetCookie(w, cookie(r, preSessionCookie, "", -1))
	c.log.Info("admin center sign-in", "user", caller.Name, "remote", clientIP(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOut ends the sign-in in the service (the token stops working at
// once, on every node) and drops the cookie.
func (c *Center) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.svc.SignOut(r.Context(), s.token); err != nil {
		return err
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, signInPath, http.StatusSeeOther)
	return nil
}
