// Package postfixtest runs Postfix from Debian as a test's smarthost: its
// own configuration directory, queue and Maildir under the test's temporary
// directory, one smtpd on a loopback port, STARTTLS with a certificate made
// for the test, and virtual delivery of the accepted recipients into one
// Maildir that the test reads. Postfix needs root to start; the system's
// own Postfix (if any) is not touched.
package postfixtest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/testcert"
)

// Postfix is a running (or stopped) test smarthost.
type Postfix struct {
	Addr string // host:port of its smtpd
	Dir  string // configuration directory
	t    testing.TB
	up   bool
}

// Domain is the domain Postfix takes mail for.
const Domain = "fabrikam.com"

// FreeAddr returns a loopback address with a port free at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Available skips the test (or fails it under GATEHOUSE_TEST_STRICT, where
// scripts/test.sh installed Postfix) when Postfix cannot run here.
func Available(t testing.TB) {
	t.Helper()
	why := ""
	if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
		why = "Postfix is not installed (apt-get install postfix)"
	} else if os.Geteuid() != 0 {
		why = "Postfix needs root to start"
	}
	if why == "" {
		return
	}
	if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
		t.Fatalf("the smarthost test needs Postfix: %s", why)
	}
	t.Skipf("the smarthost test needs Postfix: %s", why)
}

// New configures a Postfix that will listen on addr (FreeAddr when empty)
// and accept mail for the given local parts of Domain (others are refused
// at RCPT with 550 5.1.1). It does not start it.
func New(t testing.TB, addr string, accept ...string) *Postfix {
	t.Helper()
	Available(t)
	if addr == "" {
		addr = FreeAddr(t)
	}
	dir, err := os.MkdirTemp("", "gatehouse-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	// Postfix's daemons run as postfix and nobody; they must reach these.
	os.Chmod(dir, 0o755)
	p := &Postfix{Addr: addr, Dir: dir, t: t}
	t.Cleanup(func() {
		p.Stop()
		os.RemoveAll(dir)
	})
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Fatalf("no postfix user: %v", err)
	}
	for _, d := range []string{"queue", "data", "mail/fabrikam/new", "mail/fabrikam/cur", "mail/fabrikam/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "chown", pf.Uid, filepath.Join(dir, "data"))
	run(t, "chown", "-R", "65534:65534", filepath.Join(dir, "mail"))
	cert, key := selfSigned(t, dir)
	var maps []string
	for _, a := range accept {
		maps = append(maps, fmt.Sprintf("{%s@%s=fabrikam/}", a, Domain))
	}
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = smarthost.test
mydestination =
mynetworks = 127.0.0.0/8
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
virtual_mailbox_domains = %[2]s
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = inline:{ %[3]s }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_tls_security_level = may
smtpd_tls_cert_file = %[4]s
smtpd_tls_key_file = %[5]s
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_banner = smarthost.test ESMTP
`, dir, Domain, strings.Join(maps, ", "), cert, key)
	master := addr + " inet n - n - - smtpd\n" + `pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
tlsmgr unix - - n 1000? 1 tlsmgr
postlog unix-dgram n - n - 1 postlogd
`
	write(t, filepath.Join(dir, "main.cf"), main)
	write(t, filepath.Join(dir, "master.cf"), master)
	return p
}

// Start starts Postfix and waits until its smtpd answers.
func (p *Postfix) Start() {
	p.t.Helper()
	if out, err := exec.Command("postfix", "-c", p.Dir, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
		p.t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	p.up = true
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", p.Addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postfix does not listen on %s: %v", p.Addr, err)
		}
	}
}

// Stop stops Postfix (at once, "postfix abort"); calling it again is harmless.
func (p *Postfix) Stop() {
	if !p.up {
		return
	}
	p.up = false
	exec.Command("postfix", "-c", p.Dir, "abort").Run()
	// master may take a moment to release the port.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			return
		}
		c.Close()
	}
}

// Messages returns the messages delivered so far, in file name order
// (arrival order).
func (p *Postfix) Messages() []string {
	p.t.Helper()
	var names []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(p.Dir, "mail/fabrikam", sub))
		for _, e := range ents {
			names = append(names, filepath.Join(sub, e.Name()))
		}
	}
	sort.Slice(names, func(i, j int) bool { return filepath.Base(names[i]) < filepath.Base(names[j]) })
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(p.Dir, "mail/fabrikam", n))
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// Log returns Postfix's log so far.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func write(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	c := testcert.New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smarthost.test"},
		DNSNames: []string{"smarthost.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}, nil)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, string(c.CertPEM))
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
