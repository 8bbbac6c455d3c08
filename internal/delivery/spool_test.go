package delivery

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// TestSpool: what goes through the spool, in chunks cut anywhere, comes out
// as message.Normalize makes it, from memory or from a file.
func TestSpool(t *testing.T) {
	big := strings.Repeat("line of text\n", 40_000) + "last\r\nbare cr\r end"
	for _, tc := range []struct {
		name, in string
		above    int
	}{
		{"empty", "", 1 << 10},
		{"CRLF only", "a\r\nb\r\n", 1 << 10},
		{"bare LF", "a\nb\n\nc", 1 << 10},
		{"CR at a chunk's end, LF at the next's start", "a\r\nb\r\nc\r\n", 1 << 10},
		{"bare CR kept", "a\rb\r\r\n", 1 << 10},
		{"into a file", big, 1 << 10},
		{"in memory", big, 1 << 30},
	} {
		for _, chunk := range []int{1, 2, 3, 7, 4096, 1 << 20} {
			sp := newSpool(t.TempDir(), tc.above, []byte("Return-Path: <a@b>\r\n"))
			for in := tc.in; len(in) > 0; {
				n := min(chunk, len(in))
				if _, err := sp.Write([]byte(in[:n])); err != nil {
					t.Fatal(err)
				}
				in = in[n:]
			}
			size := sp.size()
			inFile := sp.f != nil
			got, err := sp.bytes()
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte("Return-Path: <a@b>\r\n"), message.Normalize([]byte(tc.in))...)
			if !bytes.Equal(got, want) || size != len(want) {
				t.Errorf("%s, chunks of %d: got %d octets (size %d); want %d, equal", tc.name, chunk, len(got), size, len(want))
			}
			if wantFile := len(want) > tc.above; inFile != wantFile {
				t.Errorf("%s, chunks of %d: got in a file %v; want %v", tc.name, chunk, inFile, wantFile)
			}
			if inFile && cap(got) != len(got) {
				t.Errorf("%s: a message read back from its file: got capacity %d; want exactly its size %d", tc.name, cap(got), len(got))
			}
		}
	}
}

// TestBudget: messages take their size from the budget, first come first
// served; one larger than the whole budget waits until it is alone.
func TestBudget(t *testing.T) {
	b := newBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 30); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 3)
	for _, n := range []int64{500, 5} { // 500 weighs 100, the whole budget
		go func() {
			b.acquire(ctx, n)
			got <- n
		}()
		for { // wait until it queues (a state, not a time)
			if _, w := b.inUse(); w > 0 && (n == 500 || w == 2) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	// 5 would fit (90 + 5), but comes after 500: first come, first served.
	if used, waiting := b.inUse(); used != 90 || waiting != 2 {
		t.Fatalf("got %d used, %d waiting; want 90, 2", used, waiting)
	}
	b.release(60)
	b.release(30)
	if n := <-got; n != 500 {
		t.Errorf("first served: got %d; want 500", n)
	}
	b.release(500)
	if n := <-got; n != 5 {
		t.Errorf("then: got %d; want 5", n)
	}
	b.release(5)
	if used, waiting := b.inUse(); used != 0 || waiting != 0 {
		t.Errorf("at the end: got %d used, %d waiting; want 0, 0", used, waiting)
	}
	// A wait that ends with its context leaves nothing taken.
	b.acquire(ctx, 100)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.acquire(cctx, 1); err == nil {
		t.Errorf("acquire with a cancelled context on a full budget: got nil; want an error")
	}
	b.release(100)
	if used, waiting := b.inUse(); used != 0 || waiting != 0 {
		t.Errorf("after a cancelled wait: got %d used, %d waiting; want 0, 0", used, waiting)
	}
}
