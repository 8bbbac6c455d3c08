// Package sqlitetest gives tests a SQLite store that can be made to run out
// of space: the engine itself answers SQLITE_FULL, through the store's own
// connections and statements, as it does on a full disk.
//
// The store's connections are opened with a max_page_count; Fill grows the
// file to that bound from a second connection (which has none), so that the
// store can allocate no page. A write that changes a row in place needs no
// new page of the database file, but on a full disk it still fails (its
// pages go to the WAL, which cannot grow); Fill makes every write of the
// store allocate, through triggers that add a page-sized row to a filler
// table for each row written. Free drops the triggers and the filler, and
// the freed pages are reused.
package sqlitetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
)

// MaxPages bounds the store's database file: 16 MiB at SQLite's default
// page size of 4 KiB.
const MaxPages = 4096

// Full is a SQLite store in a temporary directory that Fill makes full.
type Full struct {
	*sqlstore.DB
	Path string
	side *sql.DB
}

// Open opens the store; it is closed when the test ends.
func Open(t testing.TB, o sqlite.Options) *Full {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	o.Pragmas = append(o.Pragmas, fmt.Sprintf("max_page_count(%d)", MaxPages))
	st, err := sqlite.Open(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	side, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+v.Encode())
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	side.SetMaxOpenConns(1)
	t.Cleanup(func() {
		side.Close()
		st.Close()
	})
	return &Full{DB: st, Path: path, side: side}
}

// Fill makes the database full: after it, every write of the store fails
// with SQLITE_FULL, and reads work.
func (f *Full) Fill(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	f.exec(t, `CREATE TABLE IF NOT EXISTS gatehouse_filler (b BLOB)`)
	for i := 0; ; i++ {
		var pages, free int
		if err := f.side.QueryRowContext(ctx, `SELECT page_count, freelist_count FROM pragma_page_count(), pragma_freelist_count()`).Scan(&pages, &free); err != nil {
			t.Fatal(err)
		}
		if pages >= MaxPages && free == 0 {
			break
		}
		if i > 4*MaxPages {
			t.Fatalf("filling the database: still %d pages, %d free", pages, free)
		}
		size := 1 << 20
		if pages >= MaxPages {
			size = 1 << 10 // only the free list is left
		}
		f.exec(t, fmt.Sprintf(`INSERT INTO gatehouse_filler (b) VALUES (zeroblob(%d))`, size))
	}
	rows, err := f.side.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite%' AND name != 'gatehouse_filler'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, tbl := range tables {
		for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
			f.exec(t, fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS gatehouse_full_%s_%s AFTER %s ON %s
				BEGIN INSERT INTO gatehouse_filler (b) VALUES (zeroblob(8192)); END`, tbl, op, op, tbl))
		}
	}
}

// Free undoes Fill: the store can write again.
func (f *Full) Free(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.side.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'gatehouse_full_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		triggers = append(triggers, name)
	}
	rows.Close()
	for _, name := range triggers {
		f.exec(t, `DROP TRIGGER `+name)
	}
	f.exec(t, `DELETE FROM gatehouse_filler`)
}

func (f *Full) exec(t testing.TB, q string) {
	t.Helper()
	if _, err := f.side.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
