package imap

import (
	"net"
	"testing"
)

// TestPlaintextRefused is the transport half of the login rule for every
// combination of TLS, client address and allow-insecure-auth: LOGIN and
// AUTHENTICATE PLAIN without TLS only from loopback, unless configured
// (RFC 9051 §6.2.3 LOGINDISABLED; the access rule itself is
// access.Decide).
func TestPlaintextRefused(t *testing.T) {
	remote := net.ParseIP("192.0.2.7")
	for _, tc := range []struct {
		name          string
		tls           bool
		ip            net.IP
		allowInsecure bool
		want          bool // refused
	}{
		{"plain from remote", false, remote, false, true},
		{"plain from remote, allowed by config", false, remote, true, false},
		{"plain from 127.0.0.1", false, net.IPv4(127, 0, 0, 1), false, false},
		{"plain from ::1", false, net.IPv6loopback, false, false},
		{"plain from 127.0.0.1, allowed by config", false, net.IPv4(127, 0, 0, 1), true, false},
		{"TLS from remote", true, remote, false, false},
		{"TLS from remote, allowed by config", true, remote, true, false},
		{"TLS from 127.0.0.1", true, net.IPv4(127, 0, 0, 1), false, false},
		{"TLS from ::1, allowed by config", true, net.IPv6loopback, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{tls: tc.tls, loopback: isLoopback(&net.TCPAddr{IP: tc.ip, Port: 50000}),
				srv: &Server{opts: Options{AllowPlaintextAuth: tc.allowInsecure}}}
			if got := c.plaintextRefused(); got != tc.want {
				t.Errorf("plaintextRefused: got %v; want %v", got, tc.want)
			}
		})
	}
}
