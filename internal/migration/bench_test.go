package migration_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// benchMessages is the size of the mailbox BenchmarkFirstSync copies.
const benchMessages = 1200

// BenchmarkFirstSync copies one user's mailbox of benchMessages fixture
// messages from Dovecot into a fresh SQLite mailbox per iteration (one
// session, as a batch syncs one user), and in the same iteration reads
// the same mail with Dovecot's own one-session FETCH (BODY.PEEK[] FLAGS
// INTERNALDATE), so the two rates come from the same moment of the
// machine. It reports messages/s of both and their ratio.
func BenchmarkFirstSync(b *testing.B) {
	src, st, ep := benchSetup(b)
	ctx := context.Background()
	source := migration.Source{Server: "127.0.0.1", Port: src.Port, Security: "None"}
	eng := migration.New(migration.Options{Store: st, MaxMessageSize: 21e6})
	var ours, theirs, cpu time.Duration
	copied := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, bt, u := oneUserBatch(b, st, &ep, fmt.Sprintf("copy%d-%d", b.N, i), "bench")
		c := src.Dial(b, "bench")
		start := time.Now()
		snap := dovecot.Take(b, c)
		theirs += time.Since(start)
		c.Logout().Wait()
		n := 0
		for _, ms := range snap {
			n += len(ms)
		}
		if n != benchMessages {
			b.Fatalf("Dovecot has %d messages; want %d", n, benchMessages)
		}
		b.StartTimer()
		start = time.Now()
		cpu0 := processCPU(b)
		s, err := eng.SyncUser(ctx, source, bt, u, sourcePassword)
		cpu += processCPU(b) - cpu0
		ours += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if s.Copied != benchMessages {
			b.Fatalf("copied %d; want %d", s.Copied, benchMessages)
		}
		copied += s.Copied
	}
	b.ReportMetric(float64(copied)/ours.Seconds(), "msgs/s")
	b.ReportMetric(float64(copied)/theirs.Seconds(), "dovecot-msgs/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-dovecot")
	// CPU time of this process (user and system) per message copied: on a
	// machine whose cores are shared, wall-clock rates follow the load of
	// the moment; the CPU the copy costs does much less.
	b.ReportMetric(float64(cpu.Microseconds())/float64(copied), "cpu-µs/msg")
}

// benchSetup starts Dovecot with the user bench holding benchMessages
// fixture messages, opens a fresh SQLite store (closed at the end of b)
// and stores an endpoint of the Dovecot.
func benchSetup(b *testing.B) (*dovecot.Source, *sqlstore.DB, store.MigrationEndpoint) {
	b.Helper()
	dovecot.Need(b)
	src := dovecot.StartSource(b, []string{"bench"}, sourcePassword)
	src.Seed(b, "bench", benchMessages, 0, false)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ep := store.MigrationEndpoint{Name: "Old", EndpointType: "IMAP", RemoteServer: "127.0.0.1", Port: src.Port, Security: "None",
		Authentication: "Basic", MaxConcurrentMigrations: 1}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMigrationEndpoint(ctx, &ep) }); err != nil {
		b.Fatal(err)
	}
	return src, st, ep
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIncrementalSync times a sync of one user's mailbox of
// benchMessages messages, copied once before the timer starts, when the
// source has nothing new: what every 24-hour re-sync of a batch costs
// when nobody wrote to the old server. It reports the time per sync
// (ns/op) and this process's CPU time per sync, and checks that nothing
// was copied again.
func BenchmarkIncrementalSync(b *testing.B) {
	src, st, ep := benchSetup(b)
	ctx := context.Background()
	_, bt, u := oneUserBatch(b, st, &ep, "inc", "bench")
	source := migration.Source{Server: "127.0.0.1", Port: src.Port, Security: "None"}
	eng := migration.New(migration.Options{Store: st, MaxMessageSize: 21e6})
	first, err := eng.SyncUser(ctx, source, bt, u, sourcePassword)
	if err != nil {
		b.Fatal(err)
	}
	if first.Copied != benchMessages {
		b.Fatalf("first sync copied %d; want %d", first.Copied, benchMessages)
	}
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := 0; i < b.N; i++ {
		s, err := eng.SyncUser(ctx, source, bt, u, sourcePassword)
		if err != nil {
			b.Fatal(err)
		}
		if s.Copied != 0 {
			b.Fatalf("a sync with nothing new copied %d; want 0", s.Copied)
		}
	}
	// CPU time of this process per sync: it follows the load of the
	// moment much less than the wall-clock time does.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/sync")
}
