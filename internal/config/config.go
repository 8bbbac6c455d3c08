// Package config defines Gatehouse's configuration: one struct whose fields
// carry their TOML key, command-line flag and help text, so that defaults,
// the config file, the flags and the generated reference (docs/configuration.md)
// all come from one place. Precedence: defaults < config file < flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Duration is a time.Duration written as "30m" in TOML and flags.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	// Days are common for retention settings; time.ParseDuration lacks them.
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = Duration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 90s, 30m, 12h, 90d)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d Duration) String() string {
	v := time.Duration(d)
	if v >= 24*time.Hour && v%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", v/(24*time.Hour))
	}
	return v.String()
}

// Set implements flag.Value.
func (d *Duration) Set(s string) error { return d.UnmarshalText([]byte(s)) }

// Size is a byte count: a plain number, or one with KB, MB or GB (powers of
// 1,000, as message size limits are documented by mail services).
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	str := strings.ToUpper(strings.TrimSpace(string(b)))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if n, ok := strings.CutSuffix(str, u.suffix); ok {
			str, mult = strings.TrimSpace(n), u.m
			break
		}
	}
	v, err := strconv.ParseInt(str, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid size %q (use e.g. 35MB or 35000000)", string(b))
	}
	*s = Size(v * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	switch {
	case s >= 1e6 && s%1e6 == 0:
		return fmt.Sprintf("%dMB", s/1e6)
	case s >= 1e3 && s%1e3 == 0:
		return fmt.Sprintf("%dKB", s/1e3)
	}
	return strconv.FormatInt(int64(s), 10)
}

// Set implements flag.Value.
func (s *Size) Set(v string) error { return s.UnmarshalText([]byte(v)) }

// Config is the whole configuration of `gatehouse serve`.
type Config struct {
	Data string `toml:"data" flag:"data" help:"data directory (SQLite database, TLS certificate)"`
	DB   string `toml:"db" flag:"db" help:"database: empty for SQLite in the data directory, or a postgres:// URL"`

	Domain        string `toml:"domain" flag:"domain" help:"the organization's default email domain"`
	Organization  string `toml:"organization" flag:"organization" help:"the organization's display name"`
	AdminPassword string `toml:"admin_password" flag:"admin-password" help:"password of the first administrator 'admin' (generated and printed once when empty); a flag shows in ps: prefer admin_password_file or GATEHOUSE_ADMIN_PASSWORD"`
	// AdminPasswordFile names a file holding AdminPassword (its first
	// line), so that the password is not on the command line.
	// PublicHost is the host name mail clients reach the IMAP4, POP3 and
	// submission listeners by; autoconfiguration and /account hand it out.
	PublicHost        string `toml:"public_host" flag:"public-host" help:"host name mail clients connect to (autoconfiguration and /account tell them); empty: each listener's own address, or this machine's host name for a wildcard address"`
	AdminPasswordFile string `toml:"admin_password_file" flag:"admin-password-file" help:"file whose first line is the first administrator's password (or set GATEHOUSE_ADMIN_PASSWORD)"`
	Demo              bool   `toml:"demo" flag:"demo" help:"add the sample organization (Christa Knapp and colleagues, with mail)"`
	DemoPassword      string `toml:"demo_password" flag:"demo-password" help:"password of the demo mailboxes; a flag shows in ps: prefer demo_password_file or GATEHOUSE_DEMO_PASSWORD"`
	DemoPasswordFile  string `toml:"demo_password_file" flag:"demo-password-file" help:"file whose first line is the password of the demo mailboxes (or set GATEHOUSE_DEMO_PASSWORD)"`

	Listen Listen `toml:"listen"`
	TLS    TLS    `toml:"tls"`
	Admin  Admin  `toml:"admin"`

	// AllowInsecureAuth allows plaintext passwords without TLS from
	// non-loopback addresses (loopback is always allowed).
	AllowInsecureAuth bool `toml:"allow_insecure_auth" flag:"allow-insecure-auth" help:"allow plaintext LOGIN/USER/PASS/AUTH without TLS from any address (loopback always may)"`

	MaxMessageSize Size `toml:"max_message_size" flag:"max-message-size" help:"largest message accepted by SMTP, LMTP and IMAP APPEND"`

	// BodyGrace is how long the content of an expunged message stays
	// stored: an IMAP session learns of an expunge only at its next
	// command, and may still be reading the message meanwhile.
	BodyGrace Duration `toml:"body_grace" flag:"body-grace" help:"how long an expunged message's content stays readable for sessions not yet told of the expunge, before it is deleted"`

	// VacuumInterval is how often, on PostgreSQL, Gatehouse looks at its
	// busiest tables where autovacuum is off for them, and vacuums and
	// analyzes them itself as autovacuum would (0: it does not).
	VacuumInterval Duration `toml:"vacuum_interval" flag:"vacuum-interval" help:"PostgreSQL with autovacuum off: how often Gatehouse looks at its busiest tables and vacuums and analyzes them itself as autovacuum would (0: never; then run VACUUM yourself)"`

	// ShutdownGrace bounds a graceful stop (SIGTERM): sessions waiting for
	// a command are told at once, and commands and mail transfers under
	// way may finish within it; what is still running then is answered
	// with a temporary failure and closed.
	ShutdownGrace Duration `toml:"shutdown_grace" flag:"shutdown-grace" help:"on SIGTERM, how long commands and mail transfers under way may take to finish before their connections are closed"`

	IMAP      IMAP      `toml:"imap"`
	POP3      POP3      `toml:"pop3"`
	Delivery  Delivery  `toml:"delivery"`
	Outbound  Outbound  `toml:"outbound"`
	Auth      Auth      `toml:"auth"`
	OAuth     OAuth     `toml:"oauth"`
	Log       Log       `toml:"log"`
	Login     LoginLog  `toml:"login_records"`
	Migration Migration `toml:"migration"`
}

