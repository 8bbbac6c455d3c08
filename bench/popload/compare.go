package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

type seedFlags struct {
	dir          string
	users        int
	messages     int
	dovecotPort  int
	dovecotStock bool
	engines      string
	pgAdmin      string
	pgDB         string
}

func (s *seedFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "", "working directory (default: a new temporary one)")
	fs.IntVar(&s.users, "users", 4, "mailboxes, one per concurrent session")
	fs.IntVar(&s.messages, "messages", 1000, "messages per mailbox")
	fs.IntVar(&s.dovecotPort, "dovecot-port", 21110, "loopback port for Dovecot")
	fs.BoolVar(&s.dovecotStock, "dovecot-stock", false, "run Dovecot without the performance settings")
	fs.StringVar(&s.engines, "engines", "sqlite", "Gatehouse storage engines to measure: sqlite, postgres or both")
	fs.StringVar(&s.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL maintenance DSN (the load database, -pgdb, is made next to it)")
	fs.StringVar(&s.pgDB, "pgdb", "gatehouse_popload", "name of the PostgreSQL load database (dropped and made afresh; give each concurrent run its own)")
}

func (s *seedFlags) hasEngine(e string) bool {
	return slices.Contains(strings.Split(strings.ReplaceAll(s.engines, " ", ""), ","), e)
}

// pgDSN is the DSN of the load database next to the maintenance one.
func (s *seedFlags) pgDSN() string {
	u, err := url.Parse(s.pgAdmin)
	if err != nil {
		return s.pgAdmin
	}
	u.Path = "/" + s.pgDB
	return u.String()
}

func (s *seedFlags) seed(ctx context.Context) error {
	if s.dir == "" {
		d, err := os.MkdirTemp("", "popload-")
		if err != nil {
			return err
		}
		s.dir = d
	}
	// Dovecot's unprivileged processes must reach the Maildirs.
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	msgs := corpus(s.messages, 1)
	var total int
	for _, m := range msgs {
		total += len(m)
	}
	fmt.Printf("corpus: %d messages per mailbox, %.1f MB, median %d octets; %d mailboxes; in %s\n",
		len(msgs), float64(total)/1e6, rig.MedianSize(msgs), s.users, s.dir)
	if s.hasEngine("sqlite") {
		t := time.Now()
		if err := seedGatehouse(ctx, filepath.Join(s.dir, "gatehouse", "gatehouse.db"), s.users, msgs, password); err != nil {
			return fmt.Errorf("seed Gatehouse: %w", err)
		}
		fmt.Printf("seeded Gatehouse on SQLite in %v\n", time.Since(t).Round(time.Millisecond))
	}
	if s.hasEngine("postgres") {
		t := time.Now()
		if err := rig.CreateDatabase(ctx, s.pgAdmin, s.pgDB); err != nil {
			return err
		}
		if err := seedGatehouse(ctx, s.pgDSN(), s.users, msgs, password); err != nil {
			return fmt.Errorf("seed Gatehouse on PostgreSQL: %w", err)
		}
		fmt.Printf("seeded Gatehouse on PostgreSQL in %v\n", time.Since(t).Round(time.Millisecond))
	}
	if err := seedDovecot(filepath.Join(s.dir, "dovecot"), s.dovecotPort, s.users, msgs, password, !s.dovecotStock); err != nil {
		return fmt.Errorf("seed Dovecot: %w", err)
	}
	return nil
}

func seedCmd(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	var s seedFlags
	s.register(fs)
	fs.Parse(args)
	return s.seed(context.Background())
}

// server is a server under test.
type server struct {
	name string
	addr string
	stop func()
}

// startGatehouse serves db (a SQLite file or a PostgreSQL DSN) from a child
// process.
func startGatehouse(name, db string) (*server, error) {
	addr, stop, err := rig.StartChild(db)
	if err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	return &server{name: name, addr: addr, stop: stop}, nil
}

func startDovecot(dir string, port int) (*server, error) {
	addr, stop, err := dovecot.Start(filepath.Join(dir, "dovecot"), port, "dovecot-pop3d")
	if err != nil {
		return nil, err
	}
	return &server{name: "Dovecot", addr: addr, stop: stop}, nil
}

