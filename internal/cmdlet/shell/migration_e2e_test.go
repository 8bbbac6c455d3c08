package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
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
	steps := []struct {
		src     string
		wantOut []string
		wantErr string
		warn    string // a warning on stderr, the command succeeding
	}{
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
	for _, st := range steps {
		code, out, errOut := admin(st.src)
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
