// Package movestore copies a Gatehouse store from its SQLite file into an
// empty PostgreSQL database ('gatehouse move-store'), keeping every row
// as it is: ids, UIDs, UIDVALIDITY, MODSEQ, UIDNEXT, HIGHESTMODSEQ, the
// audit log, login records, settings, the outbound queue, migration state
// and SCRAM keys. Clients see the same mailboxes with the same UIDs under
// the same UIDVALIDITY, so none of them downloads anything again.
//
// The copy is generic over the schema rather than a list of tables: the
// tables and columns of both engines' schemas must be the same sets (a
// table added to one engine's migrations only makes the move refuse, and
// its test fail), and every table is copied in the order its foreign keys
// need. At the end every table's row count and a content hash of its rows
// are compared between the two databases.
package movestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// Options configure Move.
type Options struct {
	// SQLite is the path of the source database file; nothing may write
	// to it during the move (the caller holds the data directory's lock).
	SQLite string
	// Postgres is the DSN of the target database, which must be empty.
	Postgres string
	// Progress receives progress lines.
	Progress io.Writer
}

// TableReport is what the move did with one table.
type TableReport struct {
	Name string
	Rows int64
	// Hash is the content hash of the table's rows, the same on both
	// sides when the move succeeded.
	Hash string
}

// Report is the result of a move.
type Report struct {
	Tables    []TableReport
	Sequences int
}

// ErrNotEmpty is returned when the target database already holds tables.
var ErrNotEmpty = errors.New("the target database is not empty")

