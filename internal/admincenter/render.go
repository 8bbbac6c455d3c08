package admincenter

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

//go:embed templates
var templateFS embed.FS

// pageData is what every page template receives; Data holds the page's own
// values.
type pageData struct {
	Title string
	// Feature and Tab mark the current place in the feature pane and tabs.
	Feature string
	Tab     string
	// Signed is the signed-in administrator (nil on the sign-in page).
	Signed  *service.Caller
	CSRF    string
	Flash   *flash
	Problem *problem
	Data    any
}

// pages holds one template set per page, each the layouts plus the page.
type pages struct {
	base *template.Template
	set  map[string]*template.Template
}

// The layouts a page can use; a page's file defines "content" and names
// its layout in a "layout" template.
func mustParsePages(a *assets) *pages {
	funcs := template.FuncMap{
		"asset":    a.url,
		"when":     when,
		"whenTime": whenTime,
		"can":      can,
		"deny":     denyReason,
		"plural":   plural,
		"count":    thousands,
		"add":      func(a, b int) int { return a + b },
		"sub":      func(a, b int) int { return a - b },
		"state":    stateClass,
		"join":     strings.Join,
		"lower":    strings.ToLower,
		"access":   accessOf,
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	p := &pages{base: base, set: map[string]*template.Template{}}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(f[len("templates/pages/"):], ".html")
		p.set[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return p
}

// newPage starts the data of a page and takes the flash message, if any.
func (c *Center) newPage(w http.ResponseWriter, r *http.Request, s *session, title, feature, tab string) *pageData {
	d := &pageData{Title: title, Feature: feature, Tab: tab, Flash: takeFlash(w, r)}
	if d.Flash == nil {
		d.Flash = resumeFlash(r)
	}
	if s != nil {
		d.CSRF = s.csrf
		if s.token != "" {
			caller := s.caller
			d.Signed = &caller
		}
	}
	return d
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (c *Center) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	t, ok := c.pages.set[name]
	if !ok {
		panic("admincenter: no page template " + name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", d); err != nil {
		c.log.Error("render page", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// renderFragment writes a named piece of HTML (the details pane) for the
// script to place in the page.
func (c *Center) renderFragment(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := c.pages.base.ExecuteTemplate(&b, name, data); err != nil {
		c.log.Error("render fragment", "fragment", name, "err", err)
		http.Error(w, "The pane could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// redirect ends a POST (POST-redirect-GET), optionally with a message for
// the next page.
func (c *Center) redirect(w http.ResponseWriter, r *http.Request, to string, f *flash) error {
	if f != nil {
		setFlash(w, r, *f)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// flash is a message shown once on the page after a redirect.
type flash struct {
	// Kind is "success", "warning" or "error".
	Kind  string   `json:"k"`
	Text  string   `json:"t"`
	Lines []string `json:"l,omitempty"`
}

// maxFlash keeps the cookie well under the 4 kB browsers accept.
const maxFlash = 3000

func setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	enc := func() string {
		b, _ := json.Marshal(f)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	v := enc()
	for len(v) > maxFlash && len(f.Lines) > 0 {
		n := len(f.Lines) / 2
		more := len(f.Lines) - n
		f.Lines = append(f.Lines[:n:n], fmt.Sprintf("... and %d more.", more))
		if n == 0 {
			f.Lines = nil
		}
		v = enc()
	}
	for len(v) > maxFlash {
		f.Text = f.Text[:len(f.Text)/2] + "..."
		v = enc()
	}
	http.SetCookie(w, cookie(r, flashCookie, v, 0))
}

func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	v := cookieValue(r, flashCookie)
	if v == "" {
		return nil
	}
	http.SetCookie(w, cookie(r, flashCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil || f.Text == "" {
		return nil
	}
	switch f.Kind {
	case "success", "warning", "error":
	default:
		f.Kind = "success"
	}
	return &f
}

// Template functions.

// when formats an optional time for the lists: UTC, to the minute.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "Never"
	}
	return whenTime(*t)
}

func whenTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func can(c *service.Caller, perm string) bool {
	return c != nil && c.Can(rbac.Permission(perm))
}

// denyReason says why a control is disabled for the caller, naming the
// management role and the role groups that grant it, as the service's
// refusal does.
func denyReason(c *service.Caller, perm string) string {
	groups := "no role group"
	if c != nil && len(c.Groups) > 0 {
		groups = strings.Join(c.Groups, ", ")
	}
	return fmt.Sprintf("You can't change this: your role groups (%s) don't include the %s role. It comes with: %s.",
		groups, perm, strings.Join(rbac.GroupsWith(rbac.Permission(perm)), ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// thousands writes 100000 as 100,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// stateClass is the CSS class of an access state (Enabled, Disabled,
// Blocked by security defaults).
func stateClass(s service.AccessState) string {
	switch s {
	case service.AccessEnabled:
		return "state-on"
	case service.AccessDisabled:
		return "state-off"
	}
	return "state-blocked"
}

// accessView is a protocol of a mailbox as the lists show it: the mailbox's
// own setting (what Set-CASMailbox changes and Bulk Edit sorts by) and,
// when they differ, the effective state (security defaults block it).
type accessView struct {
	Enabled bool
	Blocked bool
}

func accessOf(enabled bool, state service.AccessState) accessView {
	return accessView{Enabled: enabled, Blocked: state == service.AccessBlocked}
}
