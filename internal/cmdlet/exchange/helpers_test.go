package exchange

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
)

// startFake serves f on 127.0.0.1:0 and returns a client signed in to it.
func startFake(t testing.TB, f *fakeapi.Server) (*httptest.Server, *client.Client) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := client.New(cmdlet.ClientOptions{Server: srv.URL, User: "admin", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}
