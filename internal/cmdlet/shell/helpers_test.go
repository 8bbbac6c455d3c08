package shell

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/exchange"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
)

func TestMain(m *testing.M) {
	// The terminal tests run this binary as the shell on a pseudo-terminal.
	if os.Getenv("GATEHOUSE_SHELL_HELPER") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(Main(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
	}
	// Dates are shown in the local zone; the expected outputs are in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

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

// newTestSession is a session with the Exchange cmdlets, calling api and
// writing to the buffer it returns.
func newTestSession(t testing.TB, api cmdlet.API) (*cmdlet.Session, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	s := cmdlet.NewSession(cmdlet.SessionOptions{Host: cmdlet.Host{Out: &out, Err: &out, Width: 100}, Registry: exchange.DefaultRegistry(), API: api, Dir: t.TempDir()})
	return s, &out
}

func run(t testing.TB, s *cmdlet.Session, src string) {
	t.Helper()
	if err := s.Execute(context.Background(), src); err != nil {
		t.Fatalf("Execute(%q): %v", src, err)
	}
}
