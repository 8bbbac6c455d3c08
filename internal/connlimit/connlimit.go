// Package connlimit bounds the connections a listener holds open: per
// client address and in total. IMAP4, POP3, SMTP and LMTP share it, so that
// one address cannot take every slot of any of them, and the whole server
// cannot be made to hold more connections (goroutines, buffers, file
// descriptors) than configured. It imports nothing of Gatehouse: the
// protocol engines may use it.
package connlimit

import (
	"errors"
	"net"
	"sync"
)

// Errors of Acquire; a server answers each with its own temporary refusal.
var (
	ErrPerAddr = errors.New("too many connections from your address")
	ErrTotal   = errors.New("too many connections")
)

// Limiter counts open connections. The zero value limits nothing.
type Limiter struct {
	perAddr, total int

	mu    sync.Mutex
	n     int
	addrs map[string]int
}

// New returns a Limiter allowing perAddr connections from one address and
// total in all; zero or negative: no limit of that kind.
func New(perAddr, total int) *Limiter {
	return &Limiter{perAddr: perAddr, total: total, addrs: map[string]int{}}
}

// Acquire counts a new connection from a, or refuses it (ErrPerAddr,
// ErrTotal). A connection over a unix socket has no address of its own and
// meets only the total limit. release must be called once when the
// connection ends; calling it again does nothing.
func (l *Limiter) Acquire(a net.Addr) (release func(), err error) {
	host := Host(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total > 0 && l.n >= l.total {
		return nil, ErrTotal
	}
	if host != "" && l.perAddr > 0 && l.addrs[host] >= l.perAddr {
		return nil, ErrPerAddr
	}
	l.n++
	if host != "" {
		if l.addrs == nil {
			l.addrs = map[string]int{}
		}
		l.addrs[host]++
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(host) }) }, nil
}

func (l *Limiter) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if host != "" {
		if l.addrs[host]--; l.addrs[host] <= 0 {
			delete(l.addrs, host)
		}
	}
}

// Open returns the number of connections counted now, in total and from
// the address a.
func (l *Limiter) Open(a net.Addr) (total, fromAddr int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.addrs[Host(a)]
}

// Host returns the IP address of a as the limiter counts it; "" for a unix
// socket.
func Host(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UnixAddr:
		return ""
	case nil:
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
