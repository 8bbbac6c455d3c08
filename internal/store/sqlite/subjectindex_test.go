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

func TestSubjectIndexMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.RunSubjectIndexMigration(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{SummaryCacheBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, raw, []string{
		`DROP TRIGGER body_subjects_insert`,
		`DROP TRIGGER body_subjects_delete`,
		`DROP TRIGGER body_subjects_update`,
		`DROP TABLE body_subjects`,
	}, func(t *testing.T, raw *sql.DB) {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM body_subjects WHERE body_subjects MATCH '"needle"'`).Scan(&n); err != nil || n != 3 {
			t.Errorf("bodies the trigram index finds for \"needle\" after the migration: %d, %v; want 3", n, err)
		}
	})
}
