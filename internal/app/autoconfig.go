package app

import (
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/account"
	"github.com/gatehouse-mail/gatehouse/internal/autoconfig"
)

// autoconfigHandler builds the client autoconfiguration documents from the
// listeners bound now: their ports, and public_host or their own host.
func (s *Server) autoconfigHandler() *autoconfig.Handler {
	ep := func(name string) autoconfig.Endpoint {
		a, ok := s.Addrs[name]
		if !ok {
			return autoconfig.Endpoint{}
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return autoconfig.Endpoint{} // a unix socket: no client reaches it
		}
		n, _ := strconv.Atoi(port)
		if s.cfg.PublicHost != "" {
			host = s.cfg.PublicHost
		} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			if h, err := os.Hostname(); err == nil && h != "" {
				host = h
			}
		}
		return autoconfig.Endpoint{Host: host, Port: n}
	}
	return autoconfig.New(autoconfig.Options{Service: s.Service, Domain: s.cfg.Domain, Organization: s.cfg.Organization,
		Logger: s.log, Servers: autoconfig.Servers{
			IMAPS: ep("imaps"), IMAP: ep("imap"), POP3S: ep("pop3s"), POP3: ep("pop3"),
			Submissions: ep("submissions"), Submission: ep("submission"),
		}})
}

// mountUserSurfaces adds /account and the autoconfiguration documents to
// the admin listener's mux.
func (s *Server) mountUserSurfaces(mux *http.ServeMux) {
	ac := s.autoconfigHandler()
	ac.Register(mux)
	acct := account.New(account.Options{Service: s.Service, Settings: ac.SettingsFor, Logger: s.log,
		Organization: s.cfg.Organization})
	h := acct.Handler()
	mux.Handle("/account/", h)
	mux.Handle("GET /account", h)
}

// newAutoconfigServer serves the --autoconfig listener: the documents only,
// plain HTTP (clients fetch http://autoconfig.<domain>/mail/config-v1.1.xml;
// a TLS-terminating proxy may stand in front for Outlook, which wants
// HTTPS for Autodiscover). Nothing on it takes a password.
func (s *Server) newAutoconfigServer() *http.Server {
	a := s.cfg.Admin
	return &http.Server{
		Handler:           s.autoconfigHandler().Handler(),
		ReadHeaderTimeout: time.Duration(a.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(a.ReadTimeout),
		WriteTimeout:      time.Minute,
		IdleTimeout:       time.Duration(a.IdleTimeout),
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
