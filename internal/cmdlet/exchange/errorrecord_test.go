package exchange

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
)

// TestBindingAndErrors is issue 13 §2 against the fake API: a Boolean
// parameter refuses $null, splatting binds, -Confirm and
// $ConfirmPreference ask (and fail where nobody can answer), the
// -ErrorAction values, -ErrorVariable, $Error and the exit status, and an
// error inside ForEach-Object that ends the statement, not the loop.
func TestBindingAndErrors(t *testing.T) {
	const notBool = "Cannot process argument transformation on parameter 'PopEnabled'. Cannot convert value \"\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."
	notFound := "The operation couldn't be performed because object 'nosuch' couldn't be found on 'gatehouse.test'."
	tests := []struct {
		name   string
		src    string
		answer string // typed at the prompt; "" is no terminal
		out    string
		failed bool
		// pop and imap are christa's settings afterwards
		pop, imap bool
	}{
		{name: "undefined variable for a Boolean", src: `Set-CASMailbox christa -PopEnabled $maybe`,
			out: "Set-CASMailbox: " + notBool + "\n", failed: true, pop: true, imap: true},
		{name: "$null for a Boolean", src: `Set-CASMailbox christa -PopEnabled:$null -ImapEnabled $false`,
			out: "Set-CASMailbox: " + notBool + "\n", failed: true, pop: true, imap: true},
		{name: "splatted hashtable", src: `$p = @{Identity = 'christa'; PopEnabled = $false}; Set-CASMailbox @p`,
			pop: false, imap: true},
		{name: "splatted array and a named parameter", src: `$a = @('christa'); Set-CASMailbox @a -ImapEnabled $false`,
			pop: true, imap: false},
		{name: "splatted switch", src: `$p = @{PopEnabled = $false; WhatIf = $true}; Set-CASMailbox christa @p`,
			out: "What if: Performing the operation \"Set-CASMailbox\" on target \"Christa Knapp\". PopEnabled: True -> False. Open sessions that would be closed: 2 POP3.\n",
			pop: true, imap: true},
		{name: "splatted unknown parameter", src: `$p = @{Identity = 'christa'; PopEnable = $false; Foo = 1}; Set-CASMailbox @p`,
			out: "Set-CASMailbox: A parameter cannot be found that matches parameter name 'Foo'.\n", failed: true, pop: true, imap: true},
		{name: "Remove-Mailbox with no terminal", src: `Remove-Mailbox christa`,
			out:    "Remove-Mailbox: PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. Remove-Mailbox asks for confirmation before performing the operation \"Remove-Mailbox\" on target \"christa\"; add -Confirm:$false to go ahead without being asked.\n",
			failed: true, pop: true, imap: true},
		{name: "-Confirm with no terminal", src: `Set-CASMailbox christa -PopEnabled $false -Confirm`,
			out:    "Set-CASMailbox: PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. Set-CASMailbox asks for confirmation before performing the operation \"Set-CASMailbox\" on target \"christa\"; add -Confirm:$false to go ahead without being asked.\n",
			failed: true, pop: true, imap: true},
		{name: "-Confirm answered no", src: `Set-CASMailbox christa -PopEnabled $false -Confirm`, answer: "n", pop: true, imap: true},
		{name: "-Confirm answered yes", src: `Set-CASMailbox christa -PopEnabled $false -Confirm`, answer: "y", pop: false, imap: true},
		{name: "-Confirm:$false with a terminal", src: `$ConfirmPreference = 'Low'; Set-CASMailbox christa -PopEnabled $false -Confirm:$false`, answer: "n", pop: false, imap: true},
		{name: "$ConfirmPreference Medium asks for Set-", src: `$ConfirmPreference = 'Medium'; Set-CASMailbox christa -PopEnabled $false`, answer: "n", pop: true, imap: true},
		{name: "Remove-Mailbox answered no", src: `Remove-Mailbox christa`, answer: "n", pop: true, imap: true},
		{name: "SilentlyContinue", src: `Get-Mailbox nosuch -ErrorAction SilentlyContinue; $?; $Error.Count; "$($Error[0])"`,
			out: "False\n1\n" + notFound + "\n", pop: true, imap: true},
		{name: "Ignore", src: `Get-Mailbox nosuch -ea Ignore; $Error.Count`, out: "0\n", pop: true, imap: true},
		{name: "Continue", src: `Get-Mailbox nosuch; 'after'; $Error[0].Exception.Message`,
			out: "Get-Mailbox: " + notFound + "\nafter\n" + notFound + "\n", failed: true, pop: true, imap: true},
		{name: "Stop ends the script", src: `Get-Mailbox nosuch -ErrorAction Stop; 'not reached'`,
			out: "Get-Mailbox: " + notFound + "\n", failed: true, pop: true, imap: true},
		{name: "$ErrorActionPreference Stop", src: `$ErrorActionPreference = 'Stop'; Get-Mailbox nosuch; 'not reached'`,
			out: "Get-Mailbox: " + notFound + "\n", failed: true, pop: true, imap: true},
		{name: "-ErrorVariable", src: `Get-Mailbox nosuch -ErrorVariable ev -ErrorAction SilentlyContinue; $ev.Count; "$ev"; Get-Mailbox christa -ev ev | Out-Null; $ev.Count`,
			out: "1\n" + notFound + "\n0\n", pop: true, imap: true},
		{name: "-ErrorVariable +name adds", src: `Get-Mailbox nosuch -ev e -ea SilentlyContinue; Get-Mailbox nosuch -ev +e -ea SilentlyContinue; $e.Count`,
			out: "2\n", pop: true, imap: true},
		{name: "$Error.Clear()", src: `Write-Error x -ea SilentlyContinue; $Error.Clear(); $Error.Count`, out: "0\n", pop: true, imap: true},
		{name: "-WarningAction and -WarningVariable", src: `Set-CASMailbox christa -PopEnabled $true -WarningAction SilentlyContinue -WarningVariable w; $w`,
			out: "The command completed successfully but no settings of 'Christa Knapp' have been modified.\n", pop: true, imap: true},
		{name: "-WarningAction Stop", src: `Set-CASMailbox christa -PopEnabled $true -WarningAction Stop; 'not reached'`,
			out:    "WARNING: The command completed successfully but no settings of 'Christa Knapp' have been modified.\nSet-CASMailbox: The running command stopped because the preference variable \"WarningPreference\" or common parameter is set to Stop: The command completed successfully but no settings of 'Christa Knapp' have been modified.\n",
			failed: true, pop: true, imap: true},
		{name: "an empty CSV cell ends one statement, not the loop",
			src:    `Import-Csv users.csv | ForEach-Object { Set-CASMailbox $_.Alias -ImapEnabled $_.Imap }; 'done'`,
			out:    "Set-CASMailbox: Cannot process argument transformation on parameter 'ImapEnabled'. Cannot convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.\ndone\n",
			failed: true, pop: true, imap: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeapi.New()
			_, client := startFake(t, f)
			var out bytes.Buffer
			host := cmdlet.Host{Out: &out, Err: &out, Width: 200}
			if tc.answer != "" {
				host.Prompt = func(string, bool) (string, error) { return tc.answer, nil }
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("Alias,Imap\nbob,\nchrista,False\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s := cmdlet.NewSession(cmdlet.SessionOptions{Host: host, Registry: DefaultRegistry(), API: client, Dir: dir})
			if err := s.Execute(context.Background(), tc.src); err != nil {
				s.WriteError(err)
			}
			got := out.String()
			if tc.answer != "" {
				// leave out the prompts
				got = strings.Join(slicesFilter(strings.SplitAfter(got, "\n"), func(l string) bool {
					return !strings.Contains(l, "Confirm") && !strings.Contains(l, "Are you sure") && !strings.Contains(l, "Performing the operation") && strings.TrimSpace(l) != ""
				}), "")
			}
			if got != tc.out {
				t.Errorf("%s:\ngot output  %q;\nwant output %q", tc.src, got, tc.out)
			}
			if s.Failed() != tc.failed {
				t.Errorf("%s: got failed %v; want %v", tc.src, s.Failed(), tc.failed)
			}
			f.Mu.Lock()
			defer f.Mu.Unlock()
			ms, _ := f.Find("christa")
			if len(ms) != 1 {
				t.Fatalf("christa: got %d mailboxes; want 1", len(ms))
			}
			if ms[0]["PopEnabled"] != tc.pop || ms[0]["ImapEnabled"] != tc.imap {
				t.Errorf("%s: got PopEnabled=%v ImapEnabled=%v; want %v, %v", tc.src, ms[0]["PopEnabled"], ms[0]["ImapEnabled"], tc.pop, tc.imap)
			}
		})
	}
}

func slicesFilter(ss []string, keep func(string) bool) []string {
	var out []string
	for _, s := range ss {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// TestRemoveMailboxPiped removes piped mailboxes without asking under
// -Confirm:$false, reports each failure and goes on; under -ErrorAction
// Stop nothing after the first error is removed.
func TestRemoveMailboxPiped(t *testing.T) {
	for _, tc := range []struct {
		src, out string
		left     []string
	}{
		{src: `'alice','nosuch','bob','nosuch2' | Remove-Mailbox -Confirm:$false; 'done'`,
			out:  "Remove-Mailbox: The operation couldn't be performed because object 'nosuch' couldn't be found on 'gatehouse.test'.\nRemove-Mailbox: The operation couldn't be performed because object 'nosuch2' couldn't be found on 'gatehouse.test'.\ndone\n",
			left: []string{"Christa Knapp"}},
		{src: `'alice','nosuch','bob' | Remove-Mailbox -Confirm:$false -ErrorAction Stop; 'not reached'`,
			out:  "Remove-Mailbox: The operation couldn't be performed because object 'nosuch' couldn't be found on 'gatehouse.test'.\n",
			left: []string{"Christa Knapp", "Bob Smith"}},
	} {
		f := fakeapi.New()
		_, client := startFake(t, f)
		s, out := newTestSession(t, client)
		if err := s.Execute(context.Background(), tc.src); err != nil {
			s.WriteError(err)
		}
		if out.String() != tc.out {
			t.Errorf("%s:\ngot output  %q;\nwant output %q", tc.src, out.String(), tc.out)
		}
		f.Mu.Lock()
		var left []string
		for _, m := range f.Mailboxes {
			left = append(left, m["Name"].(string))
		}
		f.Mu.Unlock()
		if strings.Join(left, ",") != strings.Join(tc.left, ",") {
			t.Errorf("%s: got mailboxes %v left; want %v", tc.src, left, tc.left)
		}
	}
}
