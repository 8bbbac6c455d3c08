package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestLoadAgainstGatehouse runs the load tool against a seeded Gatehouse,
// on each engine, and checks that it downloads and verifies every message
// (figures are for the benchmark, not asserted here).
func TestLoadAgainstGatehouse(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testLoadAgainstGatehouse(t, filepath.Join(t.TempDir(), "gatehouse.db")) })
	t.Run("postgres", func(t *testing.T) { testLoadAgainstGatehouse(t, pgtest.NewDatabase(t)) })
}

func testLoadAgainstGatehouse(t *testing.T, db string) {
	msgs := corpus(25, 7)
	if err := seedGatehouse(context.Background(), db, 2, msgs, password); err != nil {
		t.Fatal(err)
	}
	srv, closeAll, err := newGatehouse(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		closeAll()
	})
	var octets int64
	for _, m := range msgs {
		octets += int64(len(m))
	}
	for _, pipeline := range []int{1, 8} {
		r, err := runLoad(loadConfig{Addr: l.Addr().String(), Password: password, Sessions: 2, Repeat: 2, Pipeline: pipeline, Timeout: time.Minute, Sums: sums(msgs)})
		if err != nil {
			t.Fatalf("pipeline %d: %v", pipeline, err)
		}
		if r.Messages != 4*int64(len(msgs)) || r.Bytes != 4*octets {
			t.Errorf("pipeline %d: got %d messages, %d octets; want %d, %d", pipeline, r.Messages, r.Bytes, 4*len(msgs), 4*octets)
		}
	}
	// A message that is not the one stored fails the load, naming it.
	// A session that fails this way drops its connection without QUIT;
	// the server lets the maildrop go once it sees that, so the next
	// session may find it still held ([IN-USE]) for a moment.
	loadOnceFree := func(cfg loadConfig) error {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, err := runLoad(cfg)
			if err == nil || !strings.Contains(err.Error(), "[IN-USE]") || time.Now().After(deadline) {
				return err
			}
		}
	}
	others := corpus(25, 8)
	wrong := sums(append(append([][]byte(nil), msgs[:24]...), others[0]))
	if err := loadOnceFree(loadConfig{Addr: l.Addr().String(), Password: password, Sessions: 1, Repeat: 1, Timeout: time.Minute, Sums: wrong}); err == nil || !strings.Contains(err.Error(), "is none of those stored") {
		t.Errorf("a RETR that is none of the messages seeded: got %v; want it named", err)
	}
	if err := loadOnceFree(loadConfig{Addr: l.Addr().String(), Password: password, Sessions: 1, Repeat: 1, Timeout: time.Minute, Sums: sums(msgs[:5])}); err == nil || !strings.Contains(err.Error(), "5 were seeded") {
		t.Errorf("a maildrop of another size than seeded: got %v; want an error", err)
	}
	// A wrong password is an error, not a silent zero.
	if _, err := runLoad(loadConfig{Addr: l.Addr().String(), Password: "wrong", Sessions: 1, Repeat: 1, Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "[AUTH]") {
		t.Errorf("wrong password: got %v; want an [AUTH] error", err)
	}
}

func TestDovecotConfig(t *testing.T) {
	dir := t.TempDir()
	if err := seedDovecot(dir, 12345, 2, corpus(3, 1), password, true); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "dovecot.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"port = 12345", "service_count = 0", "base_dir = " + dir + "/run", "protocols = pop3", "mail_location = maildir:" + dir + "/mail/%u/Maildir"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("dovecot.conf lacks %q", want)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(dir, "passwd"))
	if got, want := string(passwd), "user0@example.com:{PLAIN}"+password+"::::::\nuser1@example.com:{PLAIN}"+password+"::::::\n"; got != want {
		t.Errorf("passwd: got %q; want %q", got, want)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "user1@example.com", "Maildir", "cur", "*"))
	if len(files) != 3 {
		t.Errorf("got %d Maildir files; want 3", len(files))
	}
}
