//go:build linux

package migration_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// The child process of TestKillRestartTakesOver: it runs the engine on the
// parent's store, keyring and instance directory until it is killed.
const childEnv = "GATEHOUSE_MIGRATION_CHILD_DIR"

// hourLease makes a lease outlive the test: only a takeover by the same
// instance lets the restarted engine go on.
const hourLease = time.Hour

func TestMigrationChildEngine(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestKillRestartTakesOver")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := migration.LoadKeyring(filepath.Join(dir, migration.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := migration.ClaimInstance(dir)
	if err != nil {
		t.Fatal(err)
	}
	migration.New(migration.Options{Store: st, Keyring: keys, Instance: inst, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), LeaseTTL: hourLease, PollInterval: 50 * time.Millisecond,
		StepMessages: 10, MaxMessageSize: 21e6, RetryDelay: 50 * time.Millisecond}).Run(ctx)
}

// TestKillRestartTakesOver kills (SIGKILL) a process in the middle of a
// batch's first sync and starts the engine again on the same data
// directory: the new process takes over the batch's lease of the killed
// one at once (the lease here would last an hour), goes on from the last
// committed step, and ends with the same mail as the source. A second
// engine of another instance cannot take the lease meanwhile.
func TestKillRestartTakesOver(t *testing.T) {
	f := newFixture(t, false)
	dir := f.dir
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMigrationChildEngine$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// The child dies with this process, also when a test timeout ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	f.waitFor(t, "some progress in the child", func(_ store.MigrationBatch, us []store.MigrationUser) bool {
		n := int64(0)
		for _, u := range us {
			n += u.ItemsSynced
		}
		return n >= 100
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	_, us := f.batchState(t)
	t.Logf("killed (pid %s) at: %s", strconv.Itoa(cmd.Process.Pid), progressLine(us))

	// Another instance sees the lease held (it would wait out the hour).
	other, err := migration.ClaimInstance(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ok, err := f.st.AcquireLeaseFrom(context.Background(), "migration-batch-"+strconv.FormatInt(f.batch.ID, 10), other.ID+"/x", other.ID+"/", time.Minute)
	if err != nil || ok {
		t.Fatalf("another instance took the killed process's lease: %v %v", ok, err)
	}

	inst, err := migration.ClaimInstance(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go migration.New(migration.Options{Store: f.st, Keyring: f.keys, Instance: inst, LeaseTTL: hourLease, PollInterval: 50 * time.Millisecond,
		StepMessages: 40, MaxMessageSize: 21e6, RetryDelay: 50 * time.Millisecond}).Run(ctx)
	f.waitFor(t, "the restarted engine to finish the batch", synced)
	f.checkAll(t)
}
