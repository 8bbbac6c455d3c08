//go:build linux

package shell

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// ptyShell is the shell running as a child process on a real
// pseudo-terminal, driven like a user at a keyboard.
type ptyShell struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	buf    bytes.Buffer
	seen   int // how much of buf expect has consumed
	done   chan error
}

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("no pseudo-terminals here: %v", err)
		}
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// startPTYShell runs `gatehouse shell args...` on a new pseudo-terminal as
// the session leader, so that Ctrl-C raises SIGINT as in a real terminal.
func startPTYShell(t *testing.T, env []string, args ...string) *ptyShell {
	t.Helper()
	master, slave := openPTY(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_SHELL_HELPER=1", "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	p := &ptyShell{t: t, master: master, cmd: cmd, done: make(chan error, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		master.Close()
	})
	return p
}

func (p *ptyShell) send(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatalf("writing to the terminal: %v", err)
	}
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// screen returns what the terminal received since the last expect, with
// escape sequences and carriage returns removed.
func (p *ptyShell) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ansiRE.ReplaceAllString(strings.ReplaceAll(p.buf.String()[p.seen:], "\r", ""), "")
}

// expect waits until the output since the last expect contains want, and
// consumes it up to there.
func (p *ptyShell) expect(want string) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		raw := p.buf.String()[p.seen:]
		p.mu.Unlock()
		clean := ansiRE.ReplaceAllString(strings.ReplaceAll(raw, "\r", ""), "")
		if i := strings.Index(clean, want); i >= 0 {
			// consume the raw text up to the same point
			p.mu.Lock()
			p.seen += rawOffset(raw, i+len(want))
			p.mu.Unlock()
			return clean[:i+len(want)]
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.t.Fatalf("timed out waiting for %q; the terminal shows:\n%s", want, p.output())
	return ""
}

// rawOffset maps an offset in the cleaned text back to the raw text.
func rawOffset(raw string, cleanOff int) int {
	n := 0
	for i := 0; i < len(raw); {
		if n == cleanOff {
			return i
		}
		if raw[i] == '\r' {
			i++
			continue
		}
		if loc := ansiRE.FindStringIndex(raw[i:]); loc != nil && loc[0] == 0 {
			i += loc[1]
			continue
		}
		i++
		n++
	}
	return len(raw)
}

func (p *ptyShell) wait() int {
	p.t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		p.t.Fatalf("the shell did not exit; the terminal shows:\n%s", p.output())
	}
	return -1
}

