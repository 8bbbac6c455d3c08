// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is named by GATEHOUSE_TEST_PG (a DSN of a database the test may
// use to create others), by default postgres://postgres@127.0.0.1:5432/postgres.
// When nothing answers there and the machine has Debian's pg_ctlcluster, the
// first test starts the local cluster. A test that needs PostgreSQL fails
// when none can be had: CI must not pass without running the suite on it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN returns the DSN of the server's maintenance database.
func AdminDSN() string {
	if v := os.Getenv("GATEHOUSE_TEST_PG"); v != "" {
		return v
	}
	return defaultDSN
}

var (
	startOnce sync.Once
	startErr  error
)

func ping(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// ensureServer starts the local Debian cluster once if nothing answers.
func ensureServer(dsn string) error {
	if err := ping(dsn); err == nil {
		return nil
	}
	startOnce.Do(func() {
		versions, _ := filepath.Glob("/etc/postgresql/*")
		if len(versions) == 0 {
			startErr = fmt.Errorf("no PostgreSQL server answers at %s and none is installed (apt-get install postgresql, or set GATEHOUSE_TEST_PG)", dsn)
			return
		}
		v := filepath.Base(versions[len(versions)-1])
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", v, "main", "start").CombinedOutput()
		if err != nil {
			startErr = fmt.Errorf("start PostgreSQL %s: %v: %s", v, err, out)
			return
		}
		for i := 0; i < 50; i++ {
			if startErr = ping(dsn); startErr == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	if startErr != nil {
		return startErr
	}
	return ping(dsn)
}

// NewDatabase creates an empty database for the test, drops it when the
// test ends, and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminDSN()
	if err := ensureServer(admin); err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// withDatabase swaps the database name in a URL or key=value DSN.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "dbname=") {
			parts = append(parts, f)
		}
	}
	return strings.Join(append(parts, "dbname="+name), " ")
}
