// Package api is the REST API of Gatehouse (/api/v1/...): JSON resources
// named after the Exchange objects, with properties in PascalCase exactly as
// the cmdlets show them. Handlers call the service layer only; they return
// errors, and one function (writeError) turns every error into its HTTP
// status and the JSON body {"error": {"code", "message"}}.
//
// Routes are declared once, in a table that both registers them on the mux
// and generates the OpenAPI document served at /api/v1/openapi.json, so the
// two cannot drift apart.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// CookieName is the session cookie shared with the admin center: signing
// in through POST /api/v1/session also signs the browser in.
const CookieName = "gatehouse_session"

// SurfaceHeader lets the admin shell mark its requests, so that the audit
// log says "shell" for them.
const SurfaceHeader = "X-Gatehouse-Surface"

// Options configure the API.
type Options struct {
	Service *service.Service
	Logger  *slog.Logger
	// MaxBody bounds a request body (default 8 MiB: a bulk change of
	// 10,000 mailboxes fits).
	MaxBody int64
}

// API is the REST API handler.
type API struct {
	svc     *service.Service
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux
	routes  []route
}

// New returns the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody == 0 {
		o.MaxBody = 8 << 20
	}
	a := &API{svc: o.Service, log: o.Logger, maxBody: o.MaxBody, mux: http.NewServeMux()}
	a.routes = a.table()
	for _, rt := range a.routes {
		a.mux.Handle(rt.method+" "+rt.path, a.wrap(rt))
	}
	a.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, http.StatusOK, a.OpenAPI())
	})
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, &apiError{status: http.StatusNotFound, code: "NoSuchResource",
			msg: fmt.Sprintf("There is no %s %s in this API; see /api/v1/openapi.json.", r.Method, r.URL.Path)})
	})
	return a
}

// Handler serves /api/.
func (a *API) Handler() http.Handler { return a.mux }

// handler is one route's code; it returns the status and the value to
// serialize, or an error.
type handler func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error)

type route struct {
	method, path string
	summary      string
	// public routes need no sign-in.
	public bool
	// query parameters, request body type and response type, for OpenAPI.
	query    []param
	body     any
	response any
	h        handler
}

type param struct {
	name, typ, doc string
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func surface(r *http.Request) string {
	if strings.EqualFold(r.Header.Get(SurfaceHeader), service.SurfaceShell) {
		return service.SurfaceShell
	}
	return service.SurfaceAPI
}

// token returns the bearer token, or the session cookie.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in API handler", "path", r.URL.Path, "panic", p)
				a.writeError(w, r, fmt.Errorf("internal error"))
			}
		}()
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
		var c service.Caller
		if !rt.public {
			// Cookie sign-ins must not be usable cross-site: a state change
			// with a cookie needs the same origin (bearer tokens need not).
			if r.Header.Get("Authorization") == "" && r.Method != http.MethodGet && !sameOrigin(r) {
				a.writeError(w, r, &apiError{status: http.StatusForbidden, code: "CrossSiteRequest",
					msg: "A request signed in with a cookie must come from the same origin."})
				return
			}
			var err error
			c, err = a.svc.Authenticate(r.Context(), token(r), surface(r), clientIP(r))
			if err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), responseWriterKey{}, w))
		status, v, err := rt.h(r.Context(), c, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, r, status, v)
	})
}

func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin on cross-site POST/PATCH/DELETE; no Origin
		// means a non-browser client or a same-origin form.
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	return strings.TrimPrefix(strings.TrimPrefix(origin, "http://"), "https://") == r.Host
}

// writeJSON answers with v. Answers are indented for people reading them
// (curl, a browser), except to the admin shell's client, which marks its
// requests with SurfaceHeader and only decodes them: indenting a page of
// 1,000 mailboxes costs as much CPU as encoding it.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if surface(r) != service.SurfaceShell {
		enc.SetIndent("", "  ")
	}
	enc.Encode(v)
}

// apiError is an error with its HTTP form decided.
type apiError struct {
	status int
	code   string
	msg    string
	param  string
}

func (e *apiError) Error() string { return e.msg }

