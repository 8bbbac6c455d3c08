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
