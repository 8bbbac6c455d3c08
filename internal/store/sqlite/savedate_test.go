package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/storetest"
)

func TestSaveDateMigration(t *testing.T) {
	path, raw := freshDatabase(t)
	storetest.RunSaveDateMigration(t, reopen(path), raw)
}

func TestOrphansMigration(t *testing.T) {
	path, raw := freshDatabase(t)
	storetest.RunOrphansMigration(t, reopen(path), raw, []string{`DROP TABLE body_orphans`, `CREATE INDEX bodies_orphaned ON bodies (orphaned_at) WHERE orphaned_at <> 0`})
}

func TestMailboxWordsMigration(t *testing.T) {
	path, raw := freshDatabase(t)
	storetest.RunMailboxWordsMigration(t, reopen(path), raw)
}

func TestSweepMarkedAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	storetest.RunSweepMarkedAgain(t, func(t *testing.T, listed func()) store.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.WithSweepListed(sqlite.Options{BodyGrace: -1}, listed))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSearchWordsRepair(t *testing.T) {
	path, raw := freshDatabase(t)
	storetest.RunSearchWordsRepair(t, reopen(path)(t), raw)
}

// freshDatabase returns the path of a database file yet to be made and a
// connection to it behind the store's back, closed when the test ends.
func freshDatabase(t *testing.T) (string, *sql.DB) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return path, raw
}

// reopen opens the store on the database at path, again at each call.
func reopen(path string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}
