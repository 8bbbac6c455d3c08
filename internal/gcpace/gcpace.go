// Package gcpace keeps Go's garbage collector from running too often on a
// small heap.
//
// With the runtime's default (GOGC=100) a collection starts once the heap
// has doubled since the last one. A mail server's live heap is small (tens
// of megabytes) while it allocates fast: a 5 kB delivery allocates about
// 75 kB on the way (the spool, the parse, the driver's buffers), so at a
// few thousand deliveries a second the collector ran several times a
// second, and its fixed cost per cycle (stacks, globals, the scheduler's
// wake-ups for its workers) was a fifth of the server's CPU per delivery
// on PostgreSQL (docs/performance.md). Start raises the collector's
// percentage so that the next collection waits until at least Floor bytes
// were allocated above the live heap; on a large heap (many sessions) the
// runtime's own percentage applies unchanged, as then it already allows
// more than Floor.
//
// An operator's own setting wins: with GOGC in the environment Start does
// nothing. GOMEMLIMIT keeps applying on top of what Start sets.
package gcpace

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Floor is how much the heap may grow above the live heap before the next
// collection, at the least.
const Floor = 64 << 20

// basePercent is the runtime's default GOGC.
const basePercent = 100

// interval is how often the pacer looks for a finished collection.
const interval = 250 * time.Millisecond

// Start keeps the collector's percentage at what Floor asks for the live
// heap after each collection, until stop is called (which puts back the
// percentage found). It does nothing when the environment sets GOGC.
func Start() (stop func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	return start(Floor, interval)
}

func start(floor int64, every time.Duration) (stop func()) {
	p := &pacer{floor: floor, samples: []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/live:bytes"},
	}}
	p.prev = debug.SetGCPercent(basePercent)
	p.percent = basePercent
	p.adjust()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.adjust()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			debug.SetGCPercent(p.prev)
		})
	}
}

type pacer struct {
	floor   int64
	samples []metrics.Sample
	cycles  uint64
	percent int
	prev    int
}

// adjust sets the percentage for the live heap of the last collection,
// when one finished since the last look.
func (p *pacer) adjust() {
	metrics.Read(p.samples)
	cycles := p.samples[0].Value.Uint64()
	if cycles == p.cycles && p.cycles != 0 {
		return
	}
	p.cycles = cycles
	want := percentFor(int64(p.samples[1].Value.Uint64()), p.floor)
	// Moves of less than an eighth are not worth a new pacing.
	if d := want - p.percent; d < p.percent/8 && -d < p.percent/8 {
		return
	}
	debug.SetGCPercent(want)
	p.percent = want
}

// percentFor is the GOGC that puts the next collection floor bytes above a
// live heap of live bytes, and never below the runtime's default.
func percentFor(live, floor int64) int {
	// The runtime never lets the heap goal fall below 4 MiB times the
	// percentage over 100 (its minimum heap), so a live heap below 4 MiB
	// counts as 4 MiB: the goal then is floor, not more.
	live = max(live, 4<<20)
	pct := floor * 100 / live
	return int(max(basePercent, min(pct, 100_000)))
}
