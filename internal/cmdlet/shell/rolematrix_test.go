package shell

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/rolematrix"
)

// scriptOf is the shell command of a matrix cell.
func scriptOf(t *testing.T, env *testenv.Env, c rolematrix.Cell) string {
	t.Helper()
	const reset = `(ConvertTo-SecureString -String 'Matrix-Reset-2026' -AsPlainText -Force)`
	switch c.Op {
	case rolematrix.SetPassword:
		return fmt.Sprintf(`Set-Mailbox -Identity '%s' -Password %s`, c.TargetID, reset)
	case rolematrix.SetMailbox:
		return fmt.Sprintf(`Set-Mailbox -Identity '%s' -DisplayName 'Renamed %s'`, c.TargetID, c.TargetID)
	case rolematrix.SetCAS:
		return fmt.Sprintf(`Set-CASMailbox -Identity '%s' -PopEnabled $false`, c.TargetID)
	case rolematrix.SetQuota:
		return fmt.Sprintf(`Set-Mailbox -Identity '%s' -ProhibitSendReceiveQuota 2GB -IssueWarningQuota 1.8GB`, c.TargetID)
	case rolematrix.SetCASBulk:
		return fmt.Sprintf(`Get-CASMailbox -Identity '%s' | Set-CASMailbox -PopEnabled $false`, c.TargetID)
	case rolematrix.RemoveMailbox:
		return fmt.Sprintf(`Remove-Mailbox -Identity '%s' -Confirm:$false`, c.TargetID)
	case rolematrix.AddMember:
		return fmt.Sprintf(`Add-RoleGroupMember -Identity 'Organization Management' -Member '%s'`, c.TargetID)
	case rolematrix.RemoveMember:
		group := c.TargetGroup
		if group == "" {
			group = "Help Desk"
		}
		return fmt.Sprintf(`Remove-RoleGroupMember -Identity '%s' -Member '%s' -Confirm:$false`, group, c.TargetID)
	case rolematrix.NewMigrationBatch:
		ep := rolematrix.MigrationEndpoint(t, env)
		csv := filepath.Join(t.TempDir(), "users.csv")
		if err := os.WriteFile(csv, []byte(c.MigrationCSV()), 0o600); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`New-MigrationBatch -Name '%s' -SourceEndpoint '%s' -CSVData ([System.IO.File]::ReadAllBytes('%s'))`, c.Name, ep, csv)
	case rolematrix.NewMailbox:
		return fmt.Sprintf(`New-Mailbox -Name '%s' -Password (ConvertTo-SecureString -String '%s' -AsPlainText -Force)`, c.Name, rolematrix.StrongPassword)
	case rolematrix.SetPlan:
		p, err := env.Service.GetCASMailboxPlan(context.Background(), rolematrix.Admin(t, env))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`Set-CASMailboxPlan -PopEnabled $%v`, !p.PopEnabled)
	case rolematrix.SetOrg:
		o, err := env.Service.GetOrganizationConfig(context.Background(), rolematrix.Admin(t, env))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`Set-OrganizationConfig -SecurityDefaultsEnabled $%v`, !o.SecurityDefaultsEnabled)
	}
	switch c.Op {
	case rolematrix.SetSmtpAuth:
		return fmt.Sprintf(`Set-CASMailbox -Identity '%s' -SmtpClientAuthenticationDisabled $true`, c.TargetID)
	case rolematrix.SetTransport:
		o, err := env.Service.GetTransportConfig(context.Background(), rolematrix.Admin(t, env))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`Set-TransportConfig -SmtpClientAuthenticationDisabled $%v`, !o.SmtpClientAuthenticationDisabled)
	case rolematrix.RetryQueue:
		rolematrix.QueuedMessage(t, env)
		return `Retry-Queue -Identity Smarthost`
	case rolematrix.RemoveMessage:
		return fmt.Sprintf(`Remove-Message -Identity '%s' -Confirm:$false`, rolematrix.QueuedMessage(t, env))
	case rolematrix.NewAuthPolicy:
		return fmt.Sprintf(`New-AuthenticationPolicy -Name '%s'`, c.Name)
	case rolematrix.SetUserAuthPolicy:
		return fmt.Sprintf(`Set-User -Identity '%s' -AuthenticationPolicy '%s'`, c.TargetID, rolematrix.AuthPolicy(t, env))
	case rolematrix.NewAppPassword:
		return fmt.Sprintf(`New-AppPassword -Identity '%s' -Name Phone`, c.TargetID)
	case rolematrix.RemoveAppPassword:
		return fmt.Sprintf(`Remove-AppPassword -Identity '%s' -Name '%s' -Confirm:$false`, c.TargetID, c.AppPassword(t, env))
	}
	t.Fatalf("no cmdlet for %s", c.Op.Name)
	return ""
}

// TestRoleMatrix runs every cmdlet that changes something, in
// `gatehouse shell -c` against a real server, as a member of each role
// group on each kind of target mailbox (internal/testenv/rolematrix), and
// checks the outcome (success, an access-denied or write-scope error, or a
// refusal of the values) and the audit record it left. Finding 1 of issue
// 11, through Exchange's own cmdlets.
func TestRoleMatrix(t *testing.T) {
	env := startServer(t)
	// One HTTP client for every run, as one shell process has: its
	// connections are reused rather than left open run after run.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	for _, cell := range rolematrix.Cells(rolematrix.Ops) {
		t.Run(cell.String(), func(t *testing.T) {
			cell.Prepare(t, env)
			src := scriptOf(t, env, cell)
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), Options{Server: env.URL(), User: cell.User, Password: cell.Password,
				Command: src, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, HistoryFile: "-", HTTPClient: hc})
			out, errOut := stdout.String(), stderr.String()
			got := rolematrix.Refused
			switch {
			case code == 0 && errOut == "":
				got = rolematrix.Allowed
			case strings.Contains(errOut, "Access denied") || strings.Contains(errOut, "out of the current user's write scope"):
				got = rolematrix.Denied
			}
			if want := cell.Want(); got != want {
				t.Fatalf("%s: got %s (exit %d, stdout %q, stderr %q); want %s", src, got, code, out, errOut, want)
			}
			cell.CheckAudit(t, env, "shell", got)
		})
	}
}
