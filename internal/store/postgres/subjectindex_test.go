package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/storetest"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

func TestSubjectIndexMigration(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.RunSubjectIndexMigration(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4, SummaryCacheBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, raw, []string{`DROP INDEX body_summaries_subject_trgm`}, func(t *testing.T, raw *sql.DB) {
		var def string
		if err := raw.QueryRow(`SELECT indexdef FROM pg_indexes WHERE indexname = 'body_summaries_subject_trgm'`).Scan(&def); err != nil {
			t.Errorf("the trigram index of subjects after the migration: %v", err)
		}
	})
}