// Listen holds the listener addresses; an empty address turns one off.
type Listen struct {
	IMAP  string `toml:"imap" flag:"imap" help:"IMAP4 with STARTTLS"`
	IMAPS string `toml:"imaps" flag:"imaps" help:"IMAP4 over implicit TLS"`
	POP3  string `toml:"pop3" flag:"pop3" help:"POP3 with STLS"`
	POP3S string `toml:"pop3s" flag:"pop3s" help:"POP3 over implicit TLS"`
	SMTP  string `toml:"smtp" flag:"smtp" help:"SMTP inbound for local recipients"`
	LMTP  string `toml:"lmtp" flag:"lmtp" help:"LMTP (host:port, or unix:/path/to/socket)"`
	// Submission and Submissions are SMTP submission for signed-in users
	// (RFC 6409; 587 with STARTTLS, 465 with implicit TLS by convention).
	Submission  string `toml:"submission" flag:"submission" help:"SMTP submission with STARTTLS for signed-in users (587 by convention)"`
	Submissions string `toml:"submissions" flag:"submissions" help:"SMTP submission over implicit TLS (465 by convention)"`
	Admin       string `toml:"admin" flag:"admin" help:"admin center, REST API, /metrics and /healthz"`
	// Autoconfig is a listener for mail clients' autoconfiguration only
	// (Thunderbird autoconfig, Outlook Autodiscover, the Apple profile),
	// for the public side: plain HTTP, as clients fetch
	// http://autoconfig.<domain>/...; the admin listener serves the same
	// documents too (over HTTPS where it has TLS).
	Autoconfig string `toml:"autoconfig" flag:"autoconfig" help:"client autoconfiguration only (Thunderbird autoconfig, Outlook Autodiscover, Apple profile), plain HTTP, for the public side (port 80 of autoconfig.<domain> and autodiscover.<domain> by convention); off when empty"`
}

// TLS names the certificate; without one a self-signed certificate is
// generated into the data directory.
type TLS struct {
	Cert string `toml:"cert" flag:"tls-cert" help:"PEM certificate chain file"`
	Key  string `toml:"key" flag:"tls-key" help:"PEM private key file"`
}

