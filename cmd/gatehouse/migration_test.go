package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

const (
	migAdminPassword   = "Migrate-Admin-Pass-1"
	migMailboxPassword = "Migrated-Mailbox-1"
	migSourcePassword  = "Source-Pass-1"
)

// shellRun runs gatehouse shell -c against the server and returns what it
// printed; the exit status is returned, not judged.
func shellRun(t *testing.T, s *server, script string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, "shell", "--server", "http://"+s.addrs["Admin"], "--user", "admin", "--password", migAdminPassword,
		"--history", "-", "-c", script)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// migrationState reads the batch and its users over REST.
func migrationState(t *testing.T, s *server) (batch map[string]any, users []map[string]any) {
	t.Helper()
	base := "http://" + s.addrs["Admin"]
	_, v := apiCall(t, base, "", "POST", "/api/v1/session", fmt.Sprintf(`{"UserName":"admin","Password":%q}`, migAdminPassword))
	token, _ := v["Token"].(string)
	_, batch = apiCall(t, base, token, "GET", "/api/v1/migrationbatches/B1", "")
	_, list := apiCall(t, base, token, "GET", "/api/v1/migrationusers?batchId=B1&resultSize=Unlimited", "")
	items, _ := list["Items"].([]any)
	for _, it := range items {
		users = append(users, it.(map[string]any))
	}
	apiCall(t, base, token, "DELETE", "/api/v1/session", "")
	return batch, users
}

func synced(users []map[string]any) float64 {
	n := 0.0
	for _, u := range users {
		n += u["ItemsSynced"].(float64)
	}
	return n
}

