// Package transport is the table of the transport half of the login rule,
// shared by the tests of the two protocol engines (each engine holds its
// own copy of the rule, since neither may import the other or access):
// plaintext logins without TLS only from loopback, unless the server allows
// insecure authentication (RFC 2595 §2.1, RFC 9051 LOGINDISABLED).
package transport

import "net"

// Case is one combination of the rule's inputs and whether a plaintext
// login is allowed.
type Case struct {
	Name          string
	TLS           bool
	Remote        net.Addr
	AllowInsecure bool
	Allowed       bool
}

var (
	remote = &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 50000}
	v4     = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
	v6     = &net.TCPAddr{IP: net.IPv6loopback, Port: 50000}
	unix   = &net.UnixAddr{Name: "/run/gatehouse.sock", Net: "unix"}
)

// Cases covers TLS or not, a remote, an IPv4 and IPv6 loopback and a unix
// socket client, with and without allow-insecure-auth.
var Cases = []Case{
	{"plain from remote", false, remote, false, false},
	{"plain from remote, allowed by config", false, remote, true, true},
	{"plain from 127.0.0.1", false, v4, false, true},
	{"plain from ::1", false, v6, false, true},
	{"plain from a unix socket", false, unix, false, true},
	{"plain from 127.0.0.1, allowed by config", false, v4, true, true},
	{"TLS from remote", true, remote, false, true},
	{"TLS from remote, allowed by config", true, remote, true, true},
	{"TLS from 127.0.0.1", true, v4, false, true},
	{"TLS from ::1, allowed by config", true, v6, true, true},
}
