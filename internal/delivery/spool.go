package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// A message is held in memory whole once: the store takes it as one
// []byte (store.NewMessage.Raw) and writes it in chunks. Everything before
// that is kept small. DATA is read through a spool that turns bare LF into
// CRLF as it goes and keeps the message in memory up to spoolAbove octets,
// in a file beyond; once the transfer is complete, its size is known, and a
// message from a file is read back into one buffer of exactly that size.
// That buffer is what is parsed and stored, and it is taken from a memory
// budget (Options.DataMemory): transfers whose messages do not fit wait for
// those being stored to finish. So slow senders hold only a file, and the
// memory of messages in flight stays near one copy of the largest.

// errSpool marks a failure of the spool file (a full disk, most likely).
var errSpool = errors.New("spool")

// spool receives one message.
type spool struct {
	dir   string
	above int
	mem   []byte   // the message so far, while it is small
	f     *os.File // beyond above: the message so far
	n     int      // octets in f
	cr    bool     // the last octet written was CR
	wbuf  []byte
}

func newSpool(dir string, above int, header []byte) *spool {
	// Room for an ordinary message (most are a few KiB) without growing.
	mem := make([]byte, 0, len(header)+min(max(above, 4096), 16<<10))
	return &spool{dir: dir, above: above, mem: append(mem, header...)}
}

// copyBufs hold the buffers that DATA is copied into the spool through.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// readFrom copies r into the spool (io.Copy, through a pooled buffer
// rather than a new one per message).
func (s *spool) readFrom(r io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(s, r, buf[:])
}

// Write implements io.Writer, with bare LF turned into CRLF.
func (s *spool) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := 0
		for i < len(p) && (p[i] != '\n' || (i == 0 && s.cr) || (i > 0 && p[i-1] == '\r')) {
			i++
		}
		if err := s.put(p[:i]); err != nil {
			return 0, err
		}
		if i > 0 {
			s.cr = p[i-1] == '\r'
		}
		p = p[i:]
		if len(p) > 0 {
			// A bare LF.
			if err := s.put([]byte("\r\n")); err != nil {
				return 0, err
			}
			s.cr = false
			p = p[1:]
		}
	}
	return n, nil
}

func (s *spool) put(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if s.f == nil && len(s.mem)+len(p) <= s.above {
		s.mem = append(s.mem, p...)
		return nil
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "data-*.eml")
		if err != nil {
			return fmt.Errorf("%w: %w", errSpool, err)
		}
		// Gone from the directory at once: nothing is left behind by a
		// crash, and the file lives until it is closed.
		os.Remove(f.Name())
		s.f = f
		s.wbuf = make([]byte, 0, 64<<10)
		if err := s.put(s.mem); err != nil {
			return err
		}
		s.mem = nil
	}
	if len(s.wbuf)+len(p) > cap(s.wbuf) {
		if err := s.flush(); err != nil {
			return err
		}
		if len(p) >= cap(s.wbuf) {
			w, err := s.f.Write(p)
			s.n += w
			if err != nil {
				return fmt.Errorf("%w: %w", errSpool, err)
			}
			return nil
		}
	}
	s.wbuf = append(s.wbuf, p...)
	return nil
}

func (s *spool) flush() error {
	if len(s.wbuf) == 0 {
		return nil
	}
	w, err := s.f.Write(s.wbuf)
	s.n += w
	s.wbuf = s.wbuf[:0]
	if err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	return nil
}

// size returns the length of the message so far.
func (s *spool) size() int {
	if s.f == nil {
		return len(s.mem)
	}
	return s.n + len(s.wbuf)
}

// bytes returns the whole message in one buffer of its size (the spool's
// own for a small one) and closes the spool.
func (s *spool) bytes() ([]byte, error) {
	defer s.close()
	if s.f == nil {
		b := s.mem
		s.mem = nil
		return b, nil
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	s.wbuf = nil
	b := make([]byte, s.n)
	if _, err := s.f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%w: read back: %w", errSpool, err)
	}
	return b, nil
}

// close drops what the spool holds.
func (s *spool) close() {
	s.mem, s.wbuf = nil, nil
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// MemoryBudget bounds the octets of messages held in memory for storing; an
// SMTP and an LMTP server may share one (Options.Memory). It is a weighted
// semaphore, first come first served (a large message is not starved by a
// stream of small ones).
type MemoryBudget = budget

// NewMemoryBudget returns a budget of size octets.
func NewMemoryBudget(size int64) *MemoryBudget { return newBudget(size) }

type budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(size int64) *budget { return &budget{size: size} }

// weight is what n octets take of the budget: a message larger than the
// whole budget takes all of it, and waits until it is alone.
func (b *budget) weight(n int64) int64 { return max(1, min(n, b.size)) }

// acquire takes n octets (see weight) from the budget, waiting for others
// to release them, or fails when ctx ends first.
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = b.weight(n)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted meanwhile: give it back.
			b.used -= n
			b.grantLocked()
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.grantLocked()
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// release gives back n octets (as given to acquire).
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= b.weight(n)
	b.grantLocked()
	b.mu.Unlock()
}

func (b *budget) grantLocked() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}

// inUse returns the octets taken now and the number of waiting transfers.
func (b *budget) inUse() (used int64, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, len(b.waiters)
}