// waitBatch polls until cond holds; the test's -timeout bounds it.
func waitBatch(t *testing.T, s *server, what string, cond func(map[string]any, []map[string]any) bool) (map[string]any, []map[string]any) {
	t.Helper()
	for {
		b, us := migrationState(t, s)
		if cond(b, us) {
			return b, us
		}
		if b["Status"] == "Failed" {
			t.Fatalf("batch failed while waiting for %s: %v %v", what, b, us)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func gatehouseSnapshot(t *testing.T, s *server, user string) dovecot.Snapshot {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addrs["IMAP4"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user+"@contoso.com", migMailboxPassword).Wait(); err != nil {
		t.Fatalf("IMAP login %s at Gatehouse: %v", user, err)
	}
	snap := dovecot.Take(t, c)
	c.Logout().Wait()
	return snap
}

// TestMigrationThroughShellKill9 runs an IMAP migration batch from Dovecot
// through the admin shell (gatehouse shell -c, the real binary), kills the
// server with SIGKILL in the middle of the first sync, starts it again on
// the same data directory, and checks that the batch goes on to Synced with
// every folder and message as at the source (content, flags, keywords,
// internal dates, read back over IMAP), no duplicate, a wrong source
// password failing only its user with the source's words; then new mail at
// the source arrives with Start-MigrationBatch, and Complete-MigrationBatch
// deletes the source passwords.
func TestMigrationThroughShellKill9(t *testing.T) {
	dovecot.Need(t)
	users := []string{"ann", "bob", "cara", "dave", "emma", "frank"}
	src := dovecot.StartSource(t, users, migSourcePassword)
	for i, u := range users {
		n := 210
		if u == "frank" {
			n = 3
		}
		src.Seed(t, u, n, i, u == "ann")
	}
	data := t.TempDir()
	args := append([]string{"--data", data, "--admin-password", migAdminPassword, "--migration-poll-interval", "100ms"}, ports()...)
	s := start(t, args...)

	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	var script strings.Builder
	fmt.Fprintf(&script, "Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port %d -Security None | Format-List Result\n", src.Port)
	for _, u := range users {
		fmt.Fprintf(&script, "New-Mailbox -Name %s -Password (ConvertTo-SecureString -String '%s' -AsPlainText -Force) | Out-Null\n", u, migMailboxPassword)
		pw := migSourcePassword
		if u == "frank" {
			pw = "wrong-password"
		}
		fmt.Fprintf(&csv, "%s@contoso.com,%s,%s\n", u, u, pw)
	}
	fmt.Fprintf(&script, "New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port %d -Security None | Format-List Identity,RemoteServer\n", src.Port)
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := "EmailAddress,UserName,Password,Color\nann@contoso.com,ann,x,red\n"
	bad2 := "EmailAddress,UserName,Password\nnobody@contoso.com,n,x\nbob@contoso.com,,x\n"
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte(bad), 0o600)
	os.WriteFile(filepath.Join(dir, "bad2.csv"), []byte(bad2), 0o600)
	out, code := shellRun(t, s, script.String())
	if code != 0 || !strings.Contains(out, "Success") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("set-up through the shell (exit %d):\n%s", code, out)
	}
	// CSV files with an unknown column, an address that is no mailbox and
	// a row without a user name are refused, every bad row named.
	out, code = shellRun(t, s, fmt.Sprintf(`New-MigrationBatch -Name Bad -SourceEndpoint Old -CSVData ([System.IO.File]::ReadAllBytes(%q))
New-MigrationBatch -Name Bad2 -SourceEndpoint Old -CSVData ([System.IO.File]::ReadAllBytes(%q))
Get-MigrationBatch | Measure-Object | Format-List Count`, filepath.Join(dir, "bad.csv"), filepath.Join(dir, "bad2.csv")))
	for _, want := range []string{"Column 'Color'", "Row 2 (nobody@contoso.com)", "isn't the address of a mailbox", "Row 3 (bob@contoso.com): UserName is empty", "Count : 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("bad CSV files: output lacks %q:\n%s", want, out)
		}
	}
	out, code = shellRun(t, s, fmt.Sprintf(`New-MigrationBatch -Name B1 -SourceEndpoint Old -CSVData ([System.IO.File]::ReadAllBytes(%q)) -AutoStart | Format-List Identity,Status,TotalCount`,
		filepath.Join(dir, "users.csv")))
	if code != 0 || !strings.Contains(out, "TotalCount : 6") {
		t.Fatalf("New-MigrationBatch (exit %d):\n%s", code, out)
	}
	first := time.Now()
	_, us := waitBatch(t, s, "some progress", func(_ map[string]any, us []map[string]any) bool { return synced(us) >= 250 })
	// SIGKILL in the middle of the first sync.
	s.cmd.Process.Kill()
	s.cmd.Wait()
	t.Logf("killed with %v messages copied", synced(us))
	s = start(t, args...)
	b, us := waitBatch(t, s, "the first sync", func(b map[string]any, _ []map[string]any) bool { return b["Status"] == "Synced" })
	elapsed := time.Since(first)
	t.Logf("first sync through a kill -9: %v messages in %v (%.0f/s including the restart)", synced(us), elapsed.Round(time.Millisecond), synced(us)/elapsed.Seconds())
	for _, u := range us {
		if u["Identity"] == "frank@contoso.com" {
			if u["Status"] != "Failed" || !strings.Contains(fmt.Sprint(u["ErrorSummary"]), "AUTHENTICATIONFAILED") {
				t.Errorf("frank (wrong source password): %v %v; want Failed with the source's reason", u["Status"], u["ErrorSummary"])
			}
		} else if u["Status"] != "Synced" {
			t.Errorf("%v: %v %v; want Synced", u["Identity"], u["Status"], u["ErrorSummary"])
		}
	}
	if b["FailedCount"] != 1.0 || b["SyncedCount"] != 5.0 {
		t.Errorf("batch counts: %v", b)
	}
	check := func(stage string) {
		t.Helper()
		n := 0
		for _, u := range users[:5] {
			c := src.Dial(t, u)
			want := dovecot.Take(t, c)
			c.Logout().Wait()
			n += dovecot.Compare(t, u, want, gatehouseSnapshot(t, s, u), dovecot.FolderMap(), 0)
		}
		t.Logf("%s: %d messages compared over IMAP with the source", stage, n)
		if n < 1000 {
			t.Errorf("%s: %d messages compared; want the 1,000+ of the fixture", stage, n)
		}
	}
	check("after the first sync")

	out, _ = shellRun(t, s, "Get-MigrationUserStatistics -Identity frank@contoso.com | Format-List Status,ErrorSummary\nGet-MigrationUserStatistics -BatchId B1 | Format-Table Identity,Status,ItemsSynced")
	if !strings.Contains(out, "AUTHENTICATIONFAILED") || !strings.Contains(out, "bob@contoso.com") {
		t.Errorf("Get-MigrationUserStatistics:\n%s", out)
	}

	// New mail at the source, then Start-MigrationBatch syncs now.
	c := src.Dial(t, "bob")
	for i := 700; i < 703; i++ {
		raw, flags, date := dovecot.FixtureMessage("bob", i)
		dovecot.Append(t, c, "INBOX", raw, flags, date)
	}
	c.Logout().Wait()
	before := b["LastSyncedDateTime"]
	if out, code := shellRun(t, s, "Start-MigrationBatch -Identity B1"); code != 0 {
		t.Fatalf("Start-MigrationBatch: %s", out)
	}
	waitBatch(t, s, "the re-sync", func(b map[string]any, _ []map[string]any) bool {
		return b["Status"] == "Synced" && b["LastSyncedDateTime"] != before
	})
	check("after new mail and Start-MigrationBatch")

	if out, code := shellRun(t, s, "Complete-MigrationBatch -Identity B1"); code != 0 {
		t.Fatalf("Complete-MigrationBatch: %s", out)
	}
	waitBatch(t, s, "Completed", func(b map[string]any, _ []map[string]any) bool { return b["Status"] == "Completed" })
	s.cmd.Process.Kill()
	s.cmd.Wait()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.View(context.Background(), func(tx store.Tx) error {
		mus, err := tx.MigrationUsers(context.Background(), 0, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range mus {
			if u.Secret != nil {
				t.Errorf("%s: the source password is still stored after Complete-MigrationBatch", u.EmailAddress)
			}
		}
		return nil
	})
}
