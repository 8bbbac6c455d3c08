package gcpace

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor int64
		want        int
	}{
		{0, 64 * mib, 1600},         // before the first collection: as 4 MiB
		{1 * mib, 64 * mib, 1600},   // below the runtime's minimum heap: as 4 MiB
		{16 * mib, 64 * mib, 400},   // goal 16 + 64 MiB
		{64 * mib, 64 * mib, 100},   // the default already allows the floor
		{512 * mib, 64 * mib, 100},  // never below the default
		{100 * mib, 300 * mib, 300}, // another floor
	} {
		if got := percentFor(c.live, c.floor); got != c.want {
			t.Errorf("percentFor(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
	}
}

// gcPercent reads the collector's percentage.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestStartPacesAndStopRestores(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	stop := start(64<<20, 5*time.Millisecond)
	runtime.GC()
	// The pacer sees the collection at its next look.
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() <= 100 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p := gcPercent(); p <= 100 {
		t.Fatalf("GOGC = %d after a collection of a small heap; want above 100", p)
	}
	stop()
	stop() // a second stop does nothing
	if p := gcPercent(); p != 150 {
		t.Errorf("GOGC after stop = %d, want the 150 found at start", p)
	}
}

func TestStartLeavesOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(120)
	defer debug.SetGCPercent(before)
	stop := Start()
	runtime.GC()
	time.Sleep(2 * interval)
	if p := gcPercent(); p != 120 {
		t.Errorf("GOGC = %d with GOGC in the environment; want it left at 120", p)
	}
	stop()
}
