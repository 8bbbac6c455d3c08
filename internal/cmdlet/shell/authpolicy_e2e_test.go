package shell

import (
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EAuthenticationPolicy runs the authentication policy cmdlets of
// issue 16 §3 as an Exchange admin types them, against a real server.
func TestE2EAuthenticationPolicy(t *testing.T) {
	env := startServer(t)
	admin := func(src string) string {
		t.Helper()
		code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, src)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", src, code, errOut)
		}
		return out
	}
	admin(`New-AuthenticationPolicy -Name "Block Basic Auth" -AllowBasicAuthPop:$false -AllowBasicAuthImap:$false -AllowBasicAuthSmtp:$false`)
	admin(`New-AuthenticationPolicy -Name "Allow POP" -AllowBasicAuthPop`)
	out := admin(`Get-AuthenticationPolicy | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.AllowBasicAuthPop),$($_.AllowBasicAuthImap),$($_.AllowBasicAuthSmtp)" }`)
	if out != "Allow POP=True,False,False\nBlock Basic Auth=False,False,False\n" {
		t.Errorf("Get-AuthenticationPolicy: got %q", out)
	}
	admin(`Set-AuthenticationPolicy -Identity "Allow POP" -AllowBasicAuthImap`)
	if out := admin(`(Get-AuthenticationPolicy "Allow POP").AllowBasicAuthImap`); out != "True\n" {
		t.Errorf("after Set-AuthenticationPolicy: %q", out)
	}
	admin(`Set-User -Identity christa -AuthenticationPolicy "Block Basic Auth"`)
	admin(`Set-OrganizationConfig -DefaultAuthenticationPolicy "Allow POP"`)
	if out := admin(`(Get-OrganizationConfig).DefaultAuthenticationPolicy`); out != "Allow POP\n" {
		t.Errorf("Get-OrganizationConfig: %q", out)
	}
	code, _, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, `Remove-AuthenticationPolicy "Block Basic Auth" -Confirm:$false`)
	if !strings.Contains(errOut, "assigned to 1 user") {
		t.Errorf("removing an assigned policy: exit %d, stderr %q", code, errOut)
	}
	admin(`Set-User -Identity christa -AuthenticationPolicy $null; Set-OrganizationConfig -DefaultAuthenticationPolicy $null`)
	admin(`Remove-AuthenticationPolicy "Block Basic Auth" -Confirm:$false`)
	if out := admin(`Get-AuthenticationPolicy | ForEach-Object Name; (Get-OrganizationConfig).DefaultAuthenticationPolicy`); out != "Allow POP\n\n" {
		t.Errorf("after removal: %q", out)
	}
	if out := admin(`Search-AdminAuditLog -Cmdlets New-AuthenticationPolicy,Set-User | Measure-Object | ForEach-Object Count`); out != "4\n" {
		t.Errorf("audit records: %q; want 4", out)
	}
}