// httpError maps an error to its status, code and message: the one place
// where service errors take their HTTP form.
func httpError(err error) *apiError {
	var (
		ae   *apiError
		fe   *service.ForbiddenError
		nf   *service.NotFoundError
		amb  *service.AmbiguousError
		ve   *service.ValidationError
		ce   *service.ConflictError
		se   *service.SignInError
		oe   *opath.Error
		mbe  *http.MaxBytesError
		jste *json.SyntaxError
		jute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &se):
		if se.RetryAfter > 0 {
			return &apiError{status: http.StatusTooManyRequests, code: "TooManyAttempts", msg: se.Message}
		}
		return &apiError{status: http.StatusUnauthorized, code: "SignInFailed", msg: se.Message}
	case errors.Is(err, service.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: "Unauthenticated",
			msg: "Sign in first: POST /api/v1/session, then send the token as 'Authorization: Bearer <token>'. The token may have expired."}
	case errors.As(err, &fe):
		return &apiError{status: http.StatusForbidden, code: "AccessDenied", msg: fe.Error()}
	case errors.As(err, &nf):
		return &apiError{status: http.StatusNotFound, code: "NotFound", msg: nf.Error()}
	case errors.As(err, &amb):
		return &apiError{status: http.StatusConflict, code: "AmbiguousIdentity", msg: amb.Error()}
	case errors.As(err, &ce):
		return &apiError{status: http.StatusConflict, code: "Conflict", msg: ce.Error()}
	case errors.As(err, &oe):
		return &apiError{status: http.StatusBadRequest, code: "InvalidFilter", msg: oe.Error(), param: "filter"}
	case errors.As(err, &ve):
		code := "InvalidParameter"
		if ve.Parameter == "Filter" {
			code = "InvalidFilter"
		}
		return &apiError{status: http.StatusBadRequest, code: code, msg: ve.Message, param: ve.Parameter}
	case errors.As(err, &mbe):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "BodyTooLarge", msg: fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)}
	case errors.As(err, &jste):
		return &apiError{status: http.StatusBadRequest, code: "BadJSON", msg: fmt.Sprintf("The request body is not valid JSON (at byte %d): %v.", jste.Offset, jste)}
	case errors.As(err, &jute):
		return &apiError{status: http.StatusBadRequest, code: "BadJSON", param: jute.Field,
			msg: fmt.Sprintf("Property %s must be %s, not a JSON %s.", jute.Field, jsonType(jute.Type.Kind().String()), jute.Value)}
	case errors.Is(err, context.Canceled):
		return &apiError{status: 499, code: "Canceled", msg: "The request was canceled."}
	}
	return &apiError{status: http.StatusInternalServerError, code: "InternalError", msg: "The server failed to carry out the request; see its log."}
}

func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := httpError(err)
	if e.status >= 500 {
		a.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	var se *service.SignInError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(se.RetryAfter.Seconds())+1))
	}
	writeJSON(w, r, e.status, wire.ErrorBody{Error: wire.ErrorDetail{Code: e.code, Message: e.msg, Parameter: e.param}})
}

// decode reads a JSON body strictly: unknown properties are errors, so a
// misspelt property never silently does nothing.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &apiError{status: http.StatusBadRequest, code: "BadJSON", msg: "The request needs a JSON body."}
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &apiError{status: http.StatusBadRequest, code: "UnknownProperty", param: field,
				msg: fmt.Sprintf("A property named '%s' cannot be found on this object. Check the spelling (see /api/v1/openapi.json).", field)}
		}
		var mbe *http.MaxBytesError
		var ste *json.SyntaxError
		var ute *json.UnmarshalTypeError
		if errors.As(err, &mbe) || errors.As(err, &ste) || errors.As(err, &ute) {
			return err
		}
		return &apiError{status: http.StatusBadRequest, code: "BadJSON", msg: fmt.Sprintf("The request body is not valid JSON: %v.", err)}
	}
	if dec.More() {
		return &apiError{status: http.StatusBadRequest, code: "BadJSON", msg: "The request body holds more than one JSON value."}
	}
	return nil
}

func resultBody(r service.Result) wire.ResultBody {
	b := wire.ResultBody{Identity: r.Identity, Cmdlet: r.Cmdlet, NoChange: r.NoChange, Warning: r.Warning(), WhatIf: r.WhatIf,
		Changes: []wire.Change{}, Sessions: []wire.OpenSession{}}
	for _, s := range r.Sessions {
		b.Sessions = append(b.Sessions, openSessionWire(s))
	}
	for _, c := range r.Changes {
		b.Changes = append(b.Changes, wire.Change{Name: c.Name, OldValue: c.OldValue, NewValue: c.NewValue})
	}
	if r.WhatIf {
		b.WhatIfText = r.WhatIfText()
	}
	return b
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, ok := opath.ParseDate(v)
	if !ok {
		return t, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", param: name,
			msg: fmt.Sprintf("Cannot convert '%s' to a date for %s; use e.g. 2026-11-01 or 2026-11-01T10:00:00Z.", v, name)}
	}
	return t, nil
}
