package pop3

import (
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/transport"
)

// TestPlaintextAllowed: USER/PASS and AUTH PLAIN need TLS from a remote
// address unless configured (RFC 2595 §2.1), over the shared table of the
// transport rule; the access rule itself is access.Decide.
func TestPlaintextAllowed(t *testing.T) {
	for _, tc := range transport.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			s := &session{tls: tc.TLS, remote: tc.Remote, srv: &Server{insecure: tc.AllowInsecure, isLoopback: addrIsLoopback}}
			if got := s.plaintextAllowed(); got != tc.Allowed {
				t.Errorf("plaintextAllowed: got %v; want %v", got, tc.Allowed)
			}
		})
	}
}
