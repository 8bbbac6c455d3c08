package imap

import (
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/transport"
)

// TestPlaintextRefused: LOGIN and AUTHENTICATE PLAIN are refused without
// TLS from a remote address unless configured (RFC 9051 §6.2.3
// LOGINDISABLED), over the shared table of the transport rule; the access
// rule itself is access.Decide.
func TestPlaintextRefused(t *testing.T) {
	for _, tc := range transport.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			c := &conn{tls: tc.TLS, loopback: isLoopback(tc.Remote), srv: &Server{opts: Options{AllowPlaintextAuth: tc.AllowInsecure}}}
			if got := c.plaintextRefused(); got != !tc.Allowed {
				t.Errorf("plaintextRefused: got %v; want %v", got, !tc.Allowed)
			}
		})
	}
}