// Admin secures the admin listener (admin center, REST API, /metrics):
// administrators' passwords and session tokens cross it.
type Admin struct {
	// TLS is "auto" (HTTPS unless the admin listener is bound to a loopback
	// address, where nothing crosses a network and the README's plain
	// http://127.0.0.1:8080 examples work), "on" or "off".
	TLS  string `toml:"tls" flag:"admin-tls" help:"HTTPS on the admin listener: auto (HTTPS unless it is bound to a loopback address), on, or off"`
	Cert string `toml:"tls_cert" flag:"admin-tls-cert" help:"PEM certificate chain of the admin listener (default: the mail certificate, tls.cert or the generated self-signed one)"`
	Key  string `toml:"tls_key" flag:"admin-tls-key" help:"PEM private key of admin.tls_cert"`
	// AllowInsecure lets the admin listener serve plain HTTP on a
	// non-loopback address, for a TLS-terminating proxy in front.
	AllowInsecure bool `toml:"allow_insecure" flag:"allow-insecure-admin" help:"allow admin.tls = off on a non-loopback address (behind a TLS-terminating proxy); passwords and tokens then cross that network in clear text"`
	// MaxConns and MaxConnsPerIP bound the connections the admin
	// listener holds open; more are refused at once.
	MaxConns      int `toml:"max_connections" flag:"admin-max-connections" help:"open connections the admin listener accepts in all"`
	MaxConnsPerIP int `toml:"max_connections_per_ip" flag:"admin-max-connections-per-ip" help:"open connections the admin listener accepts from one address"`
	// ReadHeaderTimeout bounds the request line and headers, and also any
	// pause while a request body is sent; ReadTimeout the whole request.
	ReadHeaderTimeout Duration `toml:"read_header_timeout" flag:"admin-read-header-timeout" help:"time a client has to send a request's headers, and the longest pause allowed while it sends a body"`
	ReadTimeout       Duration `toml:"read_timeout" flag:"admin-read-timeout" help:"time a client has to send a whole request, body included"`
	IdleTimeout       Duration `toml:"idle_timeout" flag:"admin-idle-timeout" help:"a kept-alive admin connection without a request is closed after this long"`
}

// Outbound is where submitted mail for recipients outside the organization
// goes: the outbound queue sends it to one smarthost.
type Outbound struct {
	Smarthost string `toml:"smarthost" flag:"smarthost" help:"host:port of the relay that takes all outbound mail (empty: submitted mail for other domains stays queued)"`
	Username  string `toml:"smarthost_user" flag:"smarthost-user" help:"user name for AUTH at the smarthost (only over TLS)"`
	Password  string `toml:"smarthost_password" flag:"smarthost-password" help:"password for AUTH at the smarthost; a flag shows in ps: prefer the config file or GATEHOUSE_SMARTHOST_PASSWORD"`
	// TLS is "auto" (STARTTLS when offered, certificate verified), "required"
	// (no sending without STARTTLS), or "insecure" (STARTTLS when offered,
	// certificate not verified: a smarthost on a private network with a
	// self-signed certificate).
	TLS           string   `toml:"smarthost_tls" flag:"smarthost-tls" help:"STARTTLS to the smarthost: auto (when offered, verified), required, or insecure (when offered, not verified)"`
	QueueLifetime Duration `toml:"queue_lifetime" flag:"queue-lifetime" help:"how long a message is retried before its sender gets a failure notice (Exchange's MessageExpirationTimeout)"`
	RetryInterval Duration `toml:"retry_interval" flag:"queue-retry-interval" help:"wait after the first failed attempt; each further failure doubles it, up to queue-retry-max"`
	RetryMax      Duration `toml:"retry_max" flag:"queue-retry-max" help:"longest wait between two attempts"`
	ScanInterval  Duration `toml:"scan_interval" flag:"queue-scan-interval" help:"how often the queue is looked at for messages due (new mail is sent at once)"`
	// Lease is how long a node holds a message it is sending; a node that
	// died while sending leaves it to another (or to itself, restarted)
	// after this long.
	Lease Duration `toml:"lease" flag:"queue-lease" help:"how long a message being sent is held by its node; after a crash it is sent again once this has passed"`
}

