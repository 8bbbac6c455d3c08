package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestSelfVacuum: where PostgreSQL's autovacuum is off for the messages
// table (here by the table's own setting; on a server with autovacuum off,
// for every busy table), the store says so at start and vacuums and
// analyzes the table itself once flag changes left more dead rows than
// autovacuum would allow; the messages read the same afterwards. Closing
// the store stops it.
func TestSelfVacuum(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s, err := postgres.Open(ctx, dsn, postgres.Options{BodyGrace: -1, VacuumEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, inbox := newMailbox(t, s, "Vacuum")
	for i := range 100 {
		raw := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, _, err := s.Append(ctx, inbox.ID, store.NewMessage{Raw: []byte(raw), Structure: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `ALTER TABLE messages SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	counts := func() (vacuums, analyzes int64) {
		t.Helper()
		if err := raw.QueryRowContext(ctx, `SELECT vacuum_count, analyze_count FROM pg_stat_user_tables WHERE relname = 'messages'`).Scan(&vacuums, &analyzes); err != nil {
			t.Fatal(err)
		}
		return vacuums, analyzes
	}
	v0, a0 := counts()

	var logs testenv.SafeBuffer
	s, err = postgres.Open(ctx, dsn, postgres.Options{BodyGrace: -1, VacuumEvery: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 500 dead rows against 100 live: autovacuum's threshold is 70. The
	// changes are made on one connection, which then hands its statistics
	// over at once (the server would otherwise wait until it is idle for
	// ten seconds).
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := conn.ExecContext(ctx, `UPDATE messages SET flags = flags # 2 WHERE folder_id = $1`, inbox.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The server counts the VACUUM when it ends, a moment before the
	// self-vacuum logs it: wait for both.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, a := counts()
		if v > v0 && a > a0 && strings.Contains(logs.String(), `table=messages what="VACUUM (ANALYZE)"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages not vacuumed and analyzed, or not logged so, within 30 s (vacuums %d→%d, analyzes %d→%d); log:\n%s", v0, v, a0, a, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := logs.String()
	for _, want := range []string{"Gatehouse vacuums and analyzes them itself", "tables=messages", "what=\"VACUUM (ANALYZE)\""} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "refused") {
		t.Errorf("a VACUUM was refused:\n%s", out)
	}
	msgs := 0
	if err := s.Messages(ctx, inbox.ID, []store.UIDRange{{Start: 1, Stop: 1000}}, 0, func(m store.MessageMeta) error {
		msgs++
		if m.Flags&store.FlagAnswered == 0 {
			t.Errorf("UID %d lost its flag: %v", m.UID, m.Flags)
		}
		return nil
	}); err != nil || msgs != 100 {
		t.Fatalf("after the vacuum: %d messages, %v; want 100", msgs, err)
	}
	// Close stops the vacuumer (a round under way is cancelled) and
	// returns.
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
}
