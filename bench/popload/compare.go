package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
}

func (s *seedFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "", "working directory (default: a new temporary one)")
	fs.IntVar(&s.users, "users", 4, "mailboxes, one per concurrent session")
	fs.IntVar(&s.messages, "messages", 1000, "messages per mailbox")
	fs.IntVar(&s.dovecotPort, "dovecot-port", 21110, "loopback port for Dovecot")
	fs.BoolVar(&s.dovecotStock, "dovecot-stock", false, "run Dovecot without the performance settings")
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
	t := time.Now()
	if err := seedGatehouse(ctx, filepath.Join(s.dir, "gatehouse", "gatehouse.db"), s.users, msgs, password); err != nil {
		return fmt.Errorf("seed Gatehouse: %w", err)
	}
	fmt.Printf("seeded Gatehouse in %v\n", time.Since(t).Round(time.Millisecond))
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

func startGatehouse(dir string) (*server, error) {
	addr, stop, err := rig.StartChild(filepath.Join(dir, "gatehouse", "gatehouse.db"))
	if err != nil {
		return nil, fmt.Errorf("gatehouse %w", err)
	}
	return &server{name: "Gatehouse", addr: addr, stop: stop}, nil
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
	keep := fs.Bool("keep", false, "keep the working directory")
	fs.Parse(args)
	ctx := context.Background()
	if err := s.seed(ctx); err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(s.dir)
	}
	gh, err := startGatehouse(s.dir)
	if err != nil {
		return err
	}
	defer gh.stop()
	dc, err := startDovecot(s.dir, s.dovecotPort)
	if err != nil {
		return err
	}
	defer dc.stop()
	servers := []*server{gh, dc}

	// Warm up: Dovecot builds its indexes, Gatehouse fills the credential
	// cache and the page cache; neither is measured.
	for _, srv := range servers {
		if _, err := runLoad(loadConfig{Addr: srv.addr, Password: password, Sessions: s.users, Repeat: 1, Pipeline: *pipeline, Timeout: 5 * time.Minute}); err != nil {
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
			// Alternate the order so that neither always runs first.
			order := servers
			if r%2 == 1 {
				order = []*server{dc, gh}
			}
			for _, srv := range order {
				out, err := runLoad(loadConfig{Addr: srv.addr, Password: password, Sessions: n, Repeat: 1, Pipeline: *pipeline, Timeout: 5 * time.Minute})
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
	fmt.Printf("\nPOP3 download, %d messages per session, RETR pipeline depth %d, Dovecot %s, %d rounds (median; min-max)\n\n", s.messages, *pipeline, dcConf, *rounds)
	fmt.Println("| sessions | server | messages/s | MB/s |")
	fmt.Println("|---|---|---|---|")
	for _, n := range sessionCounts {
		var med [2]float64
		for i, srv := range servers {
			rs := res[key{srv.name, n}]
			m, lo, hi := stats(rs, result.msgsPerSec)
			mb, _, _ := stats(rs, result.mbPerSec)
			med[i] = m
			fmt.Printf("| %d | %s | %.0f (%.0f-%.0f) | %.1f |\n", n, srv.name, m, lo, hi, mb)
		}
		fmt.Printf("| %d | ratio Gatehouse/Dovecot | %.2fx | |\n", n, med[0]/med[1])
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
