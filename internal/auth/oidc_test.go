package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOIDCDiscoveryFailure: an issuer that does not answer discovery
// refuses tokens with a reason that names the issuer, and is not asked
// again for every token (RetryDiscovery). Tokens themselves are checked
// end to end in package backend (TestOAuthSignIn).
func TestOIDCDiscoveryFailure(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	v := NewOIDCVerifier(OIDCOptions{Issuer: srv.URL, Audience: "gatehouse"})
	for i := 0; i < 3; i++ {
		_, err := v.Verify(context.Background(), "a.b.c")
		if err == nil || !strings.Contains(err.Error(), "discovery of "+srv.URL+" failed") {
			t.Fatalf("Verify: got %v; want a discovery failure naming the issuer", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("discovery requests: got %d; want 1 within RetryDiscovery", n)
	}
}
