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
	dsn, raw := freshDatabase(t)
	storetest.RunSaveDateMigration(t, reopen(dsn), raw)
}

func TestOrphansMigration(t *testing.T) {
	dsn, raw := freshDatabase(t)
	storetest.RunOrphansMigration(t, reopen(dsn), raw, []string{`DROP TABLE body_orphans`, `CREATE INDEX bodies_orphaned ON bodies (orphaned_at) WHERE orphaned_at <> 0`,
		`ALTER TABLE bodies ALTER COLUMN data SET STORAGE EXTENDED`})
	// Bodies from now on are kept in their rows where they fit.
	var storage string
	if err := raw.QueryRow(`SELECT attstorage FROM pg_attribute WHERE attrelid = 'bodies'::regclass AND attname = 'data'`).Scan(&storage); err != nil || storage != "m" {
		t.Errorf("storage of bodies.data: %q, %v; want m (MAIN)", storage, err)
	}
}

func TestMailboxWordsMigration(t *testing.T) {
	dsn, raw := freshDatabase(t)
	storetest.RunMailboxWordsMigration(t, reopen(dsn), raw)
}

func TestSearchWordsRepair(t *testing.T) {
	dsn, raw := freshDatabase(t)
	storetest.RunSearchWordsRepair(t, reopen(dsn)(t), raw)
}

// freshDatabase returns the DSN of a new empty database and a connection
// to it behind the store's back, closed when the test ends.
func freshDatabase(t *testing.T) (string, *sql.DB) {
	dsn := pgtest.NewDatabase(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return dsn, raw
}

// reopen opens the store on the database dsn names, again at each call.
func reopen(dsn string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}
