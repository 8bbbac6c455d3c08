package exchange

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
)

func newTestSession(t testing.TB, api cmdlet.API) (*cmdlet.Session, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	s := cmdlet.NewSession(cmdlet.SessionOptions{Host: cmdlet.Host{Out: &out, Err: &out, Width: 100}, Registry: DefaultRegistry(), API: api, Dir: t.TempDir()})
	return s, &out
}

func run(t testing.TB, s *cmdlet.Session, src string) {
	t.Helper()
	if err := s.Execute(context.Background(), src); err != nil {
		t.Fatalf("Execute(%q): %v", src, err)
	}
}

func manyMailboxes(n int) *fakeapi.Server {
	f := fakeapi.New()
	for i := range n - len(f.Mailboxes) {
		f.Add(fmt.Sprintf("User %05d", i), fmt.Sprintf("user%05d", i), true, true)
	}
	return f
}

// TestBulkSetCASMailbox pipes mailboxes into Set-CASMailbox: with a bulk
// endpoint they go 500 to a PATCH request, without one each is a request,
// 16 at a time; either way every mailbox changes.
func TestBulkSetCASMailbox(t *testing.T) {
	for _, bulk := range []bool{true, false} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			// 3,000 mailboxes: 6 bulk requests of 500, or 3,000 single
			// ones; the 10,000 of issue 6 are the benchmarks' business.
			n := 3000
			f := manyMailboxes(n)
			f.Bulk = bulk
			_, client := startFake(t, f)
			s, out := newTestSession(t, client)
			run(t, s, "Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false")
			if out.Len() != 0 {
				t.Errorf("output: got %q; want none", out.String())
			}
			if s.Failed() {
				t.Error("the session recorded a failure")
			}
			f.Mu.Lock()
			defer f.Mu.Unlock()
			for _, m := range f.Mailboxes {
				if m["PopEnabled"] != false || m["ImapEnabled"] != false {
					t.Fatalf("%s: got PopEnabled=%v ImapEnabled=%v; want both false", m["Name"], m["PopEnabled"], m["ImapEnabled"])
				}
			}
			wantPatches := int64(n / bulkBatch)
			if !bulk {
				wantPatches = int64(n)
			}
			if got := f.Patches.Load(); got != wantPatches {
				t.Errorf("PATCH requests: got %d; want %d", got, wantPatches)
			}
			// Each piped mailbox is named by its GUID in the bulk
			// request, so the server finds it in one indexed lookup.
			if got, want := f.ByGUID.Load(), map[bool]int64{true: int64(n), false: 0}[bulk]; got != want {
				t.Errorf("bulk items naming their mailbox by GUID: got %d; want %d", got, want)
			}
		})
	}
}

func TestBulkErrorsInOrder(t *testing.T) {
	f := fakeapi.New()
	_, client := startFake(t, f)
	s, out := newTestSession(t, client)
	run(t, s, "'christa','nobody','bob','christa' | Set-CASMailbox -PopEnabled $false")
	want := "Set-CASMailbox: The operation couldn't be performed because object 'nobody' couldn't be found on 'gatehouse.test'.\n" +
		"WARNING: The command completed successfully but no settings of 'Bob Smith' have been modified.\n" +
		"WARNING: The command completed successfully but no settings of 'Christa Knapp' have been modified.\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if !s.Failed() {
		t.Error("Failed: got false; want true after a not-found error")
	}
	if got := f.Patches.Load(); got != 1 {
		t.Errorf("PATCH requests: got %d; want 1 (one bulk request)", got)
	}
}

func TestTokenExpiry(t *testing.T) {
	f := fakeapi.New()
	_, client := startFake(t, f)
	s, out := newTestSession(t, client)
	run(t, s, "Get-Mailbox christa | ForEach-Object Alias")
	f.Mu.Lock()
	f.Token = "tok-2" // the old token is no longer accepted
	f.Mu.Unlock()
	run(t, s, "Get-Mailbox bob | ForEach-Object Alias")
	if got, want := out.String(), "christa\nbob\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestSignInFailure(t *testing.T) {
	f := fakeapi.New()
	srv, _ := startFake(t, f)
	client, err := client.New(cmdlet.ClientOptions{Server: srv.URL, User: "admin", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	s, out := newTestSession(t, client)
	run(t, s, "Get-Mailbox; 'next'")
	want := "Get-Mailbox: Sign-in failed: the user name or password is incorrect.\nnext\n"
	if out.String() != want {
		t.Errorf("got %q; want %q", out.String(), want)
	}
}

func TestServerDown(t *testing.T) {
	f := fakeapi.New()
	srv, client := startFake(t, f)
	srv.Close()
	s, out := newTestSession(t, client)
	run(t, s, "Get-CASMailbox; Set-CASMailbox christa -PopEnabled $false; 'still here'")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || lines[2] != "still here" {
		t.Fatalf("got %q; want two errors and 'still here'", out.String())
	}
	for _, l := range lines[:2] {
		if !strings.Contains(l, "Cannot connect to the Gatehouse server at http://127.0.0.1:") || !strings.Contains(l, "the connection was refused. Is the server running?") {
			t.Errorf("got %q; want the connection-refused message", l)
		}
	}
}

func TestNotConnected(t *testing.T) {
	s, out := newTestSession(t, nil)
	run(t, s, "Get-Mailbox; 1 + 1")
	want := "Get-Mailbox: Not connected to a Gatehouse server. Sign in with Connect-ExchangeOnline -ConnectionUri URL -UserPrincipalName NAME, or start the shell with --server URL --user NAME (or GATEHOUSE_SERVER and GATEHOUSE_USER).\n2\n"
	if out.String() != want {
		t.Errorf("got %q; want %q", out.String(), want)
	}
}

func TestPaging(t *testing.T) {
	f := manyMailboxes(250)
	_, client := startFake(t, f)
	s, out := newTestSession(t, client)
	run(t, s, "(Get-Mailbox -ResultSize Unlimited).Count; (Get-Mailbox -ResultSize 150).Count")
	if got, want := out.String(), "250\nWARNING: There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.\n150\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	out.Reset()
	run(t, s, "(Get-Mailbox -WarningAction SilentlyContinue).Count")
	if got, want := out.String(), "250\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestDefaultResultSizeWarning(t *testing.T) {
	f := manyMailboxes(1005)
	_, client := startFake(t, f)
	s, out := newTestSession(t, client)
	run(t, s, "$m = Get-Mailbox; $m.Count")
	want := "WARNING: " + DefaultCapWarning(1000) + "\n1000\n"
	if out.String() != want {
		t.Errorf("got %q; want %q", out.String(), want)
	}
}

// BenchmarkSetCASMailbox10000 measures Get-Mailbox -ResultSize Unlimited |
// Set-CASMailbox over 10,000 mailboxes against the in-memory fake server,
// with and without a bulk endpoint: the cost of the shell and HTTP, not of
// a real store.
func BenchmarkSetCASMailbox10000(b *testing.B) {
	for _, bulk := range []bool{true, false} {
		b.Run(fmt.Sprintf("bulk=%v", bulk), func(b *testing.B) {
			f := manyMailboxes(10000)
			f.Bulk = bulk
			_, client := startFake(b, f)
			s, _ := newTestSession(b, client)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := i%2 == 0
				run(b, s, fmt.Sprintf("Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $%v", v))
			}
		})
	}
}