// IMAP tunes the IMAP4 server.
type IMAP struct {
	IdleTimeout        Duration `toml:"idle_timeout" flag:"imap-idle-timeout" help:"autologout of an authenticated IMAP4 session without traffic"`
	PreAuthTimeout     Duration `toml:"preauth_timeout" flag:"imap-preauth-timeout" help:"time allowed before login"`
	MaxConnsPerMailbox int      `toml:"max_connections_per_mailbox" flag:"imap-max-connections-per-mailbox" help:"open IMAP4 connections one mailbox may have"`
	MaxConnsPerIP      int      `toml:"max_connections_per_ip" flag:"imap-max-connections-per-ip" help:"open IMAP4 connections one remote address may have"`
	MaxConns           int      `toml:"max_connections" flag:"imap-max-connections" help:"open IMAP4 connections in all (negative: no limit)"`
	MessageCache       Size     `toml:"message_cache" flag:"imap-message-cache" help:"memory the IMAP4 sessions of this process share to keep what never changes of the messages they have read (dates, sizes, parses, the first 64 KB of each), so that reading them again needs no database access (0: off)"`
}

// POP3 tunes the POP3 server.
type POP3 struct {
	IdleTimeout    Duration `toml:"idle_timeout" flag:"pop3-idle-timeout" help:"autologout timer (RFC 1939: at least 10 minutes)"`
	PreAuthTimeout Duration `toml:"preauth_timeout" flag:"pop3-preauth-timeout" help:"time a POP3 client may wait between commands before login"`
	MaxConnsPerIP  int      `toml:"max_connections_per_ip" flag:"pop3-max-connections-per-ip" help:"open POP3 connections one remote address may have (negative: no limit)"`
	MaxConns       int      `toml:"max_connections" flag:"pop3-max-connections" help:"open POP3 connections in all (negative: no limit)"`
}

// Delivery tunes the SMTP and LMTP servers; each listener has its own
// connection limits, and the two share the memory of messages being stored.
type Delivery struct {
	IdleTimeout   Duration `toml:"idle_timeout" flag:"delivery-idle-timeout" help:"time an SMTP or LMTP client may wait for its next command outside a mail transaction (before MAIL FROM)"`
	MaxConnsPerIP int      `toml:"max_connections_per_ip" flag:"delivery-max-connections-per-ip" help:"open connections one remote address may have, on each of the SMTP and LMTP listeners (negative: no limit; a unix socket has no address)"`
	MaxConns      int      `toml:"max_connections" flag:"delivery-max-connections" help:"open connections in all, on each of the SMTP and LMTP listeners (negative: no limit)"`
	DataMemory    Size     `toml:"data_memory" flag:"delivery-data-memory" help:"octets of received messages held in memory at once to be stored (0: max_message_size); transfers beyond it wait their turn, and messages above 256 KiB are received into a file under the data directory first"`
}

// OAuth configures sign-in with OAuth 2.0 bearer tokens (SASL XOAUTH2 and
// OAUTHBEARER on IMAP4 and POP3) issued by an OpenID Connect provider.
type OAuth struct {
	Issuer   string `toml:"issuer" flag:"oauth-issuer" help:"OpenID Connect issuer URL whose bearer tokens (JWT) sign users in with XOAUTH2/OAUTHBEARER; empty turns OAuth off"`
	Audience string `toml:"audience" flag:"oauth-audience" help:"the audience (aud) the tokens must carry: this server's client ID at the issuer"`
	Claim    string `toml:"claim" flag:"oauth-claim" help:"the token claim that names the mailbox (an address, UPN, alias or name)"`
}

// Auth tunes credential checks and throttling.
type Auth struct {
	CredentialCacheTTL Duration `toml:"credential_cache_ttl" flag:"credential-cache-ttl" help:"how long a verified password is served from memory (0 turns the cache off)"`
	ThrottleDisabled   bool     `toml:"throttle_disabled" flag:"throttle-disabled" help:"turn brute-force throttling off"`
	ThrottleFree       int      `toml:"throttle_free" flag:"throttle-free" help:"failed logins per address or user before answers slow down"`
	ThrottleLockAfter  int      `toml:"throttle_lock_after" flag:"throttle-lock-after" help:"failed logins from one address before it is refused for a while"`
	ThrottleLockUser   int      `toml:"throttle_lock_user_after" flag:"throttle-lock-user-after" help:"failed logins for one user before that user is refused for a while"`
	ThrottleLockFor    Duration `toml:"throttle_lock_for" flag:"throttle-lock-for" help:"how long a locked address or user is refused"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level" flag:"log-level" help:"debug, info, warn or error"`
	Format string `toml:"format" flag:"log-format" help:"text or json"`
}

