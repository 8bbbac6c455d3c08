package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.IMAP != "127.0.0.1:1143" || c.Data != "gatehouse-data" || c.MaxMessageSize != 35e6 {
		t.Errorf("defaults: %+v", c)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileAndFlags(t *testing.T) {
	p := writeFile(t, `
domain = "fabrikam.com"
max_message_size = "10MB"
[listen]
imap = "127.0.0.1:2143"
pop3 = ""
[imap]
idle_timeout = "45m"
[login_records]
retention = "30d"
`)
	c, err := Load([]string{"--config", p, "--imap", "127.0.0.1:3143", "--demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.IMAP != "127.0.0.1:3143" {
		t.Errorf("flag must win over file: %s", c.Listen.IMAP)
	}
	if c.Domain != "fabrikam.com" || c.Listen.POP3 != "" || !c.Demo || c.MaxMessageSize != 10e6 ||
		time.Duration(c.IMAP.IdleTimeout) != 45*time.Minute || time.Duration(c.Login.Retention) != 30*24*time.Hour {
		t.Errorf("from file: %+v", c)
	}
	if c.Listen.SMTP != "127.0.0.1:2525" {
		t.Errorf("unset keys keep defaults: %s", c.Listen.SMTP)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		file string
		want string
	}{
		{[]string{"--imapp", "x"}, "", "flag provided but not defined: -imapp"},
		{[]string{"--imap", "nonsense"}, "", "listen.imap (--imap)"},
		{[]string{"--lmtp", "unix:"}, "", "listen.lmtp (--lmtp)"},
		{[]string{"--domain", "not a domain"}, "", "domain (--domain)"},
		{[]string{"--db", "mysql://x"}, "", "db (--db)"},
		{[]string{"--max-message-size", "lots"}, "", "invalid size"},
		{[]string{"--pop3-idle-timeout", "1m"}, "", "pop3.idle_timeout"},
		{[]string{"--log-level", "loud"}, "", "log.level"},
		{[]string{"--tls-cert", "/nonexistent.pem"}, "", "tls.cert (--tls-cert) and tls.key"},
		{nil, "[listen]\nimapp = \"x\"\n", "unknown setting listen.imapp"},
		{nil, "domain = 5\n", "domain"},
		{nil, "[imap]\nidle_timeout = \"soon\"\n", "invalid duration"},
		{nil, "domain = \n", "line 1"},
		{[]string{"extra"}, "", `unexpected argument "extra"`},
	} {
		args := tc.args
		if tc.file != "" {
			args = append([]string{"--config", writeFile(t, tc.file)}, args...)
		}
		_, err := Load(args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %q): got %v; want an error mentioning %q", tc.args, tc.file, err, tc.want)
		}
	}
	if _, err := Load([]string{"--config", "/nonexistent/gatehouse.toml"}, io.Discard); err == nil || !strings.Contains(err.Error(), "/nonexistent/gatehouse.toml") {
		t.Errorf("missing config file: %v", err)
	}
}

func TestReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	got := Reference()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/config -update)", err)
	}
	if string(want) != got {
		t.Errorf("docs/configuration.md is stale: run go test ./internal/config -update")
	}
	for _, s := range settings(new(Config)) {
		if s.flag == "" || s.help == "" {
			t.Errorf("setting %s lacks a flag or help text", s.key)
		}
	}
}

// TestSecrets (issue 11, finding 7): passwords come from a flag, a file or
// the environment, in that order, and a flag and a file together are an
// error; a flag warns that it shows in ps.
func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("From-File-Pass-1\r\nsecond line\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name      string
		args      []string
		env       string
		wantAdmin string
		wantErr   string
		wantWarn  bool
	}{
		{"flag", []string{"--admin-password", "From-Flag-Pass-1"}, "From-Env-Pass-1", "From-Flag-Pass-1", "", true},
		{"file", []string{"--admin-password-file", file}, "From-Env-Pass-1", "From-File-Pass-1", "", false},
		{"environment", nil, "From-Env-Pass-1", "From-Env-Pass-1", "", false},
		{"none", nil, "", "", "", false},
		{"flag and file", []string{"--admin-password", "x", "--admin-password-file", file}, "", "", "give one, not both", true},
		{"missing file", []string{"--admin-password-file", filepath.Join(dir, "none")}, "", "", "admin_password_file", false},
		{"empty file", []string{"--admin-password-file", empty}, "", "", "the first line is empty", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GATEHOUSE_ADMIN_PASSWORD", tt.env)
			t.Setenv("GATEHOUSE_DEMO_PASSWORD", "")
			var stderr strings.Builder
			c, err := Load(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v; want an error containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if c.AdminPassword != tt.wantAdmin {
				t.Errorf("got password %q; want %q", c.AdminPassword, tt.wantAdmin)
			}
			if warned := strings.Contains(stderr.String(), "shows in ps"); warned != tt.wantWarn {
				t.Errorf("warning: got %v (%q); want %v", warned, stderr.String(), tt.wantWarn)
			}
		})
	}
	t.Setenv("GATEHOUSE_DEMO_PASSWORD", "Demo-Env-Pass-1")
	if c, err := Load([]string{"--demo"}, io.Discard); err != nil || c.DemoPassword != "Demo-Env-Pass-1" {
		t.Errorf("demo password from the environment: got %q, %v", c.DemoPassword, err)
	}
}
