package app

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to reach --db

	"github.com/gatehouse-mail/gatehouse/internal/config"
)

// CheckConfig looks at what a configuration refers to without starting a
// server: TLS files that must be readable and hold a matching certificate
// and key, the data directory that must be writable (or creatable), the
// PostgreSQL server that must answer, and listener addresses that must be
// of this machine. It returns every problem (config.Problems covers the
// settings themselves) and notes that are not problems (a port already in
// use, most likely by the running server).
func CheckConfig(ctx context.Context, cfg config.Config) (problems []error, notes []string) {
	pair := func(what, cert, key string) {
		if cert == "" || key == "" {
			return
		}
		for _, f := range []string{cert, key} {
			if _, err := os.Stat(f); err != nil {
				return // config.Problems named the missing file
			}
		}
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			problems = append(problems, fmt.Errorf("%s: cannot load the certificate %s and key %s: %v", what, cert, key, err))
		}
	}
	pair("tls (--tls-cert, --tls-key)", cfg.TLS.Cert, cfg.TLS.Key)
	pair("admin.tls_cert, admin.tls_key", cfg.Admin.Cert, cfg.Admin.Key)

	if cfg.Data != "" {
		if err := writableDir(cfg.Data); err != nil {
			problems = append(problems, fmt.Errorf("data (--data): %v", err))
		}
	}
	if cfg.Migration.KeyFile != "" {
		if _, err := os.Stat(cfg.Migration.KeyFile); err == nil {
			if f, err := os.Open(cfg.Migration.KeyFile); err != nil {
				problems = append(problems, fmt.Errorf("migration.key_file: %v", err))
			} else {
				f.Close()
			}
		}
	}
	if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
		if err := pingPostgres(ctx, cfg.DB); err != nil {
			problems = append(problems, fmt.Errorf("db (--db): the database does not answer: %v", err))
		}
	}
	for _, l := range []struct{ name, addr string }{
		{"listen.imap", cfg.Listen.IMAP}, {"listen.imaps", cfg.Listen.IMAPS},
		{"listen.pop3", cfg.Listen.POP3}, {"listen.pop3s", cfg.Listen.POP3S},
		{"listen.smtp", cfg.Listen.SMTP}, {"listen.lmtp", cfg.Listen.LMTP},
		{"listen.submission", cfg.Listen.Submission}, {"listen.submissions", cfg.Listen.Submissions},
		{"listen.admin", cfg.Listen.Admin},
	} {
		if l.addr == "" {
			continue
		}
		if p, ok := strings.CutPrefix(l.addr, "unix:"); ok {
			if err := writableDir(filepath.Dir(p)); err != nil {
				problems = append(problems, fmt.Errorf("%s: socket %s: %v", l.name, p, err))
			}
			continue
		}
		host, port, err := net.SplitHostPort(l.addr)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			continue // config.Problems named it
		}
		if host != "" && net.ParseIP(host) == nil {
			if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
				problems = append(problems, fmt.Errorf("%s: %s: the host name does not resolve: %v", l.name, l.addr, err))
				continue
			}
		}
		// Binding for a moment tells an address of another machine and a
		// privileged port without the capability; a port in use is most
		// likely the running server's.
		ln, err := net.Listen("tcp", l.addr)
		switch {
		case err == nil:
			ln.Close()
		case errors.Is(err, syscall.EADDRINUSE):
			notes = append(notes, fmt.Sprintf("%s: %s is in use now (by the running server?)", l.name, l.addr))
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			problems = append(problems, fmt.Errorf("%s: %s is not an address of this machine", l.name, l.addr))
		case errors.Is(err, syscall.EACCES):
			problems = append(problems, fmt.Errorf("%s: %s is a privileged port: this user may not bind it (the systemd unit grants CAP_NET_BIND_SERVICE)", l.name, l.addr))
		default:
			problems = append(problems, fmt.Errorf("%s: %s: %v", l.name, l.addr, err))
		}
	}
	return problems, notes
}

// writableDir says whether dir is (or, when missing, could be created as) a
// directory this process may write into.
func writableDir(dir string) error {
	d := dir
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			if err := syscall.Access(d, 0x2 /* W_OK */); err != nil {
				if d == dir {
					return fmt.Errorf("%s is not writable by this user: %v", dir, err)
				}
				return fmt.Errorf("%s does not exist and cannot be created: %s is not writable by this user", dir, d)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return err
		}
		d = parent
	}
}

func pingPostgres(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return errors.New(strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " "))
	}
	return nil
}
