package app

import (
	"net"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
)

// TestAdminTLSDecision: admin.tls = auto serves HTTPS on every address but
// loopback; on and off mean what they say.
func TestAdminTLSDecision(t *testing.T) {
	tests := []struct {
		mode string
		ip   string
		want bool
	}{
		{"auto", "127.0.0.1", false},
		{"auto", "::1", false},
		{"auto", "0.0.0.0", true},
		{"auto", "::", true},
		{"auto", "192.0.2.10", true},
		{"on", "127.0.0.1", true},
		{"off", "192.0.2.10", false},
	}
	for _, tt := range tests {
		addr := &net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 8080}
		if got := adminTLS(config.Admin{TLS: tt.mode}, addr); got != tt.want {
			t.Errorf("%s on %s: got TLS %v; want %v", tt.mode, addr, got, tt.want)
		}
	}
}
