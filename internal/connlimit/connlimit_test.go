package connlimit

import (
	"errors"
	"net"
	"testing"
)

func TestLimiter(t *testing.T) {
	a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1000}
	b := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 1000}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 2000}
	unix := &net.UnixAddr{Name: "@", Net: "unix"}
	l := New(2, 4)
	var releases []func()
	for _, tc := range []struct {
		name string
		addr net.Addr
		want error
	}{
		{"first from a", a, nil},
		{"second from a (IPv4-mapped)", mapped, nil},
		{"third from a", a, ErrPerAddr},
		{"first from b", b, nil},
		{"unix socket, no address", unix, nil},
		{"second from b, total reached", b, ErrTotal},
		{"another unix socket", unix, ErrTotal},
	} {
		release, err := l.Acquire(tc.addr)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, err, tc.want)
		}
		if err == nil {
			releases = append(releases, release)
		}
	}
	if total, fromA := l.Open(a); total != 4 || fromA != 2 {
		t.Errorf("open: got %d in all, %d from a; want 4, 2", total, fromA)
	}
	releases[0]()
	releases[0]() // a second call does nothing
	if total, fromA := l.Open(a); total != 3 || fromA != 1 {
		t.Errorf("open after a release: got %d in all, %d from a; want 3, 1", total, fromA)
	}
	if _, err := l.Acquire(a); err != nil {
		t.Errorf("a after a release: got %v; want nil", err)
	}
	unlimited := New(-1, 0)
	for i := range 1000 {
		if _, err := unlimited.Acquire(a); err != nil {
			t.Fatalf("no limits, connection %d: got %v; want nil", i, err)
		}
	}
}
