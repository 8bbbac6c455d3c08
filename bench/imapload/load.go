package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
)

type loadConfig struct {
	Addr     string
	Mode     string // "cycle", "fetch" or a mixed load's name (profiles)
	Clients  int
	Users    int
	Duration time.Duration
	// Messages is how many messages each user's INBOX was seeded with
	// (corpus(Messages, 1)): what the verifier knows besides the mixed
	// loads' APPENDs.
	Messages int

	verify *verifier // set by runLoad
}

// result is one load run.
type result struct {
	Mode     string
	Clients  int
	Elapsed  time.Duration
	Ops      int // cycles or FETCH commands
	Errors   int
	FirstErr error
	// Checked counts the checks the verifier made of FETCH responses (a
	// message's body, its header fields, its ENVELOPE), Wrong the wrong
	// answers among them and the commands around them; FirstWrong
	// describes the first (verify.go).
	Checked    int
	Wrong      int
	FirstWrong error
	// Latencies per command name.
	Lat map[string][]time.Duration
}

func (r result) opsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// percentile returns the p-th percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func (r result) print(w io.Writer, name string) {
	unit := "cycles"
	if r.Mode != "cycle" {
		unit = "FETCH"
	}
	fmt.Fprintf(w, "%s: %s load, %d clients, %v: %d %s, %.0f/s, %d errors, %d checks, %d wrong\n", name, r.Mode, r.Clients,
		r.Elapsed.Round(time.Millisecond), r.Ops, unit, r.opsPerSec(), r.Errors, r.Checked, r.Wrong)
	var names []string
	for k := range r.Lat {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d := r.Lat[k]
		fmt.Fprintf(w, "  %-8s n=%-7d p50 %-9v p90 %-9v p99 %-9v max %v\n", k, len(d),
			percentile(d, .5).Round(10*time.Microsecond), percentile(d, .9).Round(10*time.Microsecond),
			percentile(d, .99).Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
	}
	if r.FirstErr != nil {
		fmt.Fprintf(w, "  first error: %v\n", r.FirstErr)
	}
	if r.FirstWrong != nil {
		fmt.Fprintf(w, "  first wrong answer: %v\n", r.FirstWrong)
	}
}

// runLoad runs one load for the configured duration.
func runLoad(cfg loadConfig) (result, error) {
	var mu sync.Mutex
	res := result{Mode: cfg.Mode, Clients: cfg.Clients, Lat: map[string][]time.Duration{}}
	cfg.verify = newVerifier(cfg.Messages)
	record := func(lat map[string][]time.Duration, ops, errs int, first error) {
		mu.Lock()
		defer mu.Unlock()
		for k, v := range lat {
			res.Lat[k] = append(res.Lat[k], v...)
		}
		res.Ops += ops
		res.Errors += errs
		if res.FirstErr == nil {
			res.FirstErr = first
		}
	}
	var work func(id int, stop <-chan struct{})
	switch cfg.Mode {
	case "cycle":
		work = func(id int, stop <-chan struct{}) { record(cycleWorker(cfg, id, stop)) }
	case "fetch":
		work = func(id int, stop <-chan struct{}) { record(fetchWorker(cfg, id, stop)) }
	default:
		p, ok := profiles[cfg.Mode]
		if !ok {
			return res, fmt.Errorf("unknown mode %q", cfg.Mode)
		}
		work = func(id int, stop <-chan struct{}) { record(mixedWorker(cfg, id, stop, p)) }
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(i, stop)
		}()
	}
	time.Sleep(cfg.Duration)
	close(stop)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Checked, res.Wrong, res.FirstWrong = cfg.verify.checked, cfg.verify.wrong, cfg.verify.first
	for k := range res.Lat {
		slices.Sort(res.Lat[k])
	}
	if res.Ops == 0 {
		return res, fmt.Errorf("no operation succeeded: %v", res.FirstErr)
	}
	return res, nil
}

const cmdTimeout = 30 * time.Second

// timed runs one command and records its latency under name.
func timed(lat map[string][]time.Duration, name string, c *client, onLine func([]byte), format string, args ...any) error {
	t := time.Now()
	_, err := c.cmd(cmdTimeout, onLine, format, args...)
	lat[name] = append(lat[name], time.Since(t))
	return err
}

