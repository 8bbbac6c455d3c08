package shell

import (
	"bufio"
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestE2EAppPasswords makes an app password in the shell against a real
// server on each engine, signs in with it from real clients (Python's
// imaplib, poplib and smtplib over submission with STARTTLS, curl's
// IMAP), sees its last use in Get-AppPassword, revokes it while an IMAP4
// session it signed in is open (the session is told and closed), and
// checks that a password reset revokes the rest and that the secret is in
// no audit record.
func TestE2EAppPasswords(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { appPasswords(t, startServer(t)) })
	t.Run("postgres", func(t *testing.T) {
		appPasswords(t, testenv.Start(t, testenv.Options{Demo: true, Postgres: true}))
	})
}

// appPasswordPy signs in with Python's imaplib, poplib and smtplib (over
// submission, after STARTTLS) and prints one JSON object: each client's
// answer, or its error.
const appPasswordPy = `
import imaplib, json, poplib, smtplib, ssl, sys
a = json.loads(sys.argv[1])
out = {}
try:
    i = imaplib.IMAP4(a["imap"][0], a["imap"][1])
    out["imap"] = i.login(a["user"], a["password"])[0]
    i.logout()
except Exception as e:
    out["imap"] = "error: " + str(e)
try:
    p = poplib.POP3(a["pop3"][0], a["pop3"][1])
    p.user(a["user"])
    out["pop3"] = p.pass_(a["password"]).decode()
    p.quit()
except Exception as e:
    out["pop3"] = "error: " + str(e)
try:
    s = smtplib.SMTP(a["submission"][0], a["submission"][1], timeout=30)
    s.starttls(context=ssl._create_unverified_context())
    s.login(a["user"], a["password"])
    s.sendmail(a["user"], [a["user"]], ("From: " + a["user"] + "\r\nTo: " + a["user"] + "\r\nSubject: sent with an app password\r\n\r\nhello\r\n").encode())
    out["smtp"] = "sent"
    s.quit()
except Exception as e:
    out["smtp"] = "error: " + str(e)
print(json.dumps(out))
`

func appPasswordClients(t *testing.T, env *testenv.Env, user, password string) map[string]string {
	t.Helper()
	hp := func(name string) []any {
		h, p, _ := net.SplitHostPort(env.Addr(name))
		var n int
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		return []any{h, n}
	}
	arg, _ := json.Marshal(map[string]any{"imap": hp("imap"), "pop3": hp("pop3"), "submission": hp("submission"),
		"user": user, "password": password})
	out, err := exec.Command("python3", "-c", appPasswordPy, string(arg)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 said %q: %v", out, err)
	}
	return got
}

