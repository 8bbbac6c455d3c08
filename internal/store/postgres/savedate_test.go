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

func TestSaveDateMigration(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.RunSaveDateMigration(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, raw)
}
