package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
)

// SocketName is the file in the data directory through which another
// process of the same single-node installation (gatehouse import) hands
// its change events to the running server, whose hub (Local) lives in its
// own process only.
const SocketName = "notify.sock"

// Listener takes events from other processes on a Unix socket and
// publishes them on a hub.
type Listener struct {
	l    net.Listener
	path string
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // the clients connected now
	closed bool
}

// ListenSocket listens on path (only the owner may connect: the socket is
// made with mode 0600) and publishes every event a client writes, one JSON
// object a line, on hub. A stale socket file of an earlier process is
// replaced.
func ListenSocket(path string, hub Hub, log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: another running server listens there", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	s := &Listener{l: l, path: path, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("notify socket: accept", "err", err)
				}
				return
			}
			if !s.track(c) {
				c.Close()
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(c)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					var e Event
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Kind != FolderChanged || e.MailboxID == 0 {
						// Only signals of changed folders come this way.
						log.Warn("notify socket: event refused", "line", sc.Text(), "err", err)
						continue
					}
					hub.Publish(context.Background(), e)
				}
			}()
		}
	}()
	return s, nil
}

// track records a client connection; false once Close has begun.
func (s *Listener) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Listener) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Close stops listening, removes the socket file and ends the connections
// of clients still connected (a gatehouse import running), whose reads
// would otherwise keep Close waiting.
func (s *Listener) Close() error {
	err := s.l.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// SocketHub is a Hub that hands events to a running server's Listener.
// Subscribing is not possible through it.
type SocketHub struct {
	mu sync.Mutex
	c  net.Conn
	w  *bufio.Writer
}

var _ Hub = (*SocketHub)(nil)

// DialSocket connects to the Listener at path.
func DialSocket(path string) (*SocketHub, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &SocketHub{c: c, w: bufio.NewWriter(c)}, nil
}

// Publish implements Hub.
func (h *SocketHub) Publish(ctx context.Context, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.w.Write(append(b, '\n'))
	return h.w.Flush()
}

// Subscribe implements Hub: a SocketHub only publishes.
func (h *SocketHub) Subscribe(int64, func(Event)) func() { return func() {} }

// Close closes the connection.
func (h *SocketHub) Close() error { return h.c.Close() }
