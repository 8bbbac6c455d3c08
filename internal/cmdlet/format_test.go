package cmdlet

import (
	"strings"
	"testing"
)

// mailboxesSrc makes five objects with long values, sorted by Pop.
const mailboxesSrc = `$m = 1..5 | ForEach-Object { [pscustomobject]@{
	Name = "Mailbox number $_"; Pop = ($_ -le 2); Address = "mailbox.number.$_@contoso-international-holdings.example"
	Note = "a fairly long note about mailbox $_ that will not fit any narrow column at all" } }
`

func TestFormatTableWrap(t *testing.T) {
	out := evalOut(t, mailboxesSrc+`$m | Select-Object -First 1 | Format-Table Name,Note -Wrap`)
	want := `
Name             Note
----             ----
Mailbox number 1 a fairly long note about mailbox 1 that will not fit any
                 narrow column at all

`
	if out != want {
		t.Errorf("-Wrap at 80 columns:\n%q\nwant\n%q", out, want)
	}
	// Without -Wrap the same note is cut with "…" on one line.
	out = evalOut(t, mailboxesSrc+`$m | Select-Object -First 1 | Format-Table Name,Note`)
	if lines := strings.Split(strings.Trim(out, "\n"), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[2], "…") {
		t.Errorf("without -Wrap: %q; want one cut row", out)
	}
	// A word longer than its column is broken inside.
	out = evalOut(t, `[pscustomobject]@{A = 'x' * 100; B = 'y'} | Format-Table -Wrap`)
	if !strings.Contains(out, "\n"+strings.Repeat("x", 77)+" y\n"+strings.Repeat("x", 23)+"\n") {
		t.Errorf("a long word under -Wrap:\n%s", out)
	}
}

func TestFormatTableGroupBy(t *testing.T) {
	out := evalOut(t, mailboxesSrc+`$m | Format-Table Name -GroupBy Pop`)
	want := `
   Pop: True

Name
----
Mailbox number 1
Mailbox number 2


   Pop: False

Name
----
Mailbox number 3
Mailbox number 4
Mailbox number 5

`
	if out != want {
		t.Errorf("-GroupBy:\n%s\nwant:\n%s", out, want)
	}
}

// At 80 columns, a table of many wide columns keeps every header whole and
// leaves out, with PowerShell's warning, the columns that do not fit.
func TestFormatTableNarrow(t *testing.T) {
	src := `$o = [pscustomobject]@{DisplayName = 'Christa Knapp of the Research Department'; PrimarySmtpAddress = 'christa.knapp@contoso-international.example'
		RecipientTypeDetails = 'UserMailbox'; PopEnabled = $true; ImapEnabled = $false; OrganizationalUnit = 'contoso.onmicrosoft.com/Research'
		WhenCreated = '2026-01-01 10:00:00'; ProhibitSendQuota = 'Unlimited'}
`
	out := evalOut(t, src+`$o | Format-Table *`)
	if !strings.Contains(out, "WARNING: ") || !strings.Contains(out, "columns do not fit into the display and were removed.") {
		t.Errorf("no warning for the columns left out:\n%s", out)
	}
	header := ""
	for _, l := range strings.Split(out, "\n") {
		if len([]rune(l)) > 79 {
			t.Errorf("line %q is wider than the terminal", l)
		}
		if strings.HasPrefix(l, "DisplayName") {
			header = l
		}
	}
	if strings.Contains(header, "…") || !strings.Contains(header, "PrimarySmtpAddress") || strings.Contains(header, "ProhibitSendQuota") {
		t.Errorf("header %q: want whole headers, the first columns kept and the last left out", header)
	}
	// Out-String -Width lays the same table out again, wider: nothing left
	// out, no second warning.
	out = evalOut(t, src+`$o | Format-Table * | Out-String -Width 250`)
	if strings.Contains(out, "…") || !strings.Contains(out, "ProhibitSendQuota") || strings.Count(out, "WARNING") != 1 {
		t.Errorf("Out-String -Width 250 of the table:\n%s", out)
	}
	// Default output never leaves a column out.
	out = evalOut(t, `[pscustomobject]@{A = 'x' * 50; B = 'y' * 50; C = 'z' * 50; D = 1}`)
	if strings.Contains(out, "WARNING") || !strings.Contains(out, "D") {
		t.Errorf("default table: %q", out)
	}
}

func TestOutStringWidth(t *testing.T) {
	out := evalOut(t, mailboxesSrc+`$s = $m | Format-Table Name,Note | Out-String -Width 40; ($s -split "\n" | ForEach-Object { $_.Length } | Measure-Object -Maximum).Maximum`)
	if strings.TrimSpace(out) != "39" {
		t.Errorf("longest line of Out-String -Width 40: %q; want 39", out)
	}
	out = evalOut(t, mailboxesSrc+`$m | Out-String -Width 1`)
	if !strings.Contains(out, "Cannot validate argument on parameter 'Width'") {
		t.Errorf("Out-String -Width 1: %q", out)
	}
}