func compareCmd(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	var s seedFlags
	s.register(fs)
	rounds := fs.Int("rounds", 5, "measured runs per server and session count")
	pipeline := fs.Int("pipeline", 1, "RETR commands in flight")
	// One session of 1,000 messages lasts 40-80 ms here: a round of one
	// session each moved by up to ±40 % between rounds of one server,
	// more than the differences it was to show (docs/performance.md).
	repeat := fs.Int("repeat", 10, "whole sessions each concurrent worker runs one after another in a round")
	keep := fs.Bool("keep", false, "keep the working directory")
	fs.Parse(args)
	ctx := context.Background()
	if err := s.seed(ctx); err != nil {
		return err
	}
	// Every RETR is checked against the messages seeded.
	msgSums := sums(corpus(s.messages, 1))
	if !*keep {
		defer os.RemoveAll(s.dir)
	}
	var servers []*server
	defer func() {
		for _, srv := range servers {
			srv.stop()
		}
	}()
	if s.hasEngine("sqlite") {
		gh, err := startGatehouse("Gatehouse/SQLite", filepath.Join(s.dir, "gatehouse", "gatehouse.db"))
		if err != nil {
			return err
		}
		servers = append(servers, gh)
	}
	if s.hasEngine("postgres") {
		gh, err := startGatehouse("Gatehouse/PostgreSQL", s.pgDSN())
		if err != nil {
			return err
		}
		servers = append(servers, gh)
	}
	dc, err := startDovecot(s.dir, s.dovecotPort)
	if err != nil {
		return err
	}
	servers = append(servers, dc)

	// Warm up: Dovecot builds its indexes, Gatehouse fills the credential
	// cache and the page cache; neither is measured.
	for _, srv := range servers {
		if _, err := runLoad(loadConfig{Addr: srv.addr, Password: password, Sessions: s.users, Repeat: 1, Pipeline: *pipeline, Timeout: 5 * time.Minute, Sums: msgSums}); err != nil {
			return fmt.Errorf("%s warm-up: %w", srv.name, err)
		}
	}

	type key struct {
		server   string
		sessions int
	}
	res := map[key][]result{}
	sessionCounts := []int{1}
	if s.users >= 4 {
		sessionCounts = append(sessionCounts, 4)
	}
	for _, n := range sessionCounts {
		for r := range *rounds {
			// Alternate the order so that none always runs first.
			order := slices.Clone(servers)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, srv := range order {
				out, err := runLoad(loadConfig{Addr: srv.addr, Password: password, Sessions: n, Repeat: max(*repeat, 1), Pipeline: *pipeline, Timeout: 5 * time.Minute, Sums: msgSums})
				if err != nil {
					return fmt.Errorf("%s, %d sessions: %w", srv.name, n, err)
				}
				res[key{srv.name, n}] = append(res[key{srv.name, n}], out)
			}
		}
	}
	dcConf := "tuned"
	if s.dovecotStock {
		dcConf = "stock"
	}
	fmt.Printf("\nPOP3 download, %d messages per session, %d sessions one after another per worker and round, RETR pipeline depth %d, Dovecot %s, %d rounds (median; min-max)\n\n",
		s.messages, max(*repeat, 1), *pipeline, dcConf, *rounds)
	fmt.Println("| sessions | server | messages/s | MB/s |")
	fmt.Println("|---|---|---|---|")
	for _, n := range sessionCounts {
		med := make([]float64, len(servers))
		for i, srv := range servers {
			rs := res[key{srv.name, n}]
			m, lo, hi := stats(rs, result.msgsPerSec)
			mb, _, _ := stats(rs, result.mbPerSec)
			med[i] = m
			fmt.Printf("| %d | %s | %.0f (%.0f-%.0f) | %.1f |\n", n, srv.name, m, lo, hi, mb)
		}
		// Dovecot is the last server.
		for i, srv := range servers[:len(servers)-1] {
			fmt.Printf("| %d | ratio %s/Dovecot | %.2fx | |\n", n, srv.name, med[i]/med[len(med)-1])
		}
	}
	return nil
}

func stats(rs []result, f func(result) float64) (med, lo, hi float64) {
	if len(rs) == 0 {
		return 0, 0, 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2], v[0], v[len(v)-1]
}