// LoginLog configures login records.
type LoginLog struct {
	Retention Duration `toml:"retention" flag:"login-record-retention" help:"how long login records are kept"`
}

// Migration configures IMAP migration batches.
type Migration struct {
	KeyFile        string   `toml:"key_file" flag:"migration-key-file" help:"file of the AES-256 key that seals source passwords of migration batches (created when missing; empty: migration.key in the data directory); nodes sharing a PostgreSQL database need the same key"`
	ResyncInterval Duration `toml:"resync_interval" flag:"migration-resync-interval" help:"how often a Synced migration batch is synced again until it is completed"`
	PollInterval   Duration `toml:"poll_interval" flag:"migration-poll-interval" help:"how often the migration engine looks for batches to run"`
}

// Default returns the configuration of a fresh machine: SQLite in
// ./gatehouse-data, unprivileged ports on 127.0.0.1.
func Default() Config {
	return Config{
		Data:         "gatehouse-data",
		Domain:       "contoso.com",
		Organization: "Contoso",
		Listen: Listen{
			IMAP: "127.0.0.1:1143", IMAPS: "127.0.0.1:1993",
			POP3: "127.0.0.1:1110", POP3S: "127.0.0.1:1995",
			SMTP: "127.0.0.1:2525", LMTP: "127.0.0.1:2424",
			Submission: "127.0.0.1:1587", Submissions: "127.0.0.1:1465",
			Admin: "127.0.0.1:8080",
		},
		MaxMessageSize: 35e6,
		ShutdownGrace:  Duration(5 * time.Second),
		BodyGrace:      Duration(10 * time.Minute),
		VacuumInterval: Duration(5 * time.Second),
		IMAP: IMAP{IdleTimeout: Duration(30 * time.Minute), PreAuthTimeout: Duration(60 * time.Second),
			MaxConnsPerMailbox: 16, MaxConnsPerIP: 100, MaxConns: 200_000, MessageCache: 128e6},
		POP3: POP3{IdleTimeout: Duration(10 * time.Minute), PreAuthTimeout: Duration(60 * time.Second),
			MaxConnsPerIP: 100, MaxConns: 10_000},
		Delivery: Delivery{IdleTimeout: Duration(60 * time.Second), MaxConnsPerIP: 100, MaxConns: 10_000},
		Outbound: Outbound{TLS: "auto", QueueLifetime: Duration(48 * time.Hour), RetryInterval: Duration(time.Minute),
			RetryMax: Duration(time.Hour), ScanInterval: Duration(30 * time.Second), Lease: Duration(10 * time.Minute)},
		Admin: Admin{TLS: "auto", MaxConns: 256, MaxConnsPerIP: 64, ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout: Duration(60 * time.Second), IdleTimeout: Duration(2 * time.Minute)},
		Auth: Auth{CredentialCacheTTL: Duration(5 * time.Minute), ThrottleFree: 3, ThrottleLockAfter: 20,
			ThrottleLockUser: 50, ThrottleLockFor: Duration(15 * time.Minute)},
		OAuth:     OAuth{Claim: "email"},
		Log:       Log{Level: "info", Format: "text"},
		Login:     LoginLog{Retention: Duration(90 * 24 * time.Hour)},
		Migration: Migration{ResyncInterval: Duration(24 * time.Hour), PollInterval: Duration(5 * time.Second)},
	}
}

// setting is one leaf field of Config.
type setting struct {
	key   string // TOML path, e.g. listen.imap
	flag  string
	help  string
	field reflect.Value
}

