package webguard

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCSRF(t *testing.T) {
	a, b := CSRFToken("admin", "secret"), CSRFToken("account", "secret")
	if a == b {
		t.Errorf("tokens of two surfaces are equal: %q", a)
	}
	if !ValidCSRF("admin", "secret", a) || ValidCSRF("account", "secret", a) || ValidCSRF("admin", "other", a) {
		t.Errorf("ValidCSRF accepts a token of another surface or secret, or refuses its own")
	}
	if ValidCSRF("admin", "", CSRFToken("admin", "")) || ValidCSRF("admin", "secret", "") {
		t.Errorf("an empty secret or token is accepted")
	}
	if RandomToken() == RandomToken() || len(RandomToken()) != 32 {
		t.Errorf("RandomToken: not random or not 24 bytes")
	}
}

func TestCookie(t *testing.T) {
	r := httptest.NewRequest("GET", "/account/", nil)
	c := Cookie(r, "/account", "n", "v", time.Hour)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/account" || c.Secure || c.MaxAge != 3600 {
		t.Errorf("plain HTTP cookie: %+v", c)
	}
	r.TLS = &tls.ConnectionState{}
	if c := Cookie(r, "/account", "n", "", -1); !c.Secure || c.MaxAge != -1 {
		t.Errorf("TLS delete cookie: %+v", c)
	}
	w := httptest.NewRecorder()
	SetSecurityHeaders(w, r)
	if w.Header().Get("Strict-Transport-Security") == "" || w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy ||
		w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", w.Header())
	}
	r.RemoteAddr = "[2001:db8::1]:4242"
	if ClientIP(r) != "2001:db8::1" {
		t.Errorf("ClientIP: %q", ClientIP(r))
	}
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if !CrossSite(r) {
		t.Errorf("CrossSite: false")
	}
}
