package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// requireForPackage skips (or fails under GATEHOUSE_TEST_STRICT) when the
// machine cannot install a .deb: not root, or without dpkg or
// systemd-analyze.
func requireForPackage(t *testing.T) {
	t.Helper()
	miss := ""
	switch {
	case os.Geteuid() != 0:
		miss = "installing a .deb needs root"
	default:
		for _, p := range []string{"dpkg", "dpkg-deb", "systemd-analyze", "setpriv"} {
			if _, err := exec.LookPath(p); err != nil {
				miss = p + " is not installed"
				break
			}
		}
	}
	if miss == "" {
		if err := exec.Command("dpkg", "-s", "gatehouse").Run(); err == nil {
			miss = "a gatehouse package is already installed on this machine; the test does not touch it"
		}
	}
	if miss != "" {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatal(miss)
		}
		t.Skip("SKIPPED: " + miss)
	}
}

// freePrivilegedPort finds a port below 1024 free on 127.0.0.1 (the test
// runs as root, so it may bind it to look).
func freePrivilegedPort(t *testing.T) string {
	t.Helper()
	for p := 990; p > 600; p-- {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port below 1024 on 127.0.0.1")
	return ""
}

// TestDebPackage builds the .deb with scripts/package.sh (packaging the
// binary this test run built), installs it with dpkg -i into this machine,
// checks the unit with systemd-analyze verify and what the maintainer
// scripts made (the gatehouse user, the modes of the configuration and the
// data directory), runs the installed binary as the gatehouse user with
// the installed configuration and the unit's one capability
// (CAP_NET_BIND_SERVICE, through setpriv, since this machine may have no
// systemd running), signs in over IMAP on a port below 1024, and removes
// and purges the package.
func TestDebPackage(t *testing.T) {
	requireForPackage(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	cmd := exec.Command(filepath.Join(root, "scripts", "package.sh"))
	cmd.Env = append(os.Environ(), "GATEHOUSE_BINARY="+binary, "VERSION=0.0.0~test1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, out)
	}
	deb := filepath.Join(root, "dist", "gatehouse_0.0.0~test1_"+strings.TrimSpace(goEnv(t, "GOARCH"))+".deb")
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("scripts/package.sh made no %s:\n%s", deb, out)
	}
	t.Logf("scripts/package.sh: %v", time.Since(started).Round(time.Millisecond))
	t.Cleanup(func() { os.Remove(deb) })

	if out, err := dpkg("-i", deb); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		dpkg("--purge", "gatehouse")
		// What the package keeps on purge by design (the mail, the
		// user) goes here, so that the machine is as before the test.
		os.RemoveAll("/var/lib/gatehouse")
		exec.Command("userdel", "gatehouse").Run()
		exec.Command("groupdel", "gatehouse").Run()
	})
	out, err = exec.Command("systemd-analyze", "verify", "/lib/systemd/system/gatehouse.service").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	unit, _ := os.ReadFile("/lib/systemd/system/gatehouse.service")
	for _, want := range []string{"User=gatehouse", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
		"StateDirectory=gatehouse", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "--config /etc/gatehouse/gatehouse.toml"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the installed unit lacks %s", want)
		}
	}
	if out, err := exec.Command("id", "-u", "gatehouse").Output(); err != nil || strings.TrimSpace(string(out)) == "0" {
		t.Fatalf("no gatehouse system user after dpkg -i: %v %s", err, out)
	}
	for _, f := range []struct {
		path  string
		mode  os.FileMode
		owner string
	}{{"/etc/gatehouse/gatehouse.toml", 0o640, "root:gatehouse"}, {"/var/lib/gatehouse", 0o700, "gatehouse:gatehouse"}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		owner, _ := exec.Command("stat", "-c", "%U:%G", f.path).Output()
		if fi.Mode().Perm() != f.mode || strings.TrimSpace(string(owner)) != f.owner {
			t.Errorf("%s: mode %04o owner %s; want %04o %s", f.path, fi.Mode().Perm(), strings.TrimSpace(string(owner)), f.mode, f.owner)
		}
	}

	// The installed binary, as the gatehouse user with the unit's one
	// capability, from the installed configuration; the listeners are
	// moved to free loopback ports (the machine may run other mail
	// servers), IMAP4 to one below 1024.
	asGatehouse := func(args ...string) *exec.Cmd {
		c := exec.Command("setpriv", append([]string{"--reuid", "gatehouse", "--regid", "gatehouse", "--init-groups",
			"--inh-caps", "+net_bind_service", "--ambient-caps", "+net_bind_service", "--no-new-privs", "/usr/bin/gatehouse"}, args...)...)
		c.Dir = "/"
		c.Env = []string{"PATH=/usr/bin:/bin", "GATEHOUSE_ADMIN_PASSWORD=x-Admin-Pass-1"}
		return c
	}
	imapAddr := freePrivilegedPort(t)
	listen := []string{"--imap", imapAddr, "--imaps", "", "--pop3", "127.0.0.1:0", "--pop3s", "", "--smtp", "", "--lmtp", "127.0.0.1:0",
		"--submission", "", "--submissions", "", "--admin", "127.0.0.1:0"}
	if out, err := asGatehouse(append([]string{"check-config", "--config", "/etc/gatehouse/gatehouse.toml"}, listen...)...).CombinedOutput(); err != nil {
		t.Fatalf("gatehouse check-config of the installed configuration: %v\n%s", err, out)
	}
	s := startCmd(t, asGatehouse(append([]string{"serve", "--config", "/etc/gatehouse/gatehouse.toml", "--demo"}, listen...)...))
	if got := s.addrs["IMAP4"]; got != imapAddr {
		t.Fatalf("IMAP4 listens on %s; want %s\n%s", got, imapAddr, s.out)
	}
	// The demo mailboxes are in the installed configuration's domain.
	c, err := imapclient.DialInsecure(imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("christa@example.com", demoPassword).Wait(); err != nil {
		t.Fatalf("IMAP login at the installed server: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("SELECT INBOX on the installed server: %v", err)
	}
	c.Logout().Wait()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("the installed server did not stop cleanly on SIGTERM: %v\n%s", err, s.errb)
	}
	owner, _ := exec.Command("stat", "-c", "%U", "/var/lib/gatehouse/gatehouse.db").Output()
	if strings.TrimSpace(string(owner)) != "gatehouse" {
		t.Errorf("/var/lib/gatehouse/gatehouse.db belongs to %q; want gatehouse", owner)
	}

	if out, err := dpkg("-r", "gatehouse"); err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	if _, err := os.Stat("/usr/bin/gatehouse"); err == nil {
		t.Errorf("/usr/bin/gatehouse is still there after dpkg -r")
	}
	if _, err := os.Stat("/etc/gatehouse/gatehouse.toml"); err != nil {
		t.Errorf("dpkg -r removed the configuration (only purge should): %v", err)
	}
	if out, err := dpkg("--purge", "gatehouse"); err != nil {
		t.Fatalf("dpkg --purge: %v\n%s", err, out)
	}
	if _, err := os.Stat("/etc/gatehouse"); err == nil {
		t.Errorf("/etc/gatehouse is still there after dpkg --purge")
	}
	if _, err := os.Stat("/var/lib/gatehouse/gatehouse.db"); err != nil {
		t.Errorf("purge deleted the mail data, which the package keeps: %v", err)
	}
	t.Logf("the whole test: %v", time.Since(started).Round(time.Millisecond))
}

// dpkg runs dpkg, waiting (up to 5 minutes) while another process holds
// its lock: other tests or an apt run may install packages meanwhile.
func dpkg(args ...string) ([]byte, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := exec.Command("dpkg", args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(2 * time.Second)
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