func settings(c *Config) []setting {
	var out []setting
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := prefix + f.Tag.Get("toml")
			if f.Type.Kind() == reflect.Struct {
				walk(v.Field(i), key+".")
				continue
			}
			out = append(out, setting{key: key, flag: f.Tag.Get("flag"), help: f.Tag.Get("help"), field: v.Field(i)})
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// Load builds the configuration from the defaults, the config file named by
// --config (if any) and the flags in args. Errors name the setting.
func Load(args []string, stderr io.Writer) (Config, error) {
	cfg, problems, err := load(args, stderr, false)
	if err != nil {
		return cfg, err
	}
	if len(problems) > 0 {
		return cfg, problems[0]
	}
	return cfg, nil
}

// LoadAll is Load for 'gatehouse check-config': it goes on past a bad
// setting and returns every problem it finds (unknown keys of the file, an
// unreadable secret file, each bad setting). err is for what stops it at
// once: a bad flag, -h, a config file that is not TOML.
func LoadAll(args []string, stderr io.Writer) (cfg Config, problems []error, err error) {
	return load(args, stderr, true)
}

func load(args []string, stderr io.Writer, all bool) (Config, []error, error) {
	cfg := Default()
	fromFlags := Default()
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "TOML configuration file (flags override it)")
	for _, s := range settings(&fromFlags) {
		if s.flag == "" {
			continue
		}
		p := s.field.Addr().Interface()
		switch p := p.(type) {
		case *string:
			fs.StringVar(p, s.flag, *p, s.help)
		case *bool:
			fs.BoolVar(p, s.flag, *p, s.help)
		case *int:
			fs.IntVar(p, s.flag, *p, s.help)
		case flag.Value:
			fs.Var(p, s.flag, s.help)
		default:
			panic(fmt.Sprintf("config: no flag type for %s", s.key))
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if fs.NArg() > 0 {
		return cfg, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var problems []error
	if *configPath != "" {
		if err := loadFile(&cfg, *configPath); err != nil {
			var unknown *unknownKeysError
			if !all || !errors.As(err, &unknown) {
				return cfg, nil, err
			}
			// The known keys are decoded; go on to check them.
			problems = append(problems, err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	src := settings(&fromFlags)
	for i, s := range settings(&cfg) {
		if s.flag != "" && set[s.flag] {
			s.field.Set(src[i].field)
		}
	}
	for _, f := range []string{"admin-password", "demo-password"} {
		if set[f] {
			fmt.Fprintf(stderr, "gatehouse serve: warning: --%s shows in ps and in shell history; prefer --%s-file or GATEHOUSE_%s\n",
				f, f, strings.ToUpper(strings.ReplaceAll(f, "-", "_")))
		}
	}
	if err := cfg.readSecrets(os.Getenv); err != nil {
		if !all {
			return cfg, nil, err
		}
		problems = append(problems, err)
	}
	return cfg, append(problems, cfg.Problems()...), nil
}

// unknownKeysError is a config file's keys that no setting has.
type unknownKeysError struct {
	path string
	keys []string
}

func (e *unknownKeysError) Error() string {
	return fmt.Sprintf("config %s: unknown setting %s", e.path, strings.Join(e.keys, ", "))
}

// readSecrets fills AdminPassword and DemoPassword, when neither the config
// file nor a flag gave them, from their *_file settings or else from the
// GATEHOUSE_ADMIN_PASSWORD and GATEHOUSE_DEMO_PASSWORD variables.
func (c *Config) readSecrets(getenv func(string) string) error {
	for _, s := range []struct {
		value               *string
		file, env           string
		valueName, fileName string
	}{
		{&c.AdminPassword, c.AdminPasswordFile, "GATEHOUSE_ADMIN_PASSWORD", "admin_password (--admin-password)", "admin_password_file (--admin-password-file)"},
		{&c.DemoPassword, c.DemoPasswordFile, "GATEHOUSE_DEMO_PASSWORD", "demo_password (--demo-password)", "demo_password_file (--demo-password-file)"},
		{&c.Outbound.Password, "", "GATEHOUSE_SMARTHOST_PASSWORD", "outbound.smarthost_password (--smarthost-password)", ""},
	} {
		switch {
		case s.file != "" && *s.value != "":
			return fmt.Errorf("%s and %s: give one, not both", s.valueName, s.fileName)
		case s.file != "":
			v, err := ReadSecretFile(s.file)
			if err != nil {
				return fmt.Errorf("%s: %w", s.fileName, err)
			}
			*s.value = v
		case *s.value == "":
			*s.value = getenv(s.env)
		}
	}
	return nil
}

// ReadSecretFile returns the first line of a file that holds a password,
// without its line ending. An empty first line is an error.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}

func loadFile(cfg *Config, path string) error {
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("config %s: %s", path, perr.ErrorWithPosition())
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var keys []string
		for _, k := range und {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return &unknownKeysError{path: path, keys: keys}
	}
	return nil
}

// Validate checks every setting and names the first bad one.
func (c Config) Validate() error {
	if p := c.Problems(); len(p) > 0 {
		return p[0]
	}
	return nil
}

// Problems checks every setting and returns every bad one, in the order of
// the settings ('gatehouse check-config' lists them all).
func (c Config) Problems() []error {
	var p []error
	for _, a := range []struct{ name, addr string }{
		{"listen.imap (--imap)", c.Listen.IMAP}, {"listen.imaps (--imaps)", c.Listen.IMAPS},
		{"listen.pop3 (--pop3)", c.Listen.POP3}, {"listen.pop3s (--pop3s)", c.Listen.POP3S},
		{"listen.smtp (--smtp)", c.Listen.SMTP}, {"listen.admin (--admin)", c.Listen.Admin},
		{"listen.submission (--submission)", c.Listen.Submission}, {"listen.submissions (--submissions)", c.Listen.Submissions},
		{"listen.autoconfig (--autoconfig)", c.Listen.Autoconfig},
		{"outbound.smarthost (--smarthost)", c.Outbound.Smarthost},
	} {
		if err := checkAddr(a.addr); err != nil {
			p = append(p, fmt.Errorf("%s: %v", a.name, err))
		}
	}
	if path, ok := strings.CutPrefix(c.Listen.LMTP, "unix:"); ok {
		if path == "" {
			p = append(p, errors.New("listen.lmtp (--lmtp): unix: needs a socket path"))
		}
	} else if err := checkAddr(c.Listen.LMTP); err != nil {
		p = append(p, fmt.Errorf("listen.lmtp (--lmtp): %v", err))
	}
	if c.DB == "" && c.Data == "" {
		p = append(p, errors.New("data (--data): a data directory is needed for the SQLite database"))
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		p = append(p, fmt.Errorf("db (--db): %q is not a postgres:// URL (leave it empty for SQLite)", c.DB))
	}
	if c.PublicHost != "" && !validDomain(c.PublicHost) && net.ParseIP(c.PublicHost) == nil {
		p = append(p, fmt.Errorf("public_host (--public-host): %q is not a host name", c.PublicHost))
	}
	if !validDomain(c.Domain) {
		p = append(p, fmt.Errorf("domain (--domain): %q is not a domain name", c.Domain))
	}
	if c.MaxMessageSize < 1000 {
		p = append(p, fmt.Errorf("max_message_size (--max-message-size): %s is too small", c.MaxMessageSize))
	}
	switch c.Outbound.TLS {
	case "auto", "required", "insecure":
	default:
		p = append(p, fmt.Errorf("outbound.smarthost_tls (--smarthost-tls): %q is not auto, required or insecure", c.Outbound.TLS))
	}
	if c.Outbound.QueueLifetime <= 0 || c.Outbound.RetryInterval <= 0 || c.Outbound.RetryMax < c.Outbound.RetryInterval || c.Outbound.ScanInterval <= 0 || c.Outbound.Lease <= 0 {
		p = append(p, errors.New("outbound: queue_lifetime, retry_interval, scan_interval and lease must be positive, retry_max at least retry_interval"))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		p = append(p, errors.New("tls.cert (--tls-cert) and tls.key (--tls-key): give both or neither"))
	}
	for _, f := range []string{c.TLS.Cert, c.TLS.Key} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				p = append(p, fmt.Errorf("tls: %v", err))
			}
		}
	}
	if err := c.Admin.validate(c.Listen.Admin); err != nil {
		p = append(p, err)
	}
	if c.IMAP.MaxConnsPerMailbox < 1 || c.IMAP.MaxConnsPerIP < 1 {
		p = append(p, errors.New("imap.max_connections_per_mailbox and imap.max_connections_per_ip must be at least 1"))
	}
	if time.Duration(c.POP3.IdleTimeout) < 10*time.Minute {
		p = append(p, errors.New("pop3.idle_timeout (--pop3-idle-timeout): RFC 1939 §3 requires at least 10m"))
	}
	if time.Duration(c.IMAP.IdleTimeout) < 30*time.Minute {
		p = append(p, errors.New("imap.idle_timeout (--imap-idle-timeout): RFC 9051 §5.4 requires at least 30m"))
	}
	if c.IMAP.PreAuthTimeout <= 0 {
		p = append(p, errors.New("imap.preauth_timeout (--imap-preauth-timeout) must be positive"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Errorf("log.level (--log-level): %q is not debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p = append(p, fmt.Errorf("log.format (--log-format): %q is not text or json", c.Log.Format))
	}
	if c.Auth.CredentialCacheTTL < 0 || c.Login.Retention < 0 || c.ShutdownGrace < 0 || c.BodyGrace < 0 || c.VacuumInterval < 0 {
		p = append(p, errors.New("durations must not be negative"))
	}
	if c.OAuth.Issuer != "" {
		u, err := url.Parse(c.OAuth.Issuer)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p = append(p, fmt.Errorf("oauth.issuer (--oauth-issuer): %q is not an http(s) URL", c.OAuth.Issuer))
		}
		if c.OAuth.Audience == "" {
			p = append(p, errors.New("oauth.audience (--oauth-audience) is required with --oauth-issuer"))
		}
		if c.OAuth.Claim == "" {
			p = append(p, errors.New("oauth.claim (--oauth-claim) must name a claim"))
		}
	}
	return p
}

func checkAddr(a string) error {
	if a == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port", a)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q has a bad port", a)
	}
	_ = host
	return nil
}

func (a Admin) validate(addr string) error {
	switch a.TLS {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("admin.tls (--admin-tls): %q is not auto, on or off", a.TLS)
	}
	if (a.Cert == "") != (a.Key == "") {
		return errors.New("admin.tls_cert (--admin-tls-cert) and admin.tls_key (--admin-tls-key): give both or neither")
	}
	for _, f := range []string{a.Cert, a.Key} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("admin tls: %v", err)
			}
		}
	}
	if a.TLS == "off" && !a.AllowInsecure && addr != "" && !LoopbackAddr(addr) {
		return fmt.Errorf("listen.admin (--admin): %s is not a loopback address and admin.tls (--admin-tls) is off, "+
			"so administrators' passwords and tokens would cross the network in clear text; "+
			"use --admin-tls auto or on, or add --allow-insecure-admin behind a TLS-terminating proxy", addr)
	}
	if a.MaxConns < 1 || a.MaxConnsPerIP < 1 {
		return errors.New("admin.max_connections (--admin-max-connections) and admin.max_connections_per_ip (--admin-max-connections-per-ip) must be at least 1")
	}
	if a.ReadHeaderTimeout <= 0 || a.ReadTimeout <= 0 || a.IdleTimeout <= 0 {
		return errors.New("admin.read_header_timeout, admin.read_timeout and admin.idle_timeout must be positive")
	}
	return nil
}

// LoopbackAddr reports whether the listener address a (host:port) is on
// the loopback interface only: an IP address such as 127.0.0.1 or ::1, or
// "localhost". An empty host (all interfaces) and other names are not.
func LoopbackAddr(a string) bool {
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Reference renders the settings as the Markdown table of
// docs/configuration.md.
func Reference() string {
	d := Default()
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("Generated from `internal/config` by `go test ./internal/config -update`; do not edit by hand.\n\n")
	b.WriteString("Every setting can be given in the TOML file named by `--config` and as a flag; flags win.\n")
	b.WriteString("An empty listener address turns that listener off.\n\n")
	b.WriteString("| TOML key | flag | default | meaning |\n|---|---|---|---|\n")
	for _, s := range settings(&d) {
		def := fmt.Sprint(s.field.Interface())
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | `%s` | %s |\n", s.key, s.flag, def, s.help)
	}
	b.WriteString("\n`--config FILE` names the TOML file itself.\n")
	return b.String()
}
