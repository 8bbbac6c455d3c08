package backend

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite/sqlitetest"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// outage makes one test database refuse connections and ends those open,
// as a PostgreSQL outage does for the store, without touching the other
// databases of the server (tests run beside each other on it).
type outage struct {
	admin *sql.DB
	name  string
}

func newOutage(t *testing.T, dsn string) *outage {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", pgtest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{admin: admin, name: strings.TrimPrefix(u.Path, "/")}
	// Connections come back before the test's database is dropped.
	t.Cleanup(func() { o.end(t); admin.Close() })
	return o
}

func (o *outage) begin(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := o.admin.ExecContext(ctx, `ALTER DATABASE `+o.name+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := o.admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, o.name); err != nil {
		t.Fatal(err)
	}
}

func (o *outage) end(t *testing.T) {
	t.Helper()
	if _, err := o.admin.ExecContext(context.Background(), `ALTER DATABASE `+o.name+` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
}

func record(i int) store.LoginRecord {
	return store.LoginRecord{Time: time.Now().UTC(), Protocol: "pop3", Username: fmt.Sprintf("u%d", i),
		Result: store.LoginFailed, Reason: "invalid credentials", RemoteAddr: "192.0.2.1:1110"}
}

// TestRecorderStoreUnavailable: records made while the store refuses them
// (a PostgreSQL outage, a full SQLite database) wait in the buffer, the
// oldest dropped beyond its bound, and are written once it takes them
// again.
func TestRecorderStoreUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		// open returns the store, a function that makes it refuse writes,
		// one that ends that, and the user names of its login records.
		open func(t *testing.T) (store.Store, func(), func(), func() []string)
	}{
		{"postgres outage", func(t *testing.T) (store.Store, func(), func(), func() []string) {
			dsn := pgtest.NewDatabase(t)
			o := newOutage(t, dsn)
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, func() { o.begin(t) }, func() { o.end(t) }, func() []string { return usernames(t, "pgx", dsn) }
		}},
		{"sqlite full", func(t *testing.T) (store.Store, func(), func(), func() []string) {
			st := sqlitetest.Open(t, sqlite.Options{})
			return st, func() { st.Fill(t) }, func() { st.Free(t) }, func() []string { return usernames(t, "sqlite", "file:"+st.Path) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, down, up, names := tc.open(t)
			rec := NewRecorder(st, RecorderOptions{Queue: 5, Batch: 2, FlushEvery: 50 * time.Millisecond})
			t.Cleanup(rec.Close)
			rec.Add(record(0))
			rec.Flush()
			down()
			for i := 1; i <= 7; i++ {
				rec.Add(record(i))
			}
			rec.Flush()
			if got := rec.Pending(); got != 5 {
				t.Errorf("down: got %d records pending; want 5 (the bound)", got)
			}
			up()
			deadline := time.Now().Add(20 * time.Second)
			for rec.Pending() > 0 && time.Now().Before(deadline) {
				rec.Flush()
				time.Sleep(50 * time.Millisecond)
			}
			// u1 and u2 were the oldest when the buffer was full.
			if got, want := names(), []string{"u0", "u3", "u4", "u5", "u6", "u7"}; !slices.Equal(got, want) {
				t.Errorf("up: got records %v; want %v", got, want)
			}
		})
	}
}

// TestRecorderCloseWaitsForStore: Close keeps trying while the store
// refuses, and writes the records when it takes them within CloseTimeout.
func TestRecorderCloseWaitsForStore(t *testing.T) {
	st := sqlitetest.Open(t, sqlite.Options{})
	rec := NewRecorder(st, RecorderOptions{FlushEvery: 50 * time.Millisecond, CloseTimeout: 20 * time.Second})
	st.Fill(t)
	rec.Add(record(1))
	rec.Flush()
	closed := make(chan struct{})
	go func() {
		rec.Close()
		close(closed)
	}()
	time.Sleep(300 * time.Millisecond)
	st.Free(t)
	<-closed
	if got, want := usernames(t, "sqlite", "file:"+st.Path), []string{"u1"}; !slices.Equal(got, want) {
		t.Errorf("after Close: got records %v; want %v", got, want)
	}
}

// usernames reads the login records' user names in the order written,
// over a connection of the test's own.
func usernames(t *testing.T, driver, dsn string) []string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT username FROM login_records ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
