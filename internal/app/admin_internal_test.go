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

// TestMessageCacheSetting: imap.message_cache 0 turns the IMAP message
// cache off (the adapter's negative), any other size is passed on as is.
func TestMessageCacheSetting(t *testing.T) {
	for _, c := range []struct {
		size config.Size
		want int64
	}{{0, -1}, {128e6, 128e6}, {1, 1}} {
		if got := messageCacheBytes(c.size); got != c.want {
			t.Errorf("imap.message_cache %v: %d; want %d", c.size, got, c.want)
		}
	}
}
