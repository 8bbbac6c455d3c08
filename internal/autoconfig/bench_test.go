package autoconfig_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// BenchmarkAutoconfigKnownUnknown measures the answer for a mailbox and
// for an address that is nobody's, interleaved in one run: both must be of
// one timing class (the same reads), so that timing tells no more than the
// bytes do. Run: go test -run - -bench KnownUnknown -benchtime 2000x ./internal/autoconfig
func BenchmarkAutoconfigKnownUnknown(b *testing.B) {
	env := testenv.Start(b, testenv.Options{Demo: true, Configure: func(c *config.Config) { c.Listen.Autoconfig = "127.0.0.1:0" }})
	base := "http://" + env.Addr("autoconfig") + "/mail/config-v1.1.xml?emailaddress="
	c := &http.Client{}
	fetch := func(b *testing.B, addr string) {
		res, err := c.Get(base + strings.ReplaceAll(addr, "@", "%40"))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: %d", addr, res.StatusCode)
		}
	}
	for _, tc := range []struct{ name, addr string }{
		{"known", "christa@contoso.com"}, {"unknown", "nobody.here@contoso.com"},
		{"known-again", "christa@contoso.com"}, {"unknown-again", "nobody.else@contoso.com"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				fetch(b, tc.addr)
			}
		})
	}
}
