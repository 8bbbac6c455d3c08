package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/rig"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// The idle-session comparison (docs/performance.md, section 3): n
// sessions that log in, SELECT INBOX and IDLE, on Gatehouse (SQLite,
// the serve child) and Dovecot side by side; the memory a session costs
// is the growth of the proportional set size (PSS, from
// /proc/PID/smaps_rollup) of the server's whole process tree over the
// same tree with no session, divided by n. Dovecot runs one imap
// process per session, so its tree is the master and every child
// (logins, auth, imap processes); Gatehouse is one process, which is
// asked (SIGUSR1 to imapload serve) to collect garbage and return the
// free heap before each reading, as BenchmarkIdleMemory does in process:
// without it the figure is the collector's timing, not the sessions.

func idleCmd(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	sessionList := fs.String("sessions", "100,300,1000", "idle session counts to measure, in order")
	users := fs.Int("users", 20, "users to spread the sessions over")
	dir := fs.String("dir", "", "working directory (default: a new temporary one, removed at the end)")
	port := fs.Int("dovecot-port", 10145, "Dovecot's IMAP port")
	rounds := fs.Int("rounds", 2, "measured runs per count and server")
	fs.Parse(args)
	var counts []int
	for _, f := range strings.Split(*sessionList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("-sessions: %q is not a count from 1 to 1000 (Dovecot's process_limit is 1024)", f)
		}
		counts = append(counts, n)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "imapload-idle")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if err := os.Chmod(*dir, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	msgs := corpus(idleMessages, 1)
	db := filepath.Join(*dir, "gatehouse.db")
	st, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		return err
	}
	err = rig.Seed(ctx, st, *users, msgs, password)
	st.Close()
	if err != nil {
		return fmt.Errorf("seed Gatehouse: %w", err)
	}
	dcDir := filepath.Join(*dir, "dovecot")
	if err := seedDovecot(dcDir, *port, *users, msgs); err != nil {
		return fmt.Errorf("seed Dovecot: %w", err)
	}
	gh, err := startGatehouse("Gatehouse/SQLite", db)
	if err != nil {
		return err
	}
	defer gh.stop()
	dc, err := startDovecot(dcDir, *port)
	if err != nil {
		return err
	}
	defer dc.stop()
	// The process trees: found by their command lines.
	roots := map[string]string{gh.name: "serve\x00-db\x00" + db, dc.name: filepath.Join(dcDir, "dovecot.conf")}
	collects := map[string]bool{gh.name: true}
	servers := []*server{gh, dc}
	type fig struct{ perSession []float64 } // kB per session, per run
	figs := map[int]map[string]*fig{}
	for _, n := range counts {
		figs[n] = map[string]*fig{}
		for r := range *rounds {
			order := servers
			if r%2 == 1 {
				order = []*server{servers[1], servers[0]}
			}
			for _, srv := range order {
				// warm-up: every user logs in once (credential caches,
				// Dovecot's index files of each INBOX)
				warm, err := openIdle(srv.addr, *users, *users)
				closeAll(warm)
				if err != nil {
					return fmt.Errorf("%s warm-up: %w", srv.name, err)
				}
				time.Sleep(2 * time.Second) // let closed sessions' processes go
				base, procs0, err := treePSS(roots[srv.name], collects[srv.name])
				if err != nil {
					return err
				}
				cs, err := openIdle(srv.addr, n, *users)
				if err != nil {
					closeAll(cs)
					return fmt.Errorf("%s, %d sessions: %w", srv.name, n, err)
				}
				time.Sleep(2 * time.Second)
				with, procs, err := treePSS(roots[srv.name], collects[srv.name])
				if err == nil {
					// The sessions measured must still be there, idling.
					if eerr := endIdle(cs); eerr != nil {
						err = fmt.Errorf("%s, %d sessions: %w", srv.name, n, eerr)
					}
				}
				closeAll(cs)
				if err != nil {
					return err
				}
				per := float64(with-base) / float64(n)
				if figs[n][srv.name] == nil {
					figs[n][srv.name] = &fig{}
				}
				figs[n][srv.name].perSession = append(figs[n][srv.name].perSession, per)
				fmt.Printf("%d sessions, run %d: %s PSS %d kB with none (%d processes), %d kB with them (%d processes): %.1f kB a session\n",
					n, r+1, srv.name, base, procs0, with, procs, per)
				time.Sleep(2 * time.Second)
			}
		}
	}
	fmt.Printf("\nIdle IMAP sessions (LOGIN, SELECT INBOX, IDLE), PSS growth of the server's process tree per session, %d runs\n\n", *rounds)
	fmt.Println("| sessions | Gatehouse/SQLite (kB a session) | Dovecot (kB a session) | Dovecot / Gatehouse |")
	fmt.Println("|---|---|---|---|")
	for _, n := range counts {
		g, d := figs[n][gh.name].perSession, figs[n][dc.name].perSession
		lo, hi := 0.0, 0.0
		for i := range min(len(g), len(d)) {
			r := d[i] / g[i]
			if i == 0 || r < lo {
				lo = r
			}
			if i == 0 || r > hi {
				hi = r
			}
		}
		fmt.Printf("| %d | %s | %s | %.0f–%.0f× |\n", n, kbRange(g), kbRange(d), lo, hi)
	}
	return nil
}

