package pop3adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestReadBodyWithReadAhead reads the maildrop in the orders clients use
// (all in order, in small chunks, backwards, TOP-like starts) and checks
// every octet against what was delivered, with and without the
// read-ahead serving the read.
func TestReadBodyWithReadAhead(t *testing.T) {
	e := newEnv(t)
	for _, raw := range testMessages {
		e.deliver(t, []byte(raw), "carol")
	}
	want := append([][]byte{bigMessage()}, []byte(testMessages[0]), []byte(testMessages[1]), []byte(testMessages[2]))
	b := New(Options{Mail: e.st})
	ctx := context.Background()

	readAll := func(t *testing.T, md *maildrop, i, chunk int) []byte {
		t.Helper()
		var out []byte
		if md.msgs[i].Size > 1<<20 {
			chunk = max(chunk, 32<<10) // small chunks of 10 MB take minutes
		}
		buf := make([]byte, chunk)
		for off := int64(0); ; {
			n, err := md.ReadBody(ctx, i, off, buf)
			out = append(out, buf[:n]...)
			off += int64(n)
			if errors.Is(err, io.EOF) || off >= md.msgs[i].Size {
				return out
			}
			if err != nil {
				t.Fatalf("ReadBody(%d, %d): %v", i, off, err)
			}
		}
	}
	tests := []struct {
		name  string
		order []int
		chunk int
	}{
		{"in order", []int{0, 1, 2, 3}, 32 << 10},
		{"small chunks", []int{0, 1, 2, 3}, 7},
		{"backwards", []int{3, 2, 1, 0}, 32 << 10},
		{"skipping", []int{1, 3, 0, 2}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := b.openMaildrop(ctx, e.boxes["carol"])
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range tt.order {
				if got := readAll(t, md, i, tt.chunk); !bytes.Equal(got, want[i]) {
					t.Errorf("message %d: got %d octets; want %d, equal", i+1, len(got), len(want[i]))
				}
			}
			// A TOP-like partial read of the next message after a whole one.
			readAll(t, md, 1, 1024)
			p := make([]byte, 10)
			if n, err := md.ReadBody(ctx, 2, 0, p); err != nil || !bytes.Equal(p[:n], want[2][:10]) {
				t.Errorf("partial read: got %q, %v; want %q", p[:n], err, want[2][:10])
			}
			md.Close()
		})
	}
}

// TestReadAheadBatches downloads a maildrop of many messages in order, as
// POP3 clients do, so that the read-ahead reads several batches; one
// message is removed and its body swept after the listing, before its
// batch is read: its RETR says it is gone and every other message arrives
// whole.
func TestReadAheadBatches(t *testing.T) {
	e := newEnv(t)
	// bob's maildrop: the messages he shares with alice, then his own.
	var want [][]byte
	for _, raw := range testMessages {
		want = append(want, []byte(raw))
	}
	for i := range 30 {
		raw := fmt.Appendf(nil, "Subject: message %d\r\n\r\n%s\r\n", i+1, bytes.Repeat([]byte{'a' + byte(i%26)}, 100*i))
		e.deliver(t, raw, "bob")
		want = append(want, raw)
	}
	count := len(want)
	b := New(Options{Mail: e.st})
	ctx := context.Background()
	md, err := b.openMaildrop(ctx, e.boxes["bob"])
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if len(md.msgs) != count {
		t.Fatalf("maildrop: got %d messages; want %d", len(md.msgs), count)
	}
	removed := len(testMessages) + 17 // message number - 1, bob's alone
	if _, err := e.st.Expunge(ctx, md.folderID, []store.UIDRange{{Start: md.uids[removed], Stop: md.uids[removed]}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SweepBodies(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	for i := range count {
		n, err := md.ReadBody(ctx, i, 0, buf)
		if i == removed {
			if !errors.Is(err, errGone) {
				t.Errorf("message %d, removed: got %d octets, %v; want errGone", i+1, n, err)
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if !bytes.Equal(buf[:n], want[i]) {
			t.Errorf("message %d: got %q; want %q", i+1, buf[:min(n, 40)], want[i][:min(len(want[i]), 40)])
		}
	}
}

// countingMail counts the store's ReadBody calls (the reads the session
// waits for; the read-ahead's go through ReadBodyHeads).
type countingMail struct {
	store.Mail
	reads atomic.Int64
}

func (c *countingMail) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	c.reads.Add(1)
	return c.Mail.ReadBody(ctx, bodyID, off, p)
}

// TestLargeMessageRestInOneRead downloads large messages in the server's
// 32 KiB chunks: after the read-ahead's first readAheadMax octets, the rest
// of each comes in one store read of up to restMax octets, not in one per
// chunk, and every octet is right.
func TestLargeMessageRestInOneRead(t *testing.T) {
	e := newEnv(t)
	want := [][]byte{[]byte(testMessages[0]), []byte(testMessages[1]), []byte(testMessages[2])}
	for _, size := range []int{40 << 10, 100 << 10, 200 << 10, readAheadMax + restMax, 300 << 10} {
		var b bytes.Buffer
		fmt.Fprintf(&b, "Subject: %d octets\r\n\r\n", size)
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, ".line %07d of a large message\r\n", i)
		}
		raw := b.Bytes()[:size]
		e.deliver(t, raw, "bob")
		want = append(want, raw)
	}
	mail := &countingMail{Mail: e.st}
	b := New(Options{Mail: mail})
	ctx := context.Background()
	md, err := b.openMaildrop(ctx, e.boxes["bob"])
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if len(md.msgs) != len(want) {
		t.Fatalf("maildrop: got %d messages; want %d", len(md.msgs), len(want))
	}
	buf := make([]byte, 32<<10)
	for i := range want {
		var got []byte
		for off := int64(0); off < md.msgs[i].Size; {
			n, err := md.ReadBody(ctx, i, off, buf)
			if n == 0 && err != nil {
				t.Fatalf("message %d at %d: %v", i+1, off, err)
			}
			got = append(got, buf[:n]...)
			off += int64(n)
		}
		if !bytes.Equal(got, want[i]) {
			t.Errorf("message %d: got %d octets; want %d, equal", i+1, len(got), len(want[i]))
		}
	}
	// The first message is read by the session (nothing was read ahead
	// yet); each large one after the read-ahead's part in one read, but
	// the last, whose rest is longer than restMax, in two.
	if got, want := mail.reads.Load(), int64(1+4+2); got != want {
		t.Errorf("store reads: got %d; want %d", got, want)
	}
}
