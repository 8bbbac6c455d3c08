package imap

import "net"

// SetLoopback makes the server judge every client as loopback or not, so
// that tests on 127.0.0.1 can exercise the plaintext login policy.
func SetLoopback(s *Server, loopback bool) {
	s.loopback = func(net.Addr) bool { return loopback }
}
