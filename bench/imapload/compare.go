package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

// server is one server under test.
type server struct {
	name string
	addr string
	stop func()
}

func startGatehouse(name, db string) (*server, error) {
	addr, stop, err := rig.StartChild(db)
	if err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	return &server{name: name, addr: addr, stop: stop}, nil
}

func startDovecot(dir string, port int) (*server, error) {
	if _, err := os.Stat("/usr/lib/dovecot/imap"); err != nil {
		return nil, fmt.Errorf("dovecot's IMAP service is not installed (apt-get install dovecot-imapd): %w", err)
	}
	addr, stop, err := dovecot.Start(dir, port, "dovecot-imapd")
	if err != nil {
		return nil, err
	}
	return &server{name: "Dovecot", addr: addr, stop: stop}, nil
}

func compareCmd(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	var s seedFlags
	s.register(fs)
	dur := fs.Duration("duration", 20*time.Second, "measured time per load and server")
	rounds := fs.Int("rounds", 2, "measured runs per load and server (the order alternates)")
	clients := fs.Int("clients", 20, "concurrent clients")
	keep := fs.Bool("keep", false, "keep the working directory")
	loadList := fs.String("loads", "cycle,fetch,mixed,mixed-login", "loads to run, in order")
	fs.Parse(args)
	loads := strings.Split(*loadList, ",")
	for _, l := range loads {
		if _, ok := loadLabels[l]; !ok {
			return fmt.Errorf("unknown load %q (cycle, fetch, mixed, mixed-login, imaptest)", l)
		}
	}
	ctx := context.Background()
	if err := s.seed(ctx); err != nil {
		return err
	}
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
	dc, err := startDovecot(filepath.Join(s.dir, "dovecot"), s.dovecotPort)
	if err != nil {
		return err
	}
	servers = append(servers, dc)

	// Warm up: Dovecot builds its indexes, Gatehouse fills the credential
	// cache and the page cache; neither is measured.
	for _, srv := range servers {
		for _, mode := range loads {
			res, err := runLoad(loadConfig{Addr: srv.addr, Mode: mode, Clients: min(s.users, *clients), Users: s.users, Duration: 2 * time.Second, Messages: s.messages})
			if err != nil {
				return fmt.Errorf("%s warm-up (%s): %w", srv.name, mode, err)
			}
			if res.Wrong > 0 {
				fmt.Printf("%s warm-up (%s): %d wrong answers; first: %v\n", srv.name, mode, res.Wrong, res.FirstWrong)
			}
		}
	}
	all := map[string]map[string][]result{}
	for _, mode := range loads {
		for r := range *rounds {
			order := append([]*server(nil), servers...)
			if r%2 == 1 {
				for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
					order[i], order[j] = order[j], order[i]
				}
			}
			for _, srv := range order {
				res, err := runLoad(loadConfig{Addr: srv.addr, Mode: mode, Clients: *clients, Users: s.users, Duration: *dur, Messages: s.messages})
				if err != nil {
					return fmt.Errorf("%s, %s: %w", srv.name, mode, err)
				}
				res.print(os.Stdout, srv.name)
				if all[mode] == nil {
					all[mode] = map[string][]result{}
				}
				all[mode][srv.name] = append(all[mode][srv.name], res)
			}
		}
	}
	fmt.Printf("\nIMAP4 load, %d clients over %d users, %d messages each, %v per run, %d runs (median of runs)\n\n", *clients, s.users, s.messages, *dur, *rounds)
	fmt.Println("| load | server | ops/s | p50 | p90 | p99 | ratio to Dovecot | errors | checks | wrong |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, mode := range loads {
		dov := medianOps(all[mode]["Dovecot"])
		for _, srv := range servers {
			rs := all[mode][srv.name]
			ops := medianOps(rs)
			key := "FETCH"
			if mode == "cycle" {
				key = "CYCLE"
			}
			lat := mergedLatencies(rs, key)
			var errs, checked, wrong int
			for _, r := range rs {
				errs, checked, wrong = errs+r.Errors, checked+r.Checked, wrong+r.Wrong
			}
			fmt.Printf("| %s | %s | %.0f | %v | %v | %v | %.2fx | %d | %d | %d |\n", loadLabels[mode], srv.name, ops,
				percentile(lat, .5).Round(10*time.Microsecond), percentile(lat, .9).Round(10*time.Microsecond),
				percentile(lat, .99).Round(10*time.Microsecond), ops/dov, errs, checked, wrong)
		}
	}
	for _, mode := range loads {
		if _, ok := profiles[mode]; !ok {
			continue
		}
		fmt.Printf("\n%s: median (p90) per command, ms\n\n", loadLabels[mode])
		fmt.Printf("| server |")
		for _, cmd := range mixedCommands {
			fmt.Printf(" %s |", cmd)
		}
		fmt.Printf("\n|---|%s\n", strings.Repeat("---|", len(mixedCommands)))
		for _, srv := range servers {
			fmt.Printf("| %s |", srv.name)
			for _, cmd := range mixedCommands {
				lat := mergedLatencies(all[mode][srv.name], cmd)
				if len(lat) == 0 {
					fmt.Printf(" – |")
					continue
				}
				fmt.Printf(" %.1f (%.1f) |", ms(percentile(lat, .5)), ms(percentile(lat, .9)))
			}
			fmt.Println()
		}
	}
	return nil
}

// loadLabels name the loads in the summary tables.
var loadLabels = map[string]string{
	"cycle":       "login cycles",
	"fetch":       "steady FETCH",
	"mixed":       "mixed FETCH, login once",
	"mixed-login": "mixed FETCH, login per cycle",
	"imaptest":    "imaptest-style mix FETCH, login per cycle",
}

// mixedCommands are the columns of the mixed loads' latency table.
var mixedCommands = []string{"LOGIN", "LIST", "STATUS", "SELECT", "FETCH", "COPY", "STORE", "APPEND", "STORE-DEL", "EXPUNGE", "CYCLE"}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mergedLatencies returns the latencies of key over all runs, sorted.
func mergedLatencies(rs []result, key string) []time.Duration {
	var lat []time.Duration
	for _, r := range rs {
		lat = append(lat, r.Lat[key]...)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

func medianOps(rs []result) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.opsPerSec()
	}
	sort.Float64s(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}
