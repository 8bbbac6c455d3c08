package shell

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/exchange"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// The end-to-end tests run the shell against a whole Gatehouse server
// (internal/testenv: every listener on 127.0.0.1:0, its own data
// directory), signed in over the real REST API.

// shellRun runs `gatehouse shell --server ... -c src` in-process and
// returns its exit status, stdout and stderr.
func shellRun(t testing.TB, env *testenv.Env, dir, user, password, src string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if dir != "" {
		if tt, ok := t.(*testing.T); ok {
			tt.Chdir(dir)
		}
	}
	code := Main(context.Background(), []string{"--server", env.URL(), "--user", user, "--password", password, "--history", "-", "-c", src},
		strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func startServer(t testing.TB) *testenv.Env {
	t.Helper()
	return testenv.Start(t, testenv.Options{Demo: true})
}

// TestE2EDocumentedExamples runs the five examples of issue 6, as they
// stand, with -c against a real server on each engine and checks their
// effect.
func TestE2EDocumentedExamples(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { documentedExamples(t, startServer(t)) })
	t.Run("postgres", func(t *testing.T) {
		documentedExamples(t, testenv.Start(t, testenv.Options{Demo: true, Postgres: true}))
	})
}

func documentedExamples(t *testing.T, env *testenv.Env) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("Name,Alias\nKim Akers,kim\nBen Andrews,ben\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	admin := func(src string) (int, string, string) {
		return shellRun(t, env, dir, "admin", testenv.AdminPassword, src)
	}
	steps := []struct {
		src       string
		wantOut   []string
		wantEmpty bool
	}{
		{src: `Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`, wantEmpty: true},
		{src: `Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true`, wantEmpty: true},
		{src: `Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*`, wantOut: []string{"PopEnabled  : True", "ImapEnabled : False"}},
		{src: "Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation", wantEmpty: true},
		{src: `Set-CASMailbox -Identity kim -ImapEnabled $true; Set-CASMailbox ben -ImapEnabled $true`, wantEmpty: true},
		{src: `Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }`, wantEmpty: true},
		{src: `Get-CASMailbox | Where-Object { $_.PopEnabled -or $_.ImapEnabled } | ForEach-Object Name`, wantOut: []string{"Christa Knapp\n"}},
	}
	for _, st := range steps {
		code, out, errOut := admin(st.src)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", st.src, code, errOut)
		}
		if st.wantEmpty && out != "" {
			t.Errorf("%s: got output %q; want none", st.src, out)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%s: got %q; want it to contain %q", st.src, out, w)
			}
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "pop.csv"))
	if err != nil || string(csv) != "\"Name\",\"PopEnabled\"\n\"Christa Knapp\",\"True\"\n" {
		t.Errorf("pop.csv: got %q, %v", csv, err)
	}
	code, out, _ := admin(`Get-CASMailbox kim | ForEach-Object ImapEnabled; Get-CASMailbox ben | ForEach-Object ImapEnabled`)
	_ = code
	if !strings.HasSuffix(out, "False\nFalse\n") {
		t.Errorf("after Import-Csv: got %q; want kim and ben with IMAP4 off", out)
	}
}

// TestE2ERedirection: > and >> write what the console would show to a
// file, > $null discards, and a bad path is an Out-File error.
func TestE2ERedirection(t *testing.T) {
	env := startServer(t)
	dir := t.TempDir()
	code, out, errOut := shellRun(t, env, dir, "admin", testenv.AdminPassword,
		"Get-Mailbox christa > mb.txt; 'second line' >> mb.txt; Get-Mailbox > $null; Get-CASMailbox>cas.txt")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and no output", code, out, errOut)
	}
	mb, err := os.ReadFile(filepath.Join(dir, "mb.txt"))
	if err != nil || !strings.Contains(string(mb), "Christa Knapp christa") || !strings.HasSuffix(string(mb), "second line\n") {
		t.Errorf("mb.txt: %q, %v", mb, err)
	}
	cas, err := os.ReadFile(filepath.Join(dir, "cas.txt"))
	if err != nil || !strings.Contains(string(cas), "PopEnabled") {
		t.Errorf("cas.txt: %q, %v", cas, err)
	}
	code, _, errOut = shellRun(t, env, dir, "admin", testenv.AdminPassword, "Get-Mailbox > no/such/dir/x.txt")
	if code != 1 || !strings.HasPrefix(errOut, "Out-File: ") {
		t.Errorf("redirection to a missing directory: exit %d, stderr %q", code, errOut)
	}
}

