package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/storetest"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceNoSummaryCache runs the suite with SEARCH done by SQL
// alone, the path taken for very large folders.
func TestConformanceNoSummaryCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{MaxConns: 8, SummaryCacheBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.Options{})
	if err == nil {
		t.Fatal("open of an unreachable server must fail")
	}
}

func TestIntegrity(t *testing.T) {
	storetest.RunIntegrity(t, func(t *testing.T) (store.Store, *sql.DB) {
		dsn := pgtest.NewDatabase(t)
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return s, raw
	})
}

// TestWarnsWithoutAutovacuum opens a store whose messages table has
// autovacuum turned off: Open warns, naming it (or the server, when the
// server's autovacuum is off altogether, as on some test machines). With
// the table's setting back and the server's autovacuum on, it does not.
func TestWarnsWithoutAutovacuum(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	open := func() string {
		t.Helper()
		var logs bytes.Buffer
		s, err := postgres.Open(ctx, dsn, postgres.Options{BodyGrace: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return logs.String()
	}
	open() // creates the schema
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var server string
	if err := db.QueryRowContext(ctx, `SHOW autovacuum`).Scan(&server); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE messages SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	logs := open()
	want := "autovacuum_off=messages"
	if server == "off" {
		want = "autovacuum_off=server"
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, want) {
		t.Errorf("open with autovacuum off (server: %s): logs %q; want a warning with %s", server, logs, want)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE messages RESET (autovacuum_enabled)`); err != nil {
		t.Fatal(err)
	}
	if logs := open(); server == "on" && strings.Contains(logs, "autovacuum") {
		t.Errorf("open with autovacuum on: logs %q; want no warning", logs)
	}
}
