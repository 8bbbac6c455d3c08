package shell

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// TestE2EMigrationCmdlets runs the IMAP migration cmdlets through the shell
// against a real server, with the server's own IMAP listener as the
// source to test: every route's answer is read through its wire type and
// shown with the property names the server sends. The copying itself is
// cmd/gatehouse's TestMigrationThroughShellKill9 (Dovecot as the source).
func TestE2EMigrationCmdlets(t *testing.T) {
	env := startServer(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nchrista@contoso.com,christa,Src-Pass-1\nben@contoso.com,ben,Src-Pass-2\nkim@contoso.com,kim,Src-Pass-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	imapHost, imapPort, _ := strings.Cut(env.Addr("imap"), ":")
	admin := func(src string) (int, string, string) {
		t.Helper()
		return shellRun(t, env, "", "admin", testenv.AdminPassword, src)
	}
	steps := []shellStep{
		{src: `Test-MigrationServerAvailability -IMAP -RemoteServer ` + imapHost + ` -Port ` + imapPort + ` -Security None | Format-List Result,Capabilities`,
			wantOut: []string{"Result       : Success", "IMAP4rev1"}},
		{src: `$c = [pscredential]::new('christa', (ConvertTo-SecureString 'not-her-password' -AsPlainText -Force))
Test-MigrationServerAvailability -IMAP -RemoteServer ` + imapHost + ` -Port ` + imapPort + ` -Security None -Credentials $c | Select-Object -ExpandProperty Result`,
			wantOut: []string{"Failed\n"}},
		{src: `Test-MigrationServerAvailability -IMAP -RemoteServer ` + imapHost + ` -Port ` + imapPort + ` -Security None -Credentials 'christa'`,
			wantErr: "give a PSCredential"},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer ` + imapHost + ` -Port ` + imapPort + ` -Security None | Format-List Identity,EndpointType,Port,Security,Authentication,MaxConcurrentMigrations`,
			wantOut: []string{"Identity                : Old", "EndpointType            : IMAP", "Port                    : " + imapPort, "Security                : None",
				"Authentication          : Basic", "MaxConcurrentMigrations : 20"}},
		{src: `New-MigrationEndpoint -IMAP -Name Far -RemoteServer imap.fabrikam.com -SkipVerification -MaxConcurrentMigrations 5 | Select-Object Port,MaxConcurrentMigrations | ConvertTo-Json -Compress`,
			wantOut: []string{`{"Port":993,"MaxConcurrentMigrations":5}`}},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer imap.fabrikam.com -SkipVerification`, wantErr: "The migration endpoint 'Old' already exists."},
		{src: `(Get-MigrationEndpoint | Measure-Object).Count; (Get-MigrationEndpoint Far).RemoteServer`, wantOut: []string{"2\nimap.fabrikam.com\n"}},
		{src: `New-MigrationBatch -Name B1 -SourceEndpoint Old -CSVData ([System.IO.File]::ReadAllBytes('` + csv + `')) -ExcludeFolders Junk,Trash | Format-List Identity,Status,MigrationType,SourceEndpoint,TotalCount,ExcludedFolders`,
			wantOut: []string{"Identity        : B1", "MigrationType   : IMAP", "SourceEndpoint  : Old", "TotalCount      : 3", "ExcludedFolders : {Junk, Trash}"}},
		{src: `New-MigrationBatch -Name B2 -SourceEndpoint Old -CSVData 'EmailAddress,UserName,Password'`, wantErr: "The CSV file has no rows after its header."},
		{src: "New-MigrationBatch -Name B2 -SourceEndpoint Far -CSVData \"EmailAddress,UserName,Password`ndavid@contoso.com,david,Src-Pass-4\" | Select-Object -ExpandProperty TotalCount",
			wantOut: []string{"1\n"}},
		{src: `New-MigrationBatch -Name B3 -SourceEndpoint Old -CSVData 42`, wantErr: "Cannot convert value"},
		{src: `(Get-MigrationBatch | Measure-Object).Count; Get-MigrationBatch B1 | Select-Object -ExpandProperty SubmittedByUser`, wantOut: []string{"2\n", "admin"}},
		{src: `Get-MigrationUser -BatchId B1 | Sort-Object Identity | Format-Table Identity,BatchId,UserName -HideTableHeaders`,
			wantOut: []string{"ben@contoso.com", "christa@contoso.com", "kim@contoso.com", "B1"}},
		{src: `Get-MigrationUser -BatchId B1 -ResultSize 2 | Measure-Object | Select-Object -ExpandProperty Count`,
			wantOut: []string{"2\n"}, warn: "WARNING: There are more results available than are currently displayed."},
		{src: `Get-MigrationUser -BatchId B1 -ResultSize Unlimited | Measure-Object | Select-Object -ExpandProperty Count`,
			wantOut: []string{"3\n"}},
		{src: `Get-MigrationUserStatistics -Identity ben@contoso.com | Select-Object Identity,BatchId,ItemsSynced | ConvertTo-Json -Compress`,
			wantOut: []string{`{"Identity":"ben@contoso.com","BatchId":"B1","ItemsSynced":0}`}},
		{src: `Get-MigrationUser -Identity nobody@contoso.com`, wantErr: "object 'nobody@contoso.com' couldn't be found"},
		{src: `Stop-MigrationBatch B1; Complete-MigrationBatch B1`, wantErr: "The migration batch 'B1' can't be completed because its status is Stopped"},
		{src: `Remove-MigrationEndpoint Old -Confirm:$false`, wantErr: "The migration endpoint 'Old' can't be removed because migration batches use it."},
		{src: `Get-MigrationBatch | Remove-MigrationBatch -Confirm:$false; (Get-MigrationBatch | Measure-Object).Count`, wantOut: []string{"0\n"}},
		{src: `Get-MigrationEndpoint | Remove-MigrationEndpoint -Confirm:$false; (Get-MigrationEndpoint | Measure-Object).Count`, wantOut: []string{"0\n"}},
	}
	runShellSteps(t, admin, steps)
}