// TestE2EErrors checks the messages a real server gives through the shell,
// and the exit status of -c.
func TestE2EErrors(t *testing.T) {
	env := startServer(t)
	tests := []struct {
		user, password, src string
		code                int
		stderr              string
	}{
		{"admin", testenv.AdminPassword, `Set-CASMailbox -Identity nobody -PopEnabled $false`, 1,
			"Set-CASMailbox: The operation couldn't be performed because object 'nobody' couldn't be found on"},
		{"admin", testenv.AdminPassword, `Get-CASMailbox -Identity 'Christa*' | Set-CASMailbox -PopEnabled $true; Set-CASMailbox -Identity Christa* -PopEnabled $true`, 1,
			"Set-CASMailbox:"},
		{"admin", testenv.AdminPassword, `Get-CASMailbox -Filter "PopEnabled -eq"`, 1,
			"Get-CASMailbox: Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax."},
		{"admin", testenv.AdminPassword, `Get-CASMailbox -Filter "Nonsense -eq 1"`, 1,
			"is not a recognized filterable property"},
		{"admin", testenv.AdminPassword, `Get-Mailbx`, 1, "The term 'Get-Mailbx' is not recognized"},
		{"admin", "wrong", `Get-Mailbox`, 1, "gatehouse shell: Sign-in failed"},
		{"holly", testenv.DemoPassword, `Set-CASMailbox -Identity christa -PopEnabled $false`, 1, "Set-CASMailbox: "},
		{"admin", testenv.AdminPassword, `Set-CASMailbox christa -PopEnabled $true; Set-CASMailbox christa -PopEnabled $true`, 0,
			"WARNING: The command completed successfully but no settings of 'Christa Knapp' have been modified."},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			code, _, errOut := shellRun(t, env, "", tt.user, tt.password, tt.src)
			if code != tt.code {
				t.Errorf("exit status: got %d; want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr: got %q; want it to contain %q", errOut, tt.stderr)
			}
		})
	}
}

// TestE2EPipedObjectsByGUID pipes mailbox objects into Set-CASMailbox
// after one of them was renamed: the piped objects name their mailboxes by
// GUID, as Exchange binds a piped object, so both still change.
func TestE2EPipedObjectsByGUID(t *testing.T) {
	env := startServer(t)
	code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword,
		`$m = @(Get-CASMailbox christa) + @(Get-CASMailbox ben); Set-Mailbox christa -Name "Christa Renamed"; $m | Set-CASMailbox -PopEnabled $false; (Get-CASMailbox christa).PopEnabled; (Get-CASMailbox ben).PopEnabled; (Get-CASMailbox christa).Name`)
	if code != 0 || out != "False\nFalse\nChrista Renamed\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want False, False, Christa Renamed", code, out, errOut)
	}
}

// TestE2EWhatIfAndAudit checks -WhatIf and the audit trail of a change.
func TestE2EWhatIfAndAudit(t *testing.T) {
	env := startServer(t)
	code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, `Set-CASMailbox -Identity "Christa Knapp" -PopEnabled $false -WhatIf; (Get-CASMailbox christa).PopEnabled`)
	if code != 0 || !strings.Contains(out, `What if: Performing the operation "Set-CASMailbox" on target "Christa Knapp".`) || !strings.HasSuffix(out, "True\n") {
		t.Fatalf("-WhatIf: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = shellRun(t, env, "", "admin", testenv.AdminPassword,
		`Set-CASMailbox -Identity "Christa Knapp" -PopEnabled $false; Search-AdminAuditLog -Cmdlets Set-CASMailbox | Select-Object -First 1 | Format-List CmdletName,ObjectModified,Succeeded`)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"CmdletName     : Set-CASMailbox", "ObjectModified : Christa Knapp", "Succeeded      : True"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit: got %q; want %q", out, want)
		}
	}
}

// seedMailboxes adds n mailboxes straight into the store, in one
// transaction, for bulk runs.
func seedMailboxes(t testing.TB, env *testenv.Env, n int) {
	t.Helper()
	now := time.Now().UTC()
	err := env.Store.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			m := store.Mailbox{Name: fmt.Sprintf("Bulk User %05d", i), DisplayName: fmt.Sprintf("Bulk User %05d", i),
				Alias: fmt.Sprintf("bulk%05d", i), PrimarySmtpAddress: fmt.Sprintf("bulk%05d@contoso.com", i),
				UserPrincipalName: fmt.Sprintf("bulk%05d@contoso.com", i), PopEnabled: true, ImapEnabled: true,
				WhenCreated: now, WhenChanged: now}
			if err := tx.InsertMailbox(context.Background(), &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestE2EBulk pipes every mailbox of a real server into Set-CASMailbox and
// checks that all changed.
func TestE2EBulk(t *testing.T) {
	env := startServer(t)
	n := 1100 // two pages of 1000, three batches of 500
	if raceDetector {
		n = 150
	}
	seedMailboxes(t, env, n)
	code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword,
		`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false; (Get-CASMailbox -ResultSize Unlimited -Filter "PopEnabled -eq `+"`"+`$true" | Measure-Object).Count`)
	if code != 0 || errOut != "" || out != "0\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 mailboxes with POP3 left", code, out, errOut)
	}
}