func appPasswords(t *testing.T, env *testenv.Env) {
	run := func(src string, wantCode int) (string, string) {
		t.Helper()
		code, out, errOut := shellRun(t, env, "", "admin", testenv.AdminPassword, src)
		if code != wantCode {
			t.Fatalf("%s: exit %d; want %d (stdout %q, stderr %q)", src, code, wantCode, out, errOut)
		}
		return out, errOut
	}
	out, errOut := run(`New-AppPassword -Identity christa -Name "Phone" | Format-List Identity,Name,Password`, 0)
	i := strings.Index(out, "Password : ")
	if i < 0 || !strings.Contains(out, "Identity : Christa Knapp\\Phone\nName     : Phone\n") || errOut != "" {
		t.Fatalf("New-AppPassword: stdout %q, stderr %q", out, errOut)
	}
	secret := strings.TrimSpace(strings.SplitN(out[i+len("Password : "):], "\n", 2)[0])
	if len(secret) != 28 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyz") != "" {
		t.Fatalf("New-AppPassword's Password: %q", out)
	}
	if !strings.Contains(out, "Copy the password now: it is shown only this once.") {
		t.Errorf("New-AppPassword's note: stdout %q", out)
	}
	if _, errOut := run(`New-AppPassword christa phone`, 1); !strings.Contains(errOut, "already has an app password named 'Phone'") {
		t.Errorf("same name again: stderr %q", errOut)
	}

	got := appPasswordClients(t, env, "christa@contoso.com", secret)
	if got["imap"] != "OK" || !strings.HasPrefix(got["pop3"], "+OK") || got["smtp"] != "sent" {
		t.Errorf("real clients with the app password: %v", got)
	}
	curl, err := exec.Command("curl", "-sS", "--max-time", "30", "imap://"+env.Addr("imap")+"/INBOX?SUBJECT%20app",
		"--user", "christa@contoso.com:"+secret, "-X", "SEARCH SUBJECT app").CombinedOutput()
	if err != nil || !strings.Contains(string(curl), "* SEARCH") {
		t.Errorf("curl IMAP with the app password: %v\n%s", err, curl)
	}
	if got := appPasswordClients(t, env, "christa@contoso.com", "abcdefghijklmnopqrstuvwxyz"+"ab"); !strings.Contains(got["imap"], "AUTHENTICATIONFAILED") ||
		!strings.HasPrefix(got["smtp"], "error: (535") {
		t.Errorf("a wrong app password: %v", got)
	}

	// The last use shows (the login recorder writes it within a second or so).
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := run(`Get-AppPassword christa | ForEach-Object { "$($_.Identity)|$($_.LastUsedProtocol)|$([bool]$_.LastUsed)" }`, 0)
		if strings.HasPrefix(out, `Christa Knapp\Phone|`) && strings.HasSuffix(out, "|True\n") && !strings.Contains(out, "||") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get-AppPassword never showed a last use: %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, _ := run(`Get-AppPassword christa | Format-Table Name,LastUsedProtocol`, 0); !strings.Contains(out, "Name  LastUsedProtocol") || !strings.Contains(out, "Phone ") {
		t.Errorf("Get-AppPassword | Format-Table: %q", out)
	}

	// An IMAP4 session signed in with it is closed when it is revoked.
	c, err := net.Dial("tcp", env.Addr("imap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	c.Write([]byte("a LOGIN christa@contoso.com " + secret + "\r\n"))
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "a OK") {
		t.Fatalf("LOGIN with the app password: %q", line)
	}
	if out, _ := run(`Remove-AppPassword -Identity christa -Name Phone -WhatIf`, 0); !strings.Contains(out, "What if: ") || !strings.Contains(out, "1 IMAP4") {
		t.Errorf("Remove-AppPassword -WhatIf: %q", out)
	}
	run(`Get-AppPassword christa | Remove-AppPassword -Confirm:$false`, 0)
	line, _ := r.ReadString('\n')
	if want := "* BYE " + access.AppPasswordRevokedText; strings.TrimRight(line, "\r\n") != want {
		t.Errorf("open session after the revocation: got %q; want %q", line, want)
	}
	if got := appPasswordClients(t, env, "christa@contoso.com", secret); !strings.Contains(got["imap"], "AUTHENTICATIONFAILED") {
		t.Errorf("revoked app password: %v", got)
	}

	// A password reset revokes them all.
	run(`New-AppPassword christa Laptop; New-AppPassword christa Tablet`, 0)
	out, _ = run(`Set-Mailbox christa -Password (ConvertTo-SecureString -String 'Reset-Pass-2026' -AsPlainText -Force) -WhatIf`, 0)
	if !strings.Contains(out, "AppPasswords: Laptop, Tablet -> (revoked with the password reset)") {
		t.Errorf("reset -WhatIf: %q", out)
	}
	run(`Set-Mailbox christa -Password (ConvertTo-SecureString -String 'Reset-Pass-2026' -AsPlainText -Force)`, 0)
	if out, _ := run(`(Get-AppPassword christa | Measure-Object).Count`, 0); out != "0\n" {
		t.Errorf("app passwords after the reset: %q", out)
	}

	out, _ = run(`Search-AdminAuditLog -Cmdlets New-AppPassword,Remove-AppPassword,Set-Mailbox | ConvertTo-Json -Depth 5`, 0)
	if strings.Contains(out, secret) || !strings.Contains(out, "New-AppPassword") || !strings.Contains(out, "Remove-AppPassword") {
		t.Errorf("audit log: holds the secret, or lacks the records:\n%s", out)
	}
}