// shellStep is one command of an end-to-end script and what it must say.
type shellStep struct {
	src     string
	wantOut []string
	wantErr string
	warn    string // a warning on stderr, the command succeeding
}

// runShellSteps runs each step with run and checks its output.
func runShellSteps(t *testing.T, run func(src string) (int, string, string), steps []shellStep) {
	t.Helper()
	for _, st := range steps {
		code, out, errOut := run(st.src)
		t.Logf("%s\nexit %d\nstdout %s\nstderr %s", st.src, code, out, errOut)
		if st.wantErr != "" {
			if !strings.Contains(errOut, st.wantErr) {
				t.Errorf("%s: exit %d, stderr %q; want it to say %q", st.src, code, errOut, st.wantErr)
			}
			continue
		}
		if code != 0 || !strings.Contains(errOut, st.warn) || st.warn == "" && errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", st.src, code, errOut)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output %q lacks %q", st.src, out, w)
			}
		}
	}
}

// TestE2EMigrationTrustAndPaging runs through the shell what a private CA
// needs (Dovecot as the source, its certificate signed by a generated CA):
// the server refused with the system roots, trusted with
// -TrustedCertificate ([System.IO.File]::ReadAllBytes("ca.pem")) on
// Test-MigrationServerAvailability, New- and Set-MigrationEndpoint, bad
// files refused in words, and a batch over Ssl synced from the endpoint's
// certificate; then Get-MigrationEndpoint and Get-MigrationBatch over more
// objects than the default -ResultSize of 1000.
func TestE2EMigrationTrustAndPaging(t *testing.T) {
	dovecot.Need(t)
	src := dovecot.StartSource(t, []string{"christa"}, "Src-Pass-1")
	src.Seed(t, "christa", 9, 0, false)
	env := startServer(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", src.CAPEM)
	key, err := os.ReadFile(filepath.Join(src.Dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := write("key.pem", key)
	notPEM := write("ca.txt", []byte("this is not a certificate\n"))
	csv := write("users.csv", []byte("EmailAddress,UserName,Password\nchrista@contoso.com,christa,Src-Pass-1\n"))
	port := strconv.Itoa(src.TLSPort)
	read := func(p string) string { return "([System.IO.File]::ReadAllBytes('" + p + "'))" }
	admin := func(src string) (int, string, string) {
		t.Helper()
		return shellRun(t, env, "", "admin", testenv.AdminPassword, src)
	}
	steps := []shellStep{
		{src: `Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl | Format-List Result,Message`,
			wantOut: []string{"Failed", "certificate signed by unknown authority"}},
		{src: `Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl -TrustedCertificate ` + read(ca) + ` | Select-Object -ExpandProperty Result`,
			wantOut: []string{"Success\n"}},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl`,
			wantErr: "certificate signed by unknown authority"},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl -TrustedCertificate ` + read(keyFile),
			wantErr: "The trusted certificate data is not a certificate: PEM block 1 is \"EC PRIVATE KEY\""},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl -TrustedCertificate ` + read(notPEM),
			wantErr: "The trusted certificate data is not PEM"},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl -TrustedCertificate 42`,
			wantErr: "Cannot bind parameter 'TrustedCertificate'."},
		{src: `New-MigrationEndpoint -IMAP -Name Old -RemoteServer 127.0.0.1 -Port ` + port + ` -Security Ssl -TrustedCertificate ` + read(ca) +
			` | Select-Object -ExpandProperty TrustedCertificates`,
			wantOut: []string{"CN=Gatehouse test source CA,O=Fabrikam (expires "}},
		{src: `Set-MigrationEndpoint Old -TrustedCertificate $null`, wantErr: "certificate signed by unknown authority"},
		{src: `Set-MigrationEndpoint Old -TrustedCertificate $null -SkipVerification; (Get-MigrationEndpoint Old).TrustedCertificates.Count`, wantOut: []string{"0\n"}},
		{src: `Set-MigrationEndpoint Old -TrustedCertificate ` + read(ca) + ` -MaxConcurrentMigrations 3; Get-MigrationEndpoint Old | Format-List MaxConcurrentMigrations,TrustedCertificates`,
			wantOut: []string{"MaxConcurrentMigrations : 3", "Gatehouse test source CA"}},
		{src: `Set-MigrationEndpoint Nope -SkipVerification -Port 1`, wantErr: "couldn't be found"},
		{src: `New-MigrationBatch -Name B1 -SourceEndpoint Old -CSVData ` + read(csv) + ` -AutoStart | Select-Object -ExpandProperty TotalCount`,
			wantOut: []string{"1\n"}},
	}
	runShellSteps(t, admin, steps)
	// The batch syncs over Ssl trusting the endpoint's CA.
	for i := 0; ; i++ {
		_, out, _ := admin(`Get-MigrationUserStatistics christa@contoso.com | Select-Object Status,ItemsSynced,ErrorSummary | ConvertTo-Json -Compress`)
		if strings.Contains(out, `"Status":"Synced","ItemsSynced":9`) {
			break
		}
		if strings.Contains(out, `"Failed"`) || i == 600 {
			t.Fatalf("the batch over Ssl with the trusted CA: %s; want Synced with 9 items", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// More endpoints and batches than the default page (1000).
	ctx := context.Background()
	if err := env.Store.Update(ctx, func(tx store.Tx) error {
		for i := range 1004 {
			e := store.MigrationEndpoint{Name: fmt.Sprintf("ep%04d", i), EndpointType: "IMAP", RemoteServer: "imap.fabrikam.com", Port: 993,
				Security: "Ssl", Authentication: "Basic", MaxConcurrentMigrations: 20}
			if err := tx.InsertMigrationEndpoint(ctx, &e); err != nil {
				return err
			}
			b := store.MigrationBatch{Name: fmt.Sprintf("P%04d", i), EndpointID: e.ID, Status: store.MigrationCreated}
			if err := tx.InsertMigrationBatch(ctx, &b, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// In name order: ep0000 … ep1003, Old; B1, P0000 … P1003.
	for get, third := range map[string]string{"Get-MigrationEndpoint": "ep1002\n", "Get-MigrationBatch": "P1001\n"} {
		runShellSteps(t, admin, []shellStep{
			{src: `(` + get + ` | Measure-Object).Count`, wantOut: []string{"1000\n"}, warn: "WARNING: By default only the first 1000 items are returned."},
			{src: `(` + get + ` -ResultSize Unlimited | Measure-Object).Count`, wantOut: []string{"1005\n"}},
			{src: `(` + get + ` -ResultSize 1003 | Select-Object -Last 1).Identity`, wantOut: []string{third},
				warn: "WARNING: There are more results available than are currently displayed."},
			{src: `(` + get + ` -ResultSize 1005 | Measure-Object).Count`, wantOut: []string{"1005\n"}},
		})
	}
}
