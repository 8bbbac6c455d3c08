package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the database

	"github.com/gatehouse-mail/gatehouse/bench/internal/dovecot"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// seedFlags are the flags of seed and compare.
type seedFlags struct {
	dir         string
	users       int
	messages    int
	engines     string
	pgAdmin     string
	dovecotPort int
}

func (s *seedFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "", "working directory (default: a new temporary one)")
	fs.IntVar(&s.users, "users", 20, "load users")
	fs.IntVar(&s.messages, "messages", 1000, "messages in each user's INBOX")
	fs.StringVar(&s.engines, "engines", "sqlite,postgres", "Gatehouse storage engines to measure")
	fs.StringVar(&s.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL maintenance DSN (a database is created next to it)")
	fs.IntVar(&s.dovecotPort, "dovecot-port", 10143, "Dovecot's IMAP port")
}

func (s *seedFlags) hasEngine(e string) bool {
	for _, x := range strings.Split(s.engines, ",") {
		if strings.TrimSpace(x) == e {
			return true
		}
	}
	return false
}

// pgDSN is the DSN of the load database next to the maintenance one.
func (s *seedFlags) pgDSN() string {
	u, err := url.Parse(s.pgAdmin)
	if err != nil {
		return s.pgAdmin
	}
	u.Path = "/gatehouse_imapload"
	return u.String()
}

func (s *seedFlags) seed(ctx context.Context) error {
	if s.dir == "" {
		d, err := os.MkdirTemp("", "imapload")
		if err != nil {
			return err
		}
		s.dir = d
	}
	// Dovecot's unprivileged processes must reach the passwd-file and mail.
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	msgs := corpus(s.messages, 1)
	var total int
	for _, m := range msgs {
		total += len(m)
	}
	fmt.Printf("corpus: %d messages, %.1f MB, median %d bytes; %d users\n", len(msgs), float64(total)/1e6, median(msgs), s.users)
	if s.hasEngine("sqlite") {
		start := time.Now()
		if err := os.MkdirAll(filepath.Join(s.dir, "gatehouse"), 0o700); err != nil {
			return err
		}
		st, err := sqlite.Open(ctx, filepath.Join(s.dir, "gatehouse", "gatehouse.db"), sqlite.Options{})
		if err != nil {
			return err
		}
		err = seedGatehouse(ctx, st, s.users, msgs)
		st.Close()
		if err != nil {
			return fmt.Errorf("seed SQLite: %w", err)
		}
		fmt.Printf("seeded Gatehouse on SQLite in %v\n", time.Since(start).Round(time.Millisecond))
	}
	if s.hasEngine("postgres") {
		start := time.Now()
		if err := createPGDatabase(ctx, s.pgAdmin, "gatehouse_imapload"); err != nil {
			return err
		}
		st, err := postgres.Open(ctx, s.pgDSN(), postgres.Options{})
		if err != nil {
			return err
		}
		err = seedGatehouse(ctx, st, s.users, msgs)
		st.Close()
		if err != nil {
			return fmt.Errorf("seed PostgreSQL: %w", err)
		}
		fmt.Printf("seeded Gatehouse on PostgreSQL in %v\n", time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	if err := seedDovecot(filepath.Join(s.dir, "dovecot"), s.dovecotPort, s.users, msgs); err != nil {
		return fmt.Errorf("seed Dovecot: %w", err)
	}
	fmt.Printf("seeded Dovecot in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func median(msgs [][]byte) int {
	sizes := make([]int, len(msgs))
	for i, m := range msgs {
		sizes[i] = len(m)
	}
	slicesSort(sizes)
	return sizes[len(sizes)/2]
}

func seedCmd(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	var s seedFlags
	s.register(fs)
	fs.Parse(args)
	if err := s.seed(context.Background()); err != nil {
		return err
	}
	fmt.Println("seeded", s.dir)
	return nil
}

// createPGDatabase drops and creates a database.
func createPGDatabase(ctx context.Context, adminDSN, name string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

// seedGatehouse creates the users, each with the messages in INBOX,
// delivered by several goroutines so that the store groups commits.
func seedGatehouse(ctx context.Context, st store.Store, users int, msgs [][]byte) error {
	hash, err := auth.NewChecker(auth.CheckerOptions{Params: auth.DefaultParams}).Hash(password)
	if err != nil {
		return err
	}
	var ids []int64
	err = st.Update(ctx, func(tx store.Tx) error {
		ids = ids[:0]
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Bench", Domain: "example.com"}); err != nil {
			return err
		}
		for i := range users {
			name := fmt.Sprintf("user%d", i)
			m := store.Mailbox{Name: name, DisplayName: name, Alias: name, PrimarySmtpAddress: userName(i),
				UserPrincipalName: userName(i), PasswordHash: hash, PopEnabled: true, ImapEnabled: true}
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create users: %w", err)
	}
	type job struct {
		raw []byte
		p   *message.Message
		id  int64
	}
	work := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				_, err := st.Deliver(ctx, []int64{j.id}, store.NewMessage{
					InternalDate: time.Now(), Raw: j.raw, Structure: j.p.Marshal(),
					Summary: store.Summary{Subject: j.p.Subject(), From: j.p.From(), To: j.p.To(), Cc: j.p.Cc(), SentDate: j.p.Date()},
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, raw := range msgs {
		p := message.Parse(raw)
		for _, id := range ids {
			work <- job{raw, p, id}
		}
	}
	close(work)
	wg.Wait()
	return firstErr
}

// dovecotConf is the Dovecot 2.3 configuration compare runs: IMAP only,
// plaintext auth over loopback, Maildir with indexes, the high-performance
// login mode (service_count = 0, processes kept ready) and an auth cache,
// as Dovecot's documentation recommends for many logins ("tuned" in
// DESIGN §7).
var dovecotConf = template.Must(template.New("dovecot.conf").Parse(`# Generated by imapload; do not edit.
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
log_path = {{.Dir}}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{{.Dir}}/mail/%u/Maildir:INDEX={{.Dir}}/index/%u
mail_fsync = optimized
mail_max_userip_connections = 1000
auth_cache_size = 10M
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{.Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{.UID}} gid={{.GID}} home={{.Dir}}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{.Port}}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = 1024
}
`))

// seedDovecot writes the configuration, passwd-file and Maildirs with the
// same users and messages.
func seedDovecot(dir string, port, users int, msgs [][]byte) error {
	names := make([]string, users)
	for i := range names {
		names[i] = userName(i)
	}
	return dovecot.Setup{Dir: dir, Port: port, Users: names, Password: password, Messages: msgs, Conf: dovecotConf}.Write()
}
