package admincenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// problem is how the admin center shows an error: an HTTP status, a short
// title and a message an administrator can act on.
type problem struct {
	Status  int
	Title   string
	Message string
	// Internal errors are logged; their text is not shown.
	Internal bool
}

// userFacingError is an error of the admin center itself (a missing
// selection, an unreadable form) with the status and text to show.
type userFacingError struct {
	status         int
	title, message string
}

func (e *userFacingError) Error() string { return e.title + ": " + e.message }

func userError(status int, title, message string) error {
	return &userFacingError{status: status, title: title, message: message}
}

// describe maps every error to what the admin center shows: the one place
// where service errors become HTTP statuses and text. Service messages are
// Exchange's own words and are shown as they are.
func describe(err error) problem {
	var (
		ufe        *userFacingError
		signIn     *service.SignInError
		forbidden  *service.ForbiddenError
		notFound   *service.NotFoundError
		ambiguous  *service.AmbiguousError
		validation *service.ValidationError
		conflict   *service.ConflictError
	)
	switch {
	case errors.As(err, &ufe):
		return problem{Status: ufe.status, Title: ufe.title, Message: ufe.message}
	case errors.Is(err, errCSRF):
		return problem{Status: http.StatusForbidden, Title: "The form has expired",
			Message: "The form didn't come with a valid security token (it may be from an old page, another site, or a session that ended). Go back, reload the page and try again."}
	case errors.As(err, &signIn):
		status := http.StatusUnauthorized
		if signIn.RetryAfter > 0 {
			status = http.StatusTooManyRequests
		}
		return problem{Status: status, Title: "Sign-in failed", Message: signIn.Message}
	case errors.Is(err, service.ErrUnauthenticated):
		return problem{Status: http.StatusUnauthorized, Title: "Sign in", Message: "Sign in to use the admin center."}
	case errors.As(err, &forbidden):
		return problem{Status: http.StatusForbidden, Title: "Access denied", Message: forbidden.Error()}
	case errors.As(err, &notFound):
		return problem{Status: http.StatusNotFound, Title: "Not found", Message: notFound.Error()}
	case errors.As(err, &ambiguous):
		return problem{Status: http.StatusConflict, Title: "More than one match", Message: ambiguous.Error()}
	case errors.As(err, &validation):
		return problem{Status: http.StatusBadRequest, Title: "Check the values", Message: validation.Error()}
	case errors.As(err, &conflict):
		return problem{Status: http.StatusConflict, Title: "Already in use", Message: conflict.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem{Status: http.StatusServiceUnavailable, Title: "The request was interrupted",
			Message: "The server didn't finish this request in time. Try again.", Internal: true}
	}
	return problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Message:  "The server couldn't complete this request. The error was logged; try again, and if it happens again, tell the person who runs this server.",
		Internal: true}
}

// renderError writes the page for err (s is nil before sign-in). An
// unauthenticated error sends the browser to the sign-in page instead.
func (c *Center) renderError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if errors.Is(err, service.ErrUnauthenticated) && !isSignIn(err) {
		c.toSignIn(w, r, true)
		return
	}
	p := describe(err)
	if p.Internal {
		c.log.Error("admin center request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	} else {
		c.log.Info("admin center request refused", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	setRetryAfter(w, err)
	if r.URL.Path == detailsPath {
		// A fragment for the details pane, not a page.
		c.renderFragment(w, p.Status, "problem", p)
		return
	}
	d := c.newPage(w, r, s, p.Title, "", "")
	d.Problem = &p
	c.render(w, r, p.Status, "error", d)
}

// setRetryAfter tells a locked-out client when to try again (RFC 9110
// §10.2.3).
func setRetryAfter(w http.ResponseWriter, err error) {
	var signIn *service.SignInError
	if errors.As(err, &signIn) && signIn.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(signIn.RetryAfter.Seconds()+0.5)))
	}
}

func isSignIn(err error) bool {
	var e *service.SignInError
	return errors.As(err, &e)
}

// notFound is the page for paths the admin center doesn't have.
func (c *Center) notFound(w http.ResponseWriter, r *http.Request, s *session) error {
	return userError(http.StatusNotFound, "Page not found", fmt.Sprintf("There is no page at %s in the admin center.", r.URL.Path))
}
