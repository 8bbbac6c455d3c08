package pop3

import (
	"net"
	"testing"
)

// TestPlaintextAllowed is the transport half of the login rule for every
// combination of TLS, client address and allow-insecure-auth: USER/PASS
// and AUTH PLAIN without TLS only from loopback, unless configured
// (RFC 2595 §2.1; the access rule itself is access.Decide).
func TestPlaintextAllowed(t *testing.T) {
	remote := net.ParseIP("192.0.2.7")
	for _, tc := range []struct {
		name          string
		tls           bool
		ip            net.IP
		allowInsecure bool
		want          bool // allowed
	}{
		{"plain from remote", false, remote, false, false},
		{"plain from remote, allowed by config", false, remote, true, true},
		{"plain from 127.0.0.1", false, net.IPv4(127, 0, 0, 1), false, true},
		{"plain from ::1", false, net.IPv6loopback, false, true},
		{"plain from 127.0.0.1, allowed by config", false, net.IPv4(127, 0, 0, 1), true, true},
		{"TLS from remote", true, remote, false, true},
		{"TLS from remote, allowed by config", true, remote, true, true},
		{"TLS from 127.0.0.1", true, net.IPv4(127, 0, 0, 1), false, true},
		{"TLS from ::1, allowed by config", true, net.IPv6loopback, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &session{tls: tc.tls, remote: &net.TCPAddr{IP: tc.ip, Port: 50000},
				srv: &Server{insecure: tc.allowInsecure, isLoopback: addrIsLoopback}}
			if got := s.plaintextAllowed(); got != tc.want {
				t.Errorf("plaintextAllowed: got %v; want %v", got, tc.want)
			}
		})
	}
}