// BenchmarkE2ESetCASMailbox10000 is issue 6's bulk figure: Get-Mailbox
// -ResultSize Unlimited | Set-CASMailbox over 10,000 mailboxes of a real
// server on SQLite, through the REST API. Each iteration flips PopEnabled,
// so that every mailbox really changes.
func BenchmarkE2ESetCASMailbox10000(b *testing.B) {
	env := startServer(b)
	seedMailboxes(b, env, 10000)
	client, err := client.New(cmdlet.ClientOptions{Server: env.URL(), User: "admin", Password: testenv.AdminPassword})
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	s := cmdlet.NewSession(cmdlet.SessionOptions{Host: cmdlet.Host{Out: &out, Err: &out}, Registry: exchange.DefaultRegistry(), API: client})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := fmt.Sprintf("Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $%v", i%2 == 1)
		if err := s.Execute(context.Background(), src); err != nil || out.Len() > 0 {
			b.Fatalf("%v %s", err, out.String())
		}
	}
}

// BenchmarkE2EMailboxScale is the scale figure of docs/performance.md for
// many mailboxes, through the shell and the REST API of a real server on
// SQLite, per directory size (GATEHOUSE_BENCH_MAILBOXES, default
// 1000,10000,100000): the first page of Get-CASMailbox (50 rows, as the
// admin center's list asks), and Get-CASMailbox -ResultSize Unlimited |
// Set-CASMailbox over every mailbox (each iteration flips PopEnabled, so
// that every mailbox really changes). The first page also carries Exchange's
// warning that more results are available.
//
//	go test -run X -bench E2EMailboxScale -benchtime 3x ./internal/cmdlet/shell/
func BenchmarkE2EMailboxScale(b *testing.B) {
	sizes := []int{1000, 10000, 100000}
	if v := strings.TrimSpace(os.Getenv("GATEHOUSE_BENCH_MAILBOXES")); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("GATEHOUSE_BENCH_MAILBOXES: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("mailboxes=%d", n), func(b *testing.B) {
			env := startServer(b)
			seedMailboxes(b, env, n)
			client, err := client.New(cmdlet.ClientOptions{Server: env.URL(), User: "admin", Password: testenv.AdminPassword})
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			s := cmdlet.NewSession(cmdlet.SessionOptions{Host: cmdlet.Host{Out: &out, Err: &out}, Registry: exchange.DefaultRegistry(), API: client})
			want := fmt.Sprintf("%d\n", min(n+10, 50)) // and the demo organization's 10
			if n+10 > 50 {
				want = "WARNING: There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.\n" + want
			}
			b.Run("Get-CASMailbox-first-page", func(b *testing.B) {
				for b.Loop() {
					out.Reset()
					if err := s.Execute(context.Background(), "(Get-CASMailbox -ResultSize 50 | Measure-Object).Count"); err != nil || out.String() != want {
						b.Fatalf("%v %q", err, out.String())
					}
				}
			})
			b.Run("Get-CASMailbox-Unlimited-Set-CASMailbox", func(b *testing.B) {
				i := 0
				// The CPU time of the process (server and shell), a
				// steadier figure than the wall time on a shared machine.
				cpu0 := cpuTime(b)
				defer func() { b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(i), "cpu-s/op") }()
				for b.Loop() {
					out.Reset()
					i++
					src := fmt.Sprintf("Get-CASMailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $%v", i%2 == 0)
					if err := s.Execute(context.Background(), src); err != nil || out.Len() > 0 {
						b.Fatalf("%v %s", err, out.String())
					}
				}
			})
		})
	}
}

// TestE2EComplete completes identities from a real server's ?search=.
func TestE2EComplete(t *testing.T) {
	env := startServer(t)
	client, err := client.New(cmdlet.ClientOptions{Server: env.URL(), User: "admin", Password: testenv.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSession(t, client)
	_, got := NewCompleter(s).Complete(context.Background(), "Set-CASMailbox chri", 19)
	want := "christa|'Christa Knapp'|'Christa Lee'|christa.lee"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q; want %q", strings.Join(got, "|"), want)
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