func kbRange(v []float64) string {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.1f–%.1f", lo, hi)
}

// openIdle opens n sessions, spread over users, each in IDLE on INBOX.
func openIdle(addr string, n, users int) ([]*client, error) {
	var cs []*client
	for i := range n {
		c, err := dial(addr, time.Minute)
		if err != nil {
			return cs, err
		}
		cs = append(cs, c)
		if _, err := c.cmd(time.Minute, nil, "LOGIN %s %s", rig.UserName(i%users), password); err != nil {
			return cs, fmt.Errorf("LOGIN: %w", err)
		}
		exists, err := c.selectExists(time.Minute)
		if err != nil {
			return cs, fmt.Errorf("SELECT: %w", err)
		}
		if exists != idleMessages {
			return cs, fmt.Errorf("SELECT INBOX of %s: %d EXISTS; want %d", rig.UserName(i%users), exists, idleMessages)
		}
		fmt.Fprintf(c.w, "i IDLE\r\n")
		if err := c.w.Flush(); err != nil {
			return cs, err
		}
		for {
			l, err := c.readLine()
			if err != nil {
				return cs, fmt.Errorf("IDLE: %w", err)
			}
			if bytes.HasPrefix(l, []byte("+")) {
				break
			}
			if bytes.HasPrefix(l, []byte("i ")) {
				return cs, fmt.Errorf("IDLE: %s", l)
			}
		}
		c.nc.SetDeadline(time.Time{})
	}
	return cs, nil
}

// idleMessages is how many messages each idle user's INBOX holds.
const idleMessages = 10

// endIdle ends the IDLE of every session and checks that each answers it
// with OK: the sessions measured were alive and idling, not dropped.
func endIdle(cs []*client) error {
	for i, c := range cs {
		c.nc.SetDeadline(time.Now().Add(time.Minute))
		if _, err := c.w.WriteString("DONE\r\n"); err != nil {
			return fmt.Errorf("session %d: DONE: %w", i+1, err)
		}
		if err := c.w.Flush(); err != nil {
			return fmt.Errorf("session %d: DONE: %w", i+1, err)
		}
	}
	for i, c := range cs {
		for {
			l, err := c.readLine()
			if err != nil {
				return fmt.Errorf("session %d, after IDLE: %w", i+1, err)
			}
			if bytes.HasPrefix(l, []byte("i ")) {
				if !bytes.HasPrefix(l, []byte("i OK")) {
					return fmt.Errorf("session %d: IDLE ended with %q", i+1, l)
				}
				break
			}
		}
	}
	return nil
}

func closeAll(cs []*client) {
	for _, c := range cs {
		c.close()
	}
}

// treePSS sums the PSS (kB) of the process whose command line contains
// match and of all its descendants, and counts them; with collect, the
// process is first sent SIGUSR1 (imapload serve: collect garbage and
// return the free heap), twice, as a finalizer can free more.
func treePSS(match string, collect bool) (int64, int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	children := map[int][]int{}
	root := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// the fields after the command name, which may hold spaces
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
		if cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(cmdline, []byte(match)) && root == 0 {
			root = pid
		}
	}
	if root == 0 {
		return 0, 0, fmt.Errorf("no process runs %q", match)
	}
	if collect {
		for range 2 {
			if err := syscall.Kill(root, syscall.SIGUSR1); err != nil {
				return 0, 0, err
			}
			time.Sleep(time.Second)
		}
	}
	var total int64
	procs := 0
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		stack = append(stack, children[pid]...)
		kb, err := pssKB(pid)
		if err != nil {
			continue // gone meanwhile
		}
		total += kb
		procs++
	}
	return total, procs, nil
}

func pssKB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "Pss:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no Pss in /proc/%d/smaps_rollup", pid)
}