// Move copies the SQLite store into the empty PostgreSQL database.
func Move(ctx context.Context, o Options) (rep Report, err error) {
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	// The target is checked first: a refusal changes nothing.
	conn, err := pgx.Connect(ctx, o.Postgres)
	if err != nil {
		return rep, fmt.Errorf("target: cannot reach the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	existing, err := pgTables(ctx, conn)
	if err != nil {
		return rep, fmt.Errorf("target: %w", err)
	}
	if len(existing) > 0 {
		shown := existing
		if len(shown) > 8 {
			shown = append(shown[:8:8], "...")
		}
		return rep, fmt.Errorf("%w: it has %d tables (%s); move-store copies only into an empty database (CREATE DATABASE ...)",
			ErrNotEmpty, len(existing), strings.Join(shown, ", "))
	}
	// Then the source: its schema is brought up to this build's (what
	// 'gatehouse serve' does at start), so both schemas are the same.
	fmt.Fprintf(w, "opening %s\n", o.SQLite)
	st, err := sqlite.Open(ctx, o.SQLite, sqlite.Options{BodyGrace: -1})
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	if err := st.Close(); err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	src, err := sql.Open("sqlite", "file:"+(&url.URL{Path: o.SQLite}).EscapedPath()+"?_pragma=query_only(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		return rep, err
	}
	defer src.Close()
	src.SetMaxOpenConns(1)

	fmt.Fprintln(w, "creating the schema in the target")
	pst, err := postgres.Open(ctx, o.Postgres, postgres.Options{BodyGrace: -1, VacuumEvery: -1})
	if err != nil {
		return rep, fmt.Errorf("target: %w", err)
	}
	pst.Close()
	committed := false
	defer func() {
		switch {
		case err == nil:
		case committed:
			err = fmt.Errorf("%w (the target database holds the copy that failed verification: do not serve from it; drop and create it again before the next try)", err)
		default:
			err = fmt.Errorf("%w (the target database now holds the schema but no copied rows: drop and create it again before the next try)", err)
		}
	}()

	tables, err := compareSchemas(ctx, src, conn)
	if err != nil {
		return rep, err
	}
	order, err := fkOrder(ctx, conn, tables)
	if err != nil {
		return rep, err
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The migrations seed some rows (role groups, the CAS mailbox plan);
	// the source's rows replace them. TRUNCATE fires no row triggers, so
	// the audit log's append-only trigger does not stand in the way (its
	// table is empty in a new database anyway).
	names := make([]string, 0, len(order))
	for _, t := range order {
		names = append(names, quote(t.name))
	}
	if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(names, ", ")); err != nil {
		return rep, fmt.Errorf("target: clear the seeded rows: %w", err)
	}
	for _, t := range order {
		n, err := copyTable(ctx, src, tx, t, w)
		if err != nil {
			return rep, fmt.Errorf("copy %s: %w", t.name, err)
		}
		rep.Tables = append(rep.Tables, TableReport{Name: t.name, Rows: n})
	}
	seqs, err := setSequences(ctx, tx)
	if err != nil {
		return rep, fmt.Errorf("target: set sequences: %w", err)
	}
	rep.Sequences = seqs
	if err := tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("target: commit: %w", err)
	}
	committed = true
	fmt.Fprintf(w, "copied %d tables; %d sequences set past the copied ids\n", len(order), seqs)

	fmt.Fprintln(w, "verifying: row counts and content hashes of every table, in both databases")
	for i, t := range order {
		sn, sh, err := hashSQLite(ctx, src, t)
		if err != nil {
			return rep, fmt.Errorf("verify %s (source): %w", t.name, err)
		}
		pn, ph, err := hashPostgres(ctx, conn, t)
		if err != nil {
			return rep, fmt.Errorf("verify %s (target): %w", t.name, err)
		}
		if sn != pn || sh != ph {
			return rep, fmt.Errorf("verification failed for table %s: source %d rows (hash %x), target %d rows (hash %x)",
				t.name, sn, sh[:8], pn, ph[:8])
		}
		rep.Tables[i].Hash = fmt.Sprintf("%x", sh)
		fmt.Fprintf(w, "  %-24s %9d rows  sha256-sum %x  same in both\n", t.name, sn, sh[:8])
	}
	fmt.Fprintln(w, "verified: every table has the same rows in both databases")
	return rep, nil
}

// table is one table of the schema with its columns (sorted by name) and
// their PostgreSQL types.
type table struct {
	name    string
	columns []string
	types   []string // PostgreSQL data_type of each column
}

func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

func pgTables(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// compareSchemas returns the tables of the schema, refusing when the two
// engines' tables or columns differ: a table the copy would leave behind
// must never go unnoticed.
func compareSchemas(ctx context.Context, src *sql.DB, conn *pgx.Conn) ([]table, error) {
	sTables, err := sqlite.Tables(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	pTables, err := pgTables(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if d := diff(sTables, pTables); d != "" {
		return nil, fmt.Errorf("the two engines' schemas have different tables (%s): this gatehouse cannot move this store", d)
	}
	var out []table
	for _, name := range sTables {
		sCols, err := sqliteColumns(ctx, src, name)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		rows, err := conn.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY column_name`, name)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		t := table{name: name}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			t.columns = append(t.columns, c)
			t.types = append(t.types, typ)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if d := diff(sCols, t.columns); d != "" {
			return nil, fmt.Errorf("table %s has different columns in the two engines' schemas (%s): this gatehouse cannot move this store", name, d)
		}
		out = append(out, t)
	}
	return out, nil
}

func sqliteColumns(ctx context.Context, db *sql.DB, tableName string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, tableName)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols, rows.Err()
}

// diff describes how two sorted name lists differ ("" when they do not).
func diff(sqliteNames, pgNames []string) string {
	in := func(list []string, s string) bool {
		i := sort.SearchStrings(list, s)
		return i < len(list) && list[i] == s
	}
	var parts []string
	for _, s := range sqliteNames {
		if !in(pgNames, s) {
			parts = append(parts, s+" only in SQLite")
		}
	}
	for _, s := range pgNames {
		if !in(sqliteNames, s) {
			parts = append(parts, s+" only in PostgreSQL")
		}
	}
	return strings.Join(parts, ", ")
}

// fkOrder sorts the tables so that every table comes after the tables its
// foreign keys refer to (PostgreSQL's catalog says which those are).
func fkOrder(ctx context.Context, conn *pgx.Conn, tables []table) ([]table, error) {
	rows, err := conn.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		from, to = strings.Trim(from, `"`), strings.Trim(to, `"`)
		if from != to {
			deps[from] = append(deps[from], to)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byName := map[string]table{}
	for _, t := range tables {
		byName[t.name] = t
	}
	var out []table
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		ds := deps[n]
		sort.Strings(ds)
		for _, d := range ds {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		if t, ok := byName[n]; ok {
			out = append(out, t)
		}
		return nil
	}
	for _, t := range tables {
		if err := visit(t.name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// convert turns a value read from SQLite (or from PostgreSQL, for the
// verification) into what the PostgreSQL column of type typ takes, and
// into one form for hashing: SQLite keeps booleans as 0/1 and may hand a
// BLOB back as text or an empty BLOB as a nil slice.
func convert(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			if x == nil {
				return []byte{}, nil
			}
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) {
				return int64(x), nil
			}
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n, nil
			}
		}
	case "double precision", "real":
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	default:
		return nil, fmt.Errorf("column type %s is not handled by move-store", typ)
	}
	return nil, fmt.Errorf("a %T value (%v) does not fit a %s column", v, v, typ)
}

// sqliteRows streams a table's rows from SQLite as PostgreSQL values (a
// pgx.CopyFromSource).
type sqliteRows struct {
	rows   *sql.Rows
	t      table
	vals   []any
	ptrs   []any
	err    error
	n      int64
	total  int64
	w      io.Writer
	last   time.Time
	values []any
}

func (r *sqliteRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return false
	}
	for i, v := range r.vals {
		c, err := convert(v, r.t.types[i])
		if err != nil {
			r.err = fmt.Errorf("column %s: %w", r.t.columns[i], err)
			return false
		}
		r.values[i] = c
	}
	r.n++
	if time.Since(r.last) > 2*time.Second {
		r.last = time.Now()
		fmt.Fprintf(r.w, "  %s: %d of %d rows\n", r.t.name, r.n, r.total)
	}
	return true
}

func (r *sqliteRows) Values() ([]any, error) { return r.values, nil }

func (r *sqliteRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func selectAll(t table) string {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = quote(c)
	}
	return `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + quote(t.name)
}

func copyTable(ctx context.Context, src *sql.DB, tx pgx.Tx, t table, w io.Writer) (int64, error) {
	var total int64
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(t.name)).Scan(&total); err != nil {
		return 0, err
	}
	rows, err := src.QueryContext(ctx, selectAll(t))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	r := &sqliteRows{rows: rows, t: t, vals: make([]any, len(t.columns)), ptrs: make([]any, len(t.columns)),
		values: make([]any, len(t.columns)), total: total, w: w, last: time.Now()}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, r)
	if err != nil {
		return n, err
	}
	if n != total {
		return n, fmt.Errorf("copied %d rows of %d", n, total)
	}
	fmt.Fprintf(w, "  %-24s %9d rows copied\n", t.name, n)
	return n, nil
}

// setSequences moves every identity or serial column's sequence past the
// largest copied id, so that the next insert does not collide.
func setSequences(ctx context.Context, tx pgx.Tx) (int, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')
		ORDER BY table_name, column_name`)
	if err != nil {
		return 0, err
	}
	type col struct{ t, c string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.t, &c.c); err != nil {
			rows.Close()
			return 0, err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range cols {
		var max int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(`+quote(c.c)+`), 0) FROM `+quote(c.t)).Scan(&max); err != nil {
			return 0, err
		}
		// setval(seq, n, true): the next value is n+1; an empty table
		// starts at 1.
		q := `SELECT setval(pg_get_serial_sequence($1, $2), $3, true)`
		arg := max
		if max < 1 {
			q = `SELECT setval(pg_get_serial_sequence($1, $2), $3, false)`
			arg = 1
		}
		if _, err := tx.Exec(ctx, q, quote(c.t), c.c, arg); err != nil {
			return 0, fmt.Errorf("%s.%s: %w", c.t, c.c, err)
		}
	}
	return len(cols), nil
}

// rowHasher sums the SHA-256 of every row (as four 64-bit lanes, each
// modulo 2^64): the sum does not depend on the order rows are read in, so
// the two engines need not agree on a collation.
type rowHasher struct {
	sum [4]uint64
	n   int64
	buf []byte
}

func (h *rowHasher) add(vals []any) {
	b := h.buf[:0]
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			b = append(b, 'N')
		case bool:
			if x {
				b = append(b, 'T')
			} else {
				b = append(b, 'F')
			}
		case int64:
			b = append(b, 'I')
			b = binary.BigEndian.AppendUint64(b, uint64(x))
		case float64:
			b = append(b, 'D')
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(x))
		case string:
			b = append(b, 'S')
			b = binary.BigEndian.AppendUint64(b, uint64(len(x)))
			b = append(b, x...)
		case []byte:
			b = append(b, 'B')
			b = binary.BigEndian.AppendUint64(b, uint64(len(x)))
			b = append(b, x...)
		}
	}
	h.buf = b
	d := sha256.Sum256(b)
	for i := range h.sum {
		h.sum[i] += binary.BigEndian.Uint64(d[i*8:])
	}
	h.n++
}

