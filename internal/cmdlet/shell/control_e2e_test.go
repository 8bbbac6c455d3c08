package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EScriptControlFlow runs a script file with its own param() block
// against a real server: functions wrapping cmdlets, try/catch of a
// server error made terminating by -ErrorAction Stop, a non-terminating
// one that catch does not see, loops, switch and a transcript.
func TestE2EScriptControlFlow(t *testing.T) {
	env := startServer(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "pop.ps1")
	src := `param([Parameter(Mandatory)][string]$Who, [switch]$Enable)
function Set-Pop {
    param([Parameter(Mandatory)][string]$Identity, [bool]$Enabled = $false)
    Set-CASMailbox -Identity $Identity -PopEnabled $Enabled
    "set $Identity to $Enabled"
}
try {
    Set-CASMailbox -Identity nobody -PopEnabled $false -ErrorAction Stop
    'not reached'
} catch [Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException] {
    "caught: $($_.Exception.Message -like "*object 'nobody' couldn't be found*")"
} finally {
    'finally ran'
}
try { Set-CASMailbox -Identity nobody -PopEnabled $false } catch { 'not caught' }
'after the non-terminating error'
Set-Pop $Who -Enabled $Enable.IsPresent
(Get-CASMailbox $Who).PopEnabled
$n = 0
foreach ($m in Get-Mailbox -ResultSize Unlimited) { $n++; if ($n -ge 2) { break } }
"stopped at $n"
Get-Mailbox -ResultSize Unlimited | ForEach-Object { if ($_.Alias -ne $Who) { continue }; "found $($_.Name)" }
'not reached after continue in ForEach-Object'
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	t.Chdir(dir)
	code := Main(context.Background(), []string{"--server", env.URL(), "--user", "admin", "--password", testenv.AdminPassword, "--history", "-",
		script, "-Who", "christa"}, strings.NewReader(""), &out, &errb)
	wantOut := "caught: True\nfinally ran\nafter the non-terminating error\nset christa to False\nFalse\nstopped at 2\n"
	if code != 1 || out.String() != wantOut || !strings.HasPrefix(errb.String(), "Set-CASMailbox: The operation couldn't be performed because object 'nobody' couldn't be found") ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, out.String(), wantOut, errb.String())
	}

	// switch over server objects, a function taking pipeline input, and
	// a transcript of it all
	code, got, errOut := shellRun(t, env, dir, "admin", testenv.AdminPassword, `Start-Transcript -Path t.txt | Out-Null
function Get-Protocols { process { switch ($_) { { $_.PopEnabled } { "$($_.Name): POP3" } { $_.ImapEnabled } { "$($_.Name): IMAP4" } } } }
Get-CASMailbox -Identity 'Christa Knapp' | Get-Protocols
Set-CASMailbox christa -PopEnabled $true -ImapEnabled $false
Get-CASMailbox -Identity 'Christa Knapp' | Get-Protocols
Stop-Transcript | Out-Null`)
	if code != 0 || errOut != "" || got != "Christa Knapp: IMAP4\nChrista Knapp: POP3\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, got, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "t.txt"))
	if err != nil || !strings.Contains(string(data), "PS> Set-CASMailbox christa -PopEnabled $true -ImapEnabled $false\nPS> Get-CASMailbox -Identity 'Christa Knapp' | Get-Protocols\nChrista Knapp: POP3\n") ||
		!strings.Contains(string(data), "PowerShell transcript end") {
		t.Errorf("transcript: %q, %v", data, err)
	}
}
