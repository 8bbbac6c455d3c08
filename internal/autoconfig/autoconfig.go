// Package autoconfig hands mail clients the settings of this server for an
// email address: Thunderbird's autoconfig file (config-v1.1.xml, also read
// by K-9/Thunderbird for Android, Evolution and others), Outlook's "plain
// old XML" Autodiscover, and an Apple configuration profile.
//
// Invariants:
//   - An answer offers only the protocols the address's mailbox may use
//     right now, by the decision the logins make (service.AutoconfigAccess,
//     access.DecidePassword), read fresh for every request.
//   - An address that is no mailbox's gets what a new mailbox would get, so
//     the answer for a mailbox nobody restricted is byte for byte the one
//     for an unknown address, and both cost the same reads. (A restricted
//     mailbox's answer differs by what is withheld: that is the point of
//     following the access rule, and tells no more than a login would.)
//   - Servers with implicit TLS come first, then STARTTLS; plaintext ports
//     are never offered without STARTTLS.
//   - A malformed address is answered 400 and nothing is looked up.
package autoconfig

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// Endpoint is one listener as clients reach it: a host name and a port.
// A zero Port means the listener is off.
type Endpoint struct {
	Host string
	Port int
}

// Servers are the mail listeners clients are told about.
type Servers struct {
	IMAPS, IMAP             Endpoint // implicit TLS; STARTTLS
	POP3S, POP3             Endpoint
	Submissions, Submission Endpoint
}

// Options configure the handler.
type Options struct {
	Service *service.Service
	Servers Servers
	// Domain is the organization's email domain, Organization its
	// display name (the account's name in the clients).
	Domain       string
	Organization string
	Logger       *slog.Logger
}

// Handler serves the autoconfiguration documents.
type Handler struct {
	o   Options
	log *slog.Logger
}

// New returns the handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{o: o, log: o.Logger.With("surface", "autoconfig")}
}

// The paths.
const (
	// ThunderbirdWellKnownPath is where Thunderbird looks on the domain
	// itself (https://example.com/.well-known/autoconfig/mail/config-v1.1.xml).
	ThunderbirdWellKnownPath = "/.well-known/autoconfig/mail/config-v1.1.xml"
	// ThunderbirdHostPath is where it looks on autoconfig.<domain>.
	ThunderbirdHostPath = "/mail/config-v1.1.xml"
	// AutodiscoverPath is Outlook's POX Autodiscover (also on
	// autodiscover.<domain>); clients send it in either case.
	AutodiscoverPath = "/autodiscover/autodiscover.xml"
	// ApplePath serves the configuration profile.
	ApplePath = "/autoconfig/apple.mobileconfig"
)

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	handle := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, headers(f)) }
	handle("GET "+ThunderbirdWellKnownPath, h.thunderbird)
	handle("GET "+ThunderbirdHostPath, h.thunderbird)
	for _, p := range []string{AutodiscoverPath, "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"} {
		handle("POST "+p, h.autodiscover)
		handle("GET "+p, h.autodiscover)
	}
	handle("GET "+ApplePath, h.apple)
}

// Handler returns a handler serving only the autoconfiguration routes (the
// --autoconfig listener).
func (h *Handler) Handler() http.Handler {
	mux := http.NewServeMux()
	h.Register(mux)
	return headers(mux) // the 404s too
}

// headers sets what every answer of the public listener carries.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// MaxAddressLength is the longest address accepted (RFC 5321 §4.5.3.1.3:
// a path is at most 256 octets with its brackets).
const MaxAddressLength = 254

// ErrMalformed is the error of an address that is not addr-spec.
var ErrMalformed = errors.New("malformed email address")

// ParseAddress checks that s is a bare address (local@domain, no display
// name or comments) and returns it with the domain in lower case.
func ParseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxAddressLength || strings.ContainsAny(s, " \t\r\n<>()\",;\\") {
		return "", ErrMalformed
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrMalformed
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > 64 || at == len(s)-1 {
		return "", ErrMalformed
	}
	domain := strings.ToLower(s[at+1:])
	if !validDomain(domain) {
		return "", ErrMalformed
	}
	return s[:at] + "@" + domain, nil
}

func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// server is one server offered to a client, in the order of preference.
type server struct {
	protocol access.Protocol
	kind     string // "imap", "pop3", "smtp"
	Endpoint
	implicitTLS bool
}

// offer lists the servers an address may use: per protocol, implicit TLS
// first, then STARTTLS; IMAP4 before POP3 (it keeps mail on the server,
// where the user's other devices see it).
func (h *Handler) offer(ca service.ClientAccess) (incoming, outgoing []server) {
	s := h.o.Servers
	add := func(list *[]server, p access.Protocol, kind string, tlsEP, starttlsEP Endpoint) {
		if !ca.Allowed(p) {
			return
		}
		if tlsEP.Port != 0 {
			*list = append(*list, server{protocol: p, kind: kind, Endpoint: tlsEP, implicitTLS: true})
		}
		if starttlsEP.Port != 0 {
			*list = append(*list, server{protocol: p, kind: kind, Endpoint: starttlsEP})
		}
	}
	add(&incoming, access.IMAP4, "imap", s.IMAPS, s.IMAP)
	add(&incoming, access.POP3, "pop3", s.POP3S, s.POP3)
	add(&outgoing, access.SMTP, "smtp", s.Submissions, s.Submission)
	return incoming, outgoing
}

// Settings are the connection settings of one address, as /account shows
// them.
type Settings struct {
	Incoming, Outgoing []Setting
}

// Setting is one server a client may use.
type Setting struct {
	Protocol string // "IMAP4", "POP3", "Authenticated SMTP"
	Host     string
	Port     int
	// Security is "SSL/TLS" (implicit TLS) or "STARTTLS".
	Security string
}

// SettingsFor returns the servers address may use, from the same source as
// the documents.
func (h *Handler) SettingsFor(ctx context.Context, address string) (Settings, error) {
	ca, err := h.o.Service.AutoconfigAccess(ctx, address)
	if err != nil {
		return Settings{}, err
	}
	in, out := h.offer(ca)
	conv := func(list []server) []Setting {
		var r []Setting
		for _, s := range list {
			sec := "STARTTLS"
			if s.implicitTLS {
				sec = "SSL/TLS"
			}
			r = append(r, Setting{Protocol: s.protocol.Display(), Host: s.Host, Port: s.Port, Security: sec})
		}
		return r
	}
	return Settings{Incoming: conv(in), Outgoing: conv(out)}, nil
}

// lookup parses the address and decides what it may use; it writes the
// error answer itself and returns ok false.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request, raw string) (string, service.ClientAccess, bool) {
	addr, err := ParseAddress(raw)
	if err != nil {
		http.Error(w, "emailaddress: not a valid email address (user@example.com)", http.StatusBadRequest)
		return "", service.ClientAccess{}, false
	}
	ca, err := h.o.Service.AutoconfigAccess(r.Context(), addr)
	if err != nil {
		h.log.Error("autoconfig lookup", "err", err)
		http.Error(w, "The settings could not be read; try again later.", http.StatusServiceUnavailable)
		return "", service.ClientAccess{}, false
	}
	return addr, ca, true
}

// noStore: an answer follows the access rule of the moment; a cache must
// not keep an old one.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}
