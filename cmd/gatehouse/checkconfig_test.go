package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig: 'gatehouse check-config' lists every problem of a bad
// configuration (unknown keys, bad values and addresses, TLS files that
// are missing or not PEM, a database that does not answer, an address of
// another machine) and exits 1; a good one exits 0 without starting.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o600)
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte(`
data = "`+filepath.Join(dir, "data")+`"
db = "postgres://postgres@127.0.0.1:1/nothing?connect_timeout=2"
domain = "contoso.com"
colour = "blue"

[listen]
imap = "192.0.2.1:1143"
pop3 = "127.0.0.1:99999"
imapz = "127.0.0.1:1"
imaps = ""
pop3s = ""
smtp = ""
lmtp = ""
submission = ""
submissions = ""
admin = "127.0.0.1:0"

[tls]
cert = "`+garbage+`"
key = "`+filepath.Join(dir, "missing-key.pem")+`"

[admin]
tls_cert = "`+garbage+`"
tls_key = "`+garbage+`"

[log]
level = "loud"
`), 0o600)

	var stdout, stderr bytes.Buffer
	code := run([]string{"check-config", "--config", bad}, strings.NewReader(""), &stdout, &stderr)
	out := stdout.String()
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s%s", code, out, stderr.String())
	}
	for _, want := range []string{
		"unknown setting colour, listen.imapz",
		`listen.pop3 (--pop3): "127.0.0.1:99999" has a bad port`,
		"missing-key.pem: no such file",
		`log.level (--log-level): "loud"`,
		"admin.tls_cert, admin.tls_key: cannot load the certificate",
		"db (--db): the database does not answer",
		"listen.imap: 192.0.2.1:1143 is not an address of this machine",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "problems:") {
		t.Errorf("output does not count the problems:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("check-config created the data directory")
	}

	notTOML := filepath.Join(dir, "not.toml")
	os.WriteFile(notTOML, []byte("[listen\nimap = \n"), 0o600)
	stdout.Reset()
	if code := run([]string{"check-config", "--config", notTOML}, strings.NewReader(""), &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "1 problem:") {
		t.Errorf("a file that is not TOML: exit %d\n%s", code, stdout.String())
	}

	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte(`
data = "`+filepath.Join(dir, "gooddata")+`"
domain = "contoso.com"
[listen]
imap = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
admin = "127.0.0.1:0"
`), 0o600)
	stdout.Reset()
	if code := run([]string{"check-config", "--config", good}, strings.NewReader(""), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "configuration ok") {
		t.Errorf("a good configuration: exit %d\n%s", code, stdout.String())
	}
}