// cycleWorker repeats whole sessions until stop.
func cycleWorker(cfg loadConfig, id int, stop <-chan struct{}) (map[string][]time.Duration, int, int, error) {
	lat := map[string][]time.Duration{}
	user := rig.UserName(id % max(cfg.Users, 1))
	rng := rand.New(rand.NewPCG(uint64(id), 1))
	ops, errs := 0, 0
	var first error
	fail := func(err error) {
		errs++
		if first == nil {
			first = err
		}
	}
	for {
		select {
		case <-stop:
			return lat, ops, errs, first
		default:
		}
		t := time.Now()
		c, err := dial(cfg.Addr, cmdTimeout)
		lat["CONNECT"] = append(lat["CONNECT"], time.Since(t))
		if err != nil {
			fail(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		err = func() error {
			defer c.close()
			if err := timed(lat, "LOGIN", c, nil, "LOGIN %s %s", user, password); err != nil {
				return fmt.Errorf("LOGIN: %w", err)
			}
			if err := timed(lat, "SELECT", c, nil, "SELECT INBOX"); err != nil {
				return fmt.Errorf("SELECT: %w", err)
			}
			f := &fetchCollector{c: c}
			f.start()
			err := timed(lat, "FETCH", c, f.line, "FETCH 1:10 (UID FLAGS RFC822.SIZE ENVELOPE)")
			f.stop()
			if err != nil {
				return fmt.Errorf("FETCH: %w", err)
			}
			cfg.verify.checkSummaries(user, f, 1, 10)
			if err := timed(lat, "SEARCH", c, nil, "UID SEARCH SUBJECT %s", subjectWords[rng.IntN(len(subjectWords))]); err != nil {
				return fmt.Errorf("SEARCH: %w", err)
			}
			n := 1 + rng.IntN(10)
			if err := timed(lat, "STORE", c, nil, "STORE %d +FLAGS (\\Flagged)", n); err != nil {
				return fmt.Errorf("STORE: %w", err)
			}
			if err := timed(lat, "STORE", c, nil, "STORE %d -FLAGS (\\Flagged)", n); err != nil {
				return fmt.Errorf("STORE: %w", err)
			}
			if err := timed(lat, "LOGOUT", c, nil, "LOGOUT"); err != nil {
				return fmt.Errorf("LOGOUT: %w", err)
			}
			return nil
		}()
		lat["CYCLE"] = append(lat["CYCLE"], time.Since(t))
		if err != nil {
			fail(err)
			continue
		}
		ops++
	}
}

// fetchWorker logs in once and fetches random messages until stop.
func fetchWorker(cfg loadConfig, id int, stop <-chan struct{}) (map[string][]time.Duration, int, int, error) {
	lat := map[string][]time.Duration{}
	user := rig.UserName(id % max(cfg.Users, 1))
	c, err := dial(cfg.Addr, cmdTimeout)
	if err != nil {
		return lat, 0, 1, err
	}
	defer c.close()
	if _, err := c.cmd(cmdTimeout, nil, "LOGIN %s %s", user, password); err != nil {
		return lat, 0, 1, fmt.Errorf("LOGIN: %w", err)
	}
	var uids []uint32
	if _, err := c.cmd(cmdTimeout, nil, "SELECT INBOX"); err != nil {
		return lat, 0, 1, fmt.Errorf("SELECT: %w", err)
	}
	if _, err := c.cmd(cmdTimeout, func(l []byte) {
		if f := bytes.Fields(l); len(f) > 2 && string(f[1]) == "SEARCH" {
			for _, x := range f[2:] {
				if n, err := strconv.ParseUint(string(x), 10, 32); err == nil {
					uids = append(uids, uint32(n))
				}
			}
		}
	}, "UID SEARCH ALL"); err != nil || len(uids) == 0 {
		return lat, 0, 1, fmt.Errorf("UID SEARCH ALL: %v (%d UIDs)", err, len(uids))
	}
	rng := rand.New(rand.NewPCG(uint64(id), 2))
	ops, errs := 0, 0
	var first error
	for {
		select {
		case <-stop:
			c.cmd(cmdTimeout, nil, "LOGOUT")
			return lat, ops, errs, first
		default:
		}
		u := uids[rng.IntN(len(uids))]
		f := &fetchCollector{c: c}
		f.start()
		err := timed(lat, "FETCH", c, f.line, "UID FETCH %d (FLAGS BODY.PEEK[])", u)
		f.stop()
		if err != nil {
			errs++
			if first == nil {
				first = err
			}
			return lat, ops, errs, first
		}
		cfg.verify.checkBodies(user, f, []int{int(u)}, true, 0)
		ops++
	}
}
