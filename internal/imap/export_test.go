package imap

import "net"

// SetLoopback makes the server judge every client as loopback or not, so
// that tests on 127.0.0.1 can exercise the plaintext login policy.
func SetLoopback(s *Server, loopback bool) {
	s.loopback = func(net.Addr) bool { return loopback }
}

// SetMaxContextUIDs changes how many results a session's updating searches
// may hold together; it returns a function that restores the limit.
func SetMaxContextUIDs(n int) func() {
	old := maxContextUIDs
	maxContextUIDs = n
	return func() { maxContextUIDs = old }
}

// HoldCompressors takes every COMPRESS compressor slot of the server, as
// sessions whose clients stopped reading would; the returned function
// gives them back.
func HoldCompressors(s *Server) func() {
	n := cap(s.bufs.compressing)
	for i := 0; i < n; i++ {
		s.bufs.compressing <- struct{}{}
	}
	return func() {
		for i := 0; i < n; i++ {
			<-s.bufs.compressing
		}
	}
}
