package imapadapter

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func TestMergeSnapshot(t *testing.T) {
	mf := func(uid uint32, f store.Flags, kws ...string) store.MessageFlags {
		return store.MessageFlags{UID: uid, Flags: f, Keywords: kws}
	}
	old := &imap.IndexSnapshot{
		UIDs:     []uint32{1, 2, 3, 5, 8},
		Flags:    []imap.Flags{0, 0, imap.FlagSeen, 0, 0},
		Keywords: map[uint32][]string{3: {"$a"}, 8: {"$b"}},
	}
	oldCopy := &imap.IndexSnapshot{UIDs: slices.Clone(old.UIDs), Flags: slices.Clone(old.Flags), Keywords: maps.Clone(old.Keywords)}
	got := mergeSnapshot(old,
		[]store.MessageFlags{mf(2, store.FlagSeen, "$c"), mf(6, 0), mf(7, 0), mf(8, 0), mf(9, store.FlagDeleted)},
		[]uint32{3, 7})
	want := &imap.IndexSnapshot{
		UIDs:     []uint32{1, 2, 5, 6, 8, 9},
		Flags:    []imap.Flags{0, imap.FlagSeen, 0, 0, 0, imap.FlagDeleted},
		Keywords: map[uint32][]string{2: {"$c"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeSnapshot = %+v; want %+v", got, want)
	}
	if !reflect.DeepEqual(old, oldCopy) {
		t.Errorf("mergeSnapshot changed its input: %+v; want %+v", old, oldCopy)
	}
	// no keyword touched: the map is shared, not copied
	got = mergeSnapshot(old, []store.MessageFlags{mf(5, store.FlagFlagged)}, nil)
	if reflect.ValueOf(got.Keywords).UnsafePointer() != reflect.ValueOf(old.Keywords).UnsafePointer() {
		t.Errorf("mergeSnapshot copied a keyword map no change touched")
	}
	if want := []imap.Flags{0, 0, imap.FlagSeen, imap.FlagFlagged, 0}; !reflect.DeepEqual(got.Flags, want) {
		t.Errorf("flags = %v; want %v", got.Flags, want)
	}
}

// TestIndexCache checks that the cached index follows the store through
// arrivals, flag changes and expunges, and matches FolderIndex exactly.
func TestIndexCache(t *testing.T) {
	ctx := context.Background()
	st, m := storeWithMailbox(t, "a")
	deliver := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := st.Deliver(ctx, []int64{m.ID}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(20)
	inbox, err := st.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexCache(10, 1000)
	check := func(step string) {
		t.Helper()
		_, got, err := c.snapshot(ctx, st, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, want, err := readSnapshot(ctx, st, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: cached index %v; want %v", step, got, want)
		}
	}
	check("first")
	if len(c.folders) != 1 {
		t.Fatalf("folder not cached")
	}
	deliver(3)
	check("after deliveries")
	if _, _, err := st.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: []store.UIDRange{{Start: 2, Stop: 4}}, Op: store.FlagsAdd, Flags: store.FlagDeleted, Keywords: []string{"$x"}}); err != nil {
		t.Fatal(err)
	}
	check("after STORE")
	if _, err := st.Expunge(ctx, inbox.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	check("after EXPUNGE")
}

// TestIndexCacheConcurrentWriters races the cache's fills and updates with
// deliveries, flag changes and expunges: whenever no write is in flight,
// the cached index must be exactly what a fresh read of the store says.
func TestIndexCacheConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	st, m := storeWithMailbox(t, "a")
	deliver := func(i int) error {
		_, err := st.Deliver(ctx, []int64{m.ID}, newMessage([]byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), 0, nil, time.Now()))
		return err
	}
	for i := range 30 {
		if err := deliver(i); err != nil {
			t.Fatal(err)
		}
	}
	inbox, err := st.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	c := newIndexCache(1, 1000)
	var (
		writing sync.RWMutex // held by each write; the checker excludes them
		wg      sync.WaitGroup
		failed  atomic.Bool
	)
	fail := func(err error) {
		if failed.CompareAndSwap(false, true) {
			t.Error(err)
		}
	}
	const writes = 150
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				uid := uint32(1 + (i*7+w*13)%(30+i))
				rg := []store.UIDRange{{Start: uid, Stop: uid + 2}}
				writing.Lock()
				var err error
				switch i % 5 {
				case 0, 1:
					err = deliver(1000*w + i)
				case 2:
					_, _, err = st.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: rg, Op: store.FlagsAdd, Flags: store.FlagSeen, Keywords: []string{fmt.Sprintf("$k%d", i%3)}})
				case 3:
					_, _, err = st.StoreFlags(ctx, inbox.ID, store.FlagUpdate{UIDs: rg, Op: store.FlagsReplace, Flags: store.FlagDeleted})
				case 4:
					_, err = st.Expunge(ctx, inbox.ID, nil, true)
				}
				writing.Unlock()
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	// Racers bring the entry forward, and fill it again, while writes run.
	stop := make(chan struct{})
	var racers sync.WaitGroup
	for r := range 2 {
		racers.Add(1)
		go func() {
			defer racers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if (i+r)%4 == 0 {
					c.mu.Lock()
					e := c.folders[inbox.ID]
					c.mu.Unlock()
					c.drop(inbox.ID, e)
				}
				if _, _, err := c.snapshot(ctx, st, inbox.ID); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	checks := 0
	check := func() {
		writing.RLock()
		defer writing.RUnlock()
		f, got, err := c.snapshot(ctx, st, inbox.ID)
		if err != nil {
			fail(err)
			return
		}
		wf, want, err := readSnapshot(ctx, st, inbox.ID)
		if err != nil {
			fail(err)
			return
		}
		checks++
		if f.HighestModSeq != wf.HighestModSeq || !reflect.DeepEqual(got, want) {
			fail(fmt.Errorf("check %d: cached index at MODSEQ %d %+v; the store at %d says %+v", checks, f.HighestModSeq, got, wf.HighestModSeq, want))
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running && !failed.Load(); {
		select {
		case <-done:
			running = false
		default:
		}
		check()
	}
	close(stop)
	racers.Wait()
	check()
	if checks < 2 {
		t.Errorf("%d checks; want several", checks)
	}
}
