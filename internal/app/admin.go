package app

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/admincenter"
	"github.com/gatehouse-mail/gatehouse/internal/api"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// adminHandler serves the admin listener: the admin center under /admin/,
// the REST API under /api/v1/, /metrics and /healthz.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Options{Service: s.Service, Logger: s.log.With("surface", "api")}).Handler())
	mux.Handle("/admin/", admincenter.New(admincenter.Options{Service: s.Service, Logger: s.log}).Handler())
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusSeeOther))
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Store.View(ctx, func(tx store.Tx) error { _, err := tx.OrgConfig(ctx); return err }); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return mux
}