func (h *rowHasher) result() (int64, [32]byte) {
	var out [32]byte
	for i, v := range h.sum {
		binary.BigEndian.PutUint64(out[i*8:], v)
	}
	return h.n, out
}

func hashSQLite(ctx context.Context, src *sql.DB, t table) (int64, [32]byte, error) {
	rows, err := src.QueryContext(ctx, selectAll(t))
	if err != nil {
		return 0, [32]byte{}, err
	}
	defer rows.Close()
	vals := make([]any, len(t.columns))
	ptrs := make([]any, len(t.columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var h rowHasher
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, [32]byte{}, err
		}
		for i, v := range vals {
			c, err := convert(v, t.types[i])
			if err != nil {
				return 0, [32]byte{}, err
			}
			vals[i] = c
		}
		h.add(vals)
	}
	if err := rows.Err(); err != nil {
		return 0, [32]byte{}, err
	}
	n, s := h.result()
	return n, s, nil
}

func hashPostgres(ctx context.Context, conn *pgx.Conn, t table) (int64, [32]byte, error) {
	rows, err := conn.Query(ctx, selectAll(t))
	if err != nil {
		return 0, [32]byte{}, err
	}
	defer rows.Close()
	var h rowHasher
	vals := make([]any, len(t.columns))
	for rows.Next() {
		raw, err := rows.Values()
		if err != nil {
			return 0, [32]byte{}, err
		}
		for i, v := range raw {
			c, err := convert(v, t.types[i])
			if err != nil {
				return 0, [32]byte{}, err
			}
			vals[i] = c
		}
		h.add(vals)
	}
	if err := rows.Err(); err != nil {
		return 0, [32]byte{}, err
	}
	n, s := h.result()
	return n, s, nil
}

// Hash returns the row count and content hash of every table of a
// PostgreSQL database, as Move's verification computes them (tests and
// 'pg_dump' checks compare two databases with it).
func Hash(ctx context.Context, dsn string) (map[string]TableReport, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	names, err := pgTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	out := map[string]TableReport{}
	for _, name := range names {
		rows, err := conn.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY column_name`, name)
		if err != nil {
			return nil, err
		}
		t := table{name: name}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			t.columns = append(t.columns, c)
			t.types = append(t.types, typ)
		}
		rows.Close()
		n, h, err := hashPostgres(ctx, conn, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = TableReport{Name: name, Rows: n, Hash: fmt.Sprintf("%x", h)}
	}
	return out, nil
}