// TestTerminal types the documented examples into the interactive shell on
// a real terminal, with tab completion, multi-line input, Ctrl-C, history
// across runs and the password prompt.
func TestTerminal(t *testing.T) {
	f := fakeapi.New()
	srv, _ := startFake(t, f)
	dir := t.TempDir()
	histFile := filepath.Join(dir, "history")
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("Name,Alias\nChrista Knapp,christa\nBob Smith,bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	// No --password: the shell asks for it without echo.
	p := startPTYShell(t, nil, "--server", srv.URL, "--user", "admin", "--history", histFile)
	p.expect("Password for admin: ")
	p.send("secret\r")
	got := p.expect("PS> ")
	if strings.Contains(got, "secret") {
		t.Errorf("the password was echoed: %q", got)
	}

	p.send("Set-CASMailbox -Identity \"Christa Knapp\" -POPEnabled $false\r")
	p.expect("PS> ")
	p.send("Get-CASMailbox -Identity \"Christa Knapp\" | Format-List Pop*,Imap*\r")
	out := p.expect("PS> ")
	if !strings.Contains(out, "PopEnabled  : False\nPopAccess   : Disabled\nImapEnabled : True\nImapAccess  : Enabled\n") {
		t.Errorf("Format-List Pop*,Imap*: got %q", out)
	}
	p.send("Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false\r")
	p.expect("PS> ")
	p.send("Set-CASMailbox christa -PopEnabled $true\r")
	p.expect("PS> ")
	p.send("Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation\r")
	p.expect("PS> ")
	p.send("Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $true }\r")
	p.expect("PS> ")
	p.send("Get-CASMailbox\r")
	out = p.expect("PS> ")
	for _, want := range []string{"Christa Knapp True       True", "Bob Smith     False      True", "Alice Jones   False      False"} {
		if !strings.Contains(out, want) {
			t.Errorf("Get-CASMailbox: want %q in %q", want, out)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "pop.csv")); err != nil || string(data) != "\"Name\",\"PopEnabled\"\n\"Christa Knapp\",\"True\"\n" {
		t.Errorf("pop.csv: got %q, %v", data, err)
	}

	// Tab completes a cmdlet name, a parameter and an identity.
	p.send("get-casm\t")
	p.expect("Get-CASMailbox")
	p.send(" -Ide\t")
	p.expect("-Identity")
	p.send(" 'Chr\t")
	p.expect("-Identity christa")
	p.send("\t") // the next candidate
	p.expect("'Christa Knapp'")
	p.send(" | Format-List Name\r")
	out = p.expect("PS> ")
	if !strings.Contains(out, "Name : Christa Knapp") {
		t.Errorf("completed command: got %q", out)
	}

	// An incomplete line asks for more.
	p.send("Get-Mailbox |\r")
	p.expect(">> ")
	p.send("Measure-Object | ForEach-Object Count\r")
	out = p.expect("PS> ")
	if !strings.Contains(out, "\n3\n") {
		t.Errorf("multi-line: got %q", out)
	}

	// An empty line at the >> prompt submits the incomplete input.
	p.send("Get-Mailbox |\r")
	p.expect(">> ")
	p.send("\r")
	p.expect("An empty pipe element is not allowed.")
	p.expect("PS> ")

	// Ctrl-C drops the line being typed and the pending lines.
	p.send("Get-Mailbox -Identity 'half")
	p.send("\x03")
	p.expect("^C")
	p.expect("PS> ")
	p.send("'after ctrl-c'\r")
	p.expect("after ctrl-c")
	p.expect("PS> ")

	// Errors keep the shell running.
	p.send("Get-Mailbx\r")
	p.expect("The term 'Get-Mailbx' is not recognized")
	p.expect("PS> ")

	// Ctrl-C interrupts a running command.
	p.send("Start-Sleep 30\r")
	time.Sleep(300 * time.Millisecond)
	p.send("\x03")
	p.expect("The command was interrupted.")
	p.expect("PS> ")

	// Ctrl-D leaves with status 0.
	p.send("\x04")
	if code := p.wait(); code != 0 {
		t.Errorf("exit status: got %d; want 0", code)
	}

	// History survives: Up recalls the last command of the previous run.
	p = startPTYShell(t, []string{"GATEHOUSE_PASSWORD=secret"}, "--server", srv.URL, "--user", "admin", "--history", histFile)
	p.expect("PS> ")
	p.send("\x1b[A")
	p.expect("Start-Sleep 30")
	p.send("\x15exit 3\r")
	if code := p.wait(); code != 3 {
		t.Errorf("exit 3: got status %d", code)
	}
	hist, _ := os.ReadFile(histFile)
	if !strings.Contains(string(hist), "Get-CASMailbox -Identity \"Christa Knapp\" | Format-List Pop*,Imap*\n") {
		t.Errorf("history file: got %q", hist)
	}
}

// TestTerminalPrompts checks that a missing mandatory parameter is asked
// for in the interactive shell, and that Remove-Mailbox asks to confirm.
func TestTerminalPrompts(t *testing.T) {
	f := fakeapi.New()
	srv, _ := startFake(t, f)
	p := startPTYShell(t, []string{"GATEHOUSE_SERVER=" + srv.URL, "GATEHOUSE_USER=admin", "GATEHOUSE_PASSWORD=secret"}, "--history", "-")
	p.expect("PS> ")
	p.send("Set-CASMailbox -ImapEnabled $false\r")
	p.expect("Supply values for the following parameters:")
	p.expect("Identity: ")
	p.send("bob\r")
	p.expect("PS> ")
	p.send("Remove-Mailbox alice\r")
	p.expect("Are you sure you want to perform this action?")
	p.expect("(default is \"Y\"): ")
	p.send("n\r")
	p.expect("PS> ")
	p.send("(Get-Mailbox).Count; (Get-CASMailbox bob).ImapEnabled\r")
	out := p.expect("PS> ")
	if !strings.Contains(out, "\n3\nFalse\n") {
		t.Errorf("got %q; want 3 mailboxes and bob's IMAP4 off", out)
	}
	p.send("exit\r")
	if code := p.wait(); code != 0 {
		t.Errorf("exit status: got %d", code)
	}
}

// TestTerminalCommandMode runs -c and a script file on a terminal: the exit
// status says whether a command failed.
func TestTerminalCommandMode(t *testing.T) {
	f := fakeapi.New()
	srv, _ := startFake(t, f)
	common := []string{"--server", srv.URL, "--user", "admin", "--password", "secret"}
	p := startPTYShell(t, nil, append(common, "-c", `Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $false; Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*`)...)
	p.expect("PopEnabled  : False")
	if code := p.wait(); code != 0 {
		t.Errorf("-c: exit status %d; want 0", code)
	}
	p = startPTYShell(t, nil, append(common, "-c", `Set-CASMailbox -Identity nobody -PopEnabled $false`)...)
	p.expect("Set-CASMailbox: The operation couldn't be performed because object 'nobody' couldn't be found")
	if code := p.wait(); code != 1 {
		t.Errorf("-c with a failing command: exit status %d; want 1", code)
	}
	script := filepath.Join(t.TempDir(), "s.ps1")
	if err := os.WriteFile(script, []byte("Get-Mailbox |\n  Select-Object -ExpandProperty Alias\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = startPTYShell(t, nil, append(common, script)...)
	p.expect("christa\nbob\nalice\n")
	if code := p.wait(); code != 0 {
		t.Errorf("script: exit status %d; want 0", code)
	}
}

// TestE2ETerminal types the documented examples of issue 6, as they stand,
// into the interactive shell on a real terminal, against a real server.
func TestE2ETerminal(t *testing.T) {
	env := startServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("Name,Alias\nKim Akers,kim\nBen Andrews,ben\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p := startPTYShell(t, []string{"GATEHOUSE_PASSWORD=" + testenv.AdminPassword}, "--server", env.URL(), "--user", "admin", "--history", "-")
	p.expect("connected to " + env.URL() + " as admin.")
	p.expect("PS> ")
	type step struct{ typed, want string }
	for _, st := range []step{
		{`Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true`, "PS> "},
		{`Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*`, "PopEnabled  : True"},
		{`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`, "PS> "},
		{`Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true`, "PS> "},
		{"Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation", "PS> "},
		{`Set-CASMailbox kim -ImapEnabled $true; Set-CASMailbox ben -ImapEnabled $true`, "PS> "},
		{`Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }`, "PS> "},
		{`Get-CASMailbox | Where-Object { $_.PopEnabled -or $_.ImapEnabled } | Format-Table`, "Christa Knapp True       False"},
		{`Set-CASMailbox -Identity Christa* -PopEnabled $false`, "matches multiple entries."},
	} {
		p.send(st.typed + "\r")
		out := p.expect(st.want)
		if strings.Contains(out, "Set-CASMailbox:") && !strings.Contains(st.want, "multiple") {
			t.Errorf("%s: an error: %q", st.typed, out)
		}
		if st.want != "PS> " {
			p.expect("PS> ")
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "pop.csv"))
	if err != nil || string(data) != "\"Name\",\"PopEnabled\"\n\"Christa Knapp\",\"True\"\n" {
		t.Errorf("pop.csv: got %q, %v", data, err)
	}
	p.send("\x04")
	if code := p.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestE2ETerminalConnect signs in from inside the interactive shell on a
// real terminal (the password asked for without echo), types a try/catch
// over several lines, and signs in again with Get-Credential.
func TestE2ETerminalConnect(t *testing.T) {
	env := startServer(t)
	p := startPTYShell(t, nil, "--history", "-")
	p.expect("not connected: sign in with Connect-ExchangeOnline")
	p.expect("PS> ")
	p.send("Get-Mailbox christa\r")
	p.expect("Get-Mailbox: Not connected to a Gatehouse server.")
	p.expect("PS> ")
	p.send("Connect-ExchangeOnline -ConnectionUri " + env.URL() + " -UserPrincipalName admin\r")
	p.expect("Password for admin: ")
	p.send(testenv.AdminPassword + "\r")
	out := p.expect("PS> ")
	if !strings.Contains(out, "Connected to "+env.URL()+" as admin.") || strings.Contains(out, testenv.AdminPassword) {
		t.Fatalf("sign-in: %q", out)
	}
	for _, line := range []string{"try {", "  Get-Mailbox nobody -ErrorAction Stop", "} catch {", "  \"caught: $($_.Exception.Message)\""} {
		p.send(line + "\r")
		p.expect(">> ")
	}
	p.send("}\r")
	out = p.expect("PS> ")
	if !strings.Contains(out, "caught: The operation couldn't be performed because object 'nobody' couldn't be found") || strings.Contains(out, "Get-Mailbox:") {
		t.Errorf("try/catch: %q", out)
	}
	p.send("$c = Get-Credential holly\r")
	p.expect("Password for user holly: ")
	p.send(testenv.DemoPassword + "\r")
	p.expect("PS> ")
	p.send("Connect-ExchangeOnline -Credential $c; Set-CASMailbox christa -PopEnabled $false\r")
	out = p.expect("PS> ")
	if !strings.Contains(out, "Connected to "+env.URL()+" as holly.") || !strings.Contains(out, "Set-CASMailbox: Access denied: 'holly@contoso.com'") {
		t.Errorf("Get-Credential sign-in: %q", out)
	}
	p.send("exit\r")
	if code := p.wait(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
