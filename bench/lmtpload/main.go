// Command lmtpload measures durable LMTP deliveries per second with 1 and 8
// concurrent clients, against Gatehouse on SQLite, Gatehouse on PostgreSQL
// and Dovecot's LMTP (Debian's dovecot-lmtpd), in one run on one machine,
// with the same messages (docs/ARCHITECTURE.md, Performance targets: ratios
// from one run are the figures that count).
//
//	go run ./bench/lmtpload                      # everything, 3 rounds each
//	go run ./bench/lmtpload -targets sqlite -clients 8 -messages 5000
//	go run ./bench/lmtpload -targets sqlite -bin /tmp/gatehouse-a   # A/B: a prebuilt binary
//
// For Gatehouse it also prints the server's CPU time per delivery (user and
// system, from /proc/PID/stat of the server process, the median run's):
// a figure the machine's load disturbs far less than deliveries per second.
// On PostgreSQL that excludes the database server's own CPU.
//
// After each run, with the server stopped, it reads every recipient's
// INBOX back and checks that each message answered 250 is there once and
// whole, in the INBOX of the recipient it was sent to (verify.go); a run
// that fails the check ends lmtpload with the messages named.
//
// Gatehouse runs as the real binary (built from ./cmd/gatehouse), Dovecot
// from /usr/sbin/dovecot with a generated configuration (Maildir,
// mail_fsync = optimized: it fsyncs every delivery before answering, as
// Gatehouse commits with synchronous=FULL before answering).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
)

var recipients = []string{"christa", "kim", "ben", "david", "pilar", "christa.lee"}

func main() {
	targets := flag.String("targets", "sqlite,postgres,dovecot", "what to measure: sqlite, postgres, dovecot")
	clientsFlag := flag.String("clients", "1,8", "concurrent LMTP clients, comma-separated")
	messages := flag.Int("messages", 2000, "messages per measurement")
	runs := flag.Int("runs", 3, "measurements per target and client count (the median is reported)")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server for the postgres target")
	prebuilt := flag.String("bin", "", "a gatehouse binary to run instead of building ./cmd/gatehouse")
	flag.Parse()

	dir, err := os.MkdirTemp("", "lmtpload-")
	check(err)
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := *prebuilt
	if bin == "" {
		bin = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse").CombinedOutput()
		if err != nil {
			fatalf("build gatehouse (run from the repository root): %v\n%s", err, out)
		}
	}
	msgs := corpus(*messages)
	sizes := make([]int, len(msgs))
	total := 0
	for i, m := range msgs {
		sizes[i] = len(m)
		total += len(m)
	}
	slices.Sort(sizes)
	var clients []int
	for _, c := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		check(err)
		clients = append(clients, n)
	}
	fmt.Printf("corpus: %d messages, median %d octets, %.1f MB; %d runs each; %s\n", len(msgs), sizes[len(sizes)/2],
		float64(total)/1e6, *runs, time.Now().Format(time.RFC3339))
	fmt.Printf("%-22s %8s %12s %12s %12s %14s\n", "target", "clients", "msgs/s (med)", "min", "max", "server µs CPU")
	// Rounds interleave the targets (sqlite, postgres, dovecot, sqlite,
	// ...), so that a change in the machine's load over the run falls on
	// every target alike; the ratios of one run are the figures that count.
	type result struct{ rate, cpu float64 }
	type key struct {
		target  string
		clients int
	}
	var order []key
	for _, c := range clients {
		for _, t := range strings.Split(*targets, ",") {
			order = append(order, key{strings.TrimSpace(t), c})
		}
	}
	res := map[key][]result{}
	landed := 0
	for r := 0; r < *runs; r++ {
		for _, k := range order {
			addr, pid, stop, inboxes := start(k.target, dir, bin, *pg, r, k.clients)
			cpu0 := cpuTime(pid)
			rate := load(addr, msgs, k.clients)
			cpu := cpuTime(pid) - cpu0
			stop()
			// What was answered 250 must be in the INBOXes (verify.go).
			got, err := inboxes()
			if err != nil {
				fatalf("%s, %d clients, run %d: read the INBOXes back: %v", k.target, k.clients, r+1, err)
			}
			n, err := checkLanded(got, msgs)
			if err != nil {
				fatalf("%s, %d clients, run %d: deliveries answered 250 did not land as sent:\n%v", k.target, k.clients, r+1, err)
			}
			landed += n
			res[k] = append(res[k], result{rate, cpu.Seconds() * 1e6 / float64(len(msgs))})
		}
	}
	median := func(rs []result) result {
		rs = slices.Clone(rs)
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rate, b.rate) })
		return rs[len(rs)/2]
	}
	for _, k := range order {
		rs := res[k]
		lo := slices.MinFunc(rs, func(a, b result) int { return cmp.Compare(a.rate, b.rate) })
		hi := slices.MaxFunc(rs, func(a, b result) int { return cmp.Compare(a.rate, b.rate) })
		cpu := "-"
		if med := median(rs); med.cpu > 0 {
			cpu = fmt.Sprintf("%.0f", med.cpu)
		}
		fmt.Printf("%-22s %8d %12.0f %12.0f %12.0f %14s\n", k.target, k.clients, median(rs).rate, lo.rate, hi.rate, cpu)
	}
	// Each Gatehouse target against Dovecot: the ratio of the medians and
	// that of each round (the two measured one after the other).
	for _, k := range order {
		d := res[key{"dovecot", k.clients}]
		if k.target == "dovecot" || len(d) == 0 {
			continue
		}
		g := res[k]
		var each []string
		for r := range g {
			each = append(each, fmt.Sprintf("%.2f", g[r].rate/d[r].rate))
		}
		fmt.Printf("ratio %s/dovecot, %d clients: %.2fx (rounds: %s)\n", k.target, k.clients, median(g).rate/median(d).rate, strings.Join(each, ", "))
	}
	fmt.Printf("read back after each run: %d deliveries, each once and whole in its recipient's INBOX\n", landed)
}

// cpuTime is the user and system CPU time of process pid so far (0 for
// pid 0 or when /proc cannot tell).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux whatever the kernel's HZ.
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// start starts a fresh instance of a target and returns its LMTP address,
// for Gatehouse the server's process ID, the function that stops it and
// the one that then reads its recipients' INBOXes.
func start(target, dir, bin, pg string, run, clients int) (string, int, func(), func() (map[string][][]byte, error)) {
	name := fmt.Sprintf("%s-%d-%d", target, clients, run)
	switch target {
	case "sqlite", "postgres":
		database := filepath.Join(dir, name, "gatehouse.db")
		args := []string{"serve", "--data", filepath.Join(dir, name), "--demo",
			"--imap", "", "--imaps", "", "--pop3", "", "--pop3s", "", "--smtp", "", "--admin", "", "--submission", "", "--submissions", "",
			"--lmtp", "127.0.0.1:0", "--log-level", "warn"}
		if target == "postgres" {
			db, err := sql.Open("pgx", pg)
			check(err)
			dbname := "lmtpload_" + strings.ReplaceAll(name, "-", "_")
			db.Exec("DROP DATABASE IF EXISTS " + dbname)
			_, err = db.Exec("CREATE DATABASE " + dbname)
			check(err)
			db.Close()
			database = strings.Replace(pg, "/postgres?", "/"+dbname+"?", 1)
			args = append(args, "--db", database)
		}
		cmd := exec.Command(bin, args...)
		// The environment, not --admin-password, which the server warns
		// shows in ps.
		cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_PASSWORD=Bench-Admin-1")
		cmd.Stderr = os.Stderr
		stdout, _ := cmd.StdoutPipe()
		check(cmd.Start())
		sc := bufio.NewScanner(stdout)
		addr := ""
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "LMTP" && f[1] == "lmtp" {
				addr = f[2]
				break
			}
		}
		if addr == "" {
			fatalf("gatehouse did not print its LMTP address")
		}
		go func() {
			for sc.Scan() {
			}
		}()
		return addr, cmd.Process.Pid, func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}, func() (map[string][][]byte, error) {
				return gatehouseInboxes(database)
			}
	case "dovecot":
		d := filepath.Join(dir, name)
		addr, stop := startDovecot(d, 24240+run+10*clients)
		return addr, 0, stop, func() (map[string][][]byte, error) { return maildirInboxes(d) }
	}
	fatalf("unknown target %q", target)
	return "", 0, nil, nil
}

var dovecotConf = template.Must(template.New("dovecot.conf").Parse(`# Generated by lmtpload; do not edit.
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
log_path = {{.Dir}}/dovecot.log
listen = 127.0.0.1
protocols = lmtp
ssl = no
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{{.Dir}}/mail/%n/Maildir:INDEX={{.Dir}}/index/%n
mail_fsync = optimized
lmtp_rcpt_check_quota = no
auth_username_format = %n
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {{.Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{.UID}} gid={{.GID}} home={{.Dir}}/mail/%n allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = {{.Port}}
  }
  unix_listener lmtp {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
`))

func startDovecot(dir string, port int) (string, func()) {
	check(dovecot.Setup{Dir: dir, Port: port, Users: recipients, Password: "x", Conf: dovecotConf}.Write())
	addr, stop, err := dovecot.Start(dir, port, "dovecot-lmtpd")
	check(err)
	return addr, stop
}

// load delivers every message once over the given number of LMTP
// connections and returns messages per second. A message counts when its
// 250 came back, which both servers send only once it is durable.
func load(addr string, msgs [][]byte, clients int) float64 {
	var wg sync.WaitGroup
	next := make(chan int, len(msgs))
	for i := range msgs {
		next <- i
	}
	close(next)
	errs := make(chan error, clients)
	t0 := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			cl := smtp.NewClientLMTP(conn)
			defer cl.Close()
			if err := cl.Hello("lmtpload.example"); err != nil {
				errs <- err
				return
			}
			for i := range next {
				rcpt := recipients[i%len(recipients)] + "@contoso.com"
				if err := cl.SendMail("bench@example.org", []string{rcpt}, bytes.NewReader(msgs[i])); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fatalf("delivery to %s: %v", addr, err)
	}
	return float64(len(msgs)) / time.Since(t0).Seconds()
}

// corpus makes n messages with a median size of about 5 KB and a long
// tail (a few of 100 KB and more), deterministic.
func corpus(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the quarterly report meeting budget customer invoice shipping project review draft " +
		"please find attached numbers schedule tomorrow regards thanks update contract proposal")
	out := make([][]byte, n)
	for i := range out {
		size := int(6500 * (0.3 + r.ExpFloat64()*0.7))
		if i%97 == 0 {
			size = 100_000 + r.IntN(400_000)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: Sender %d <s%d@example.org>\r\nTo: Recipient <r@contoso.com>\r\nSubject: load message %d\r\n", i%50, i%50, i)
		fmt.Fprintf(&b, "Date: Mon, 2 Nov 2026 10:%02d:00 +0000\r\nMessage-ID: <%d.lmtpload@example.org>\r\nMIME-Version: 1.0\r\n", i%60, i)
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		line := 0
		for b.Len() < size {
			w := words[r.IntN(len(words))]
			b.WriteString(w)
			line += len(w) + 1
			if line > 70 {
				b.WriteString("\r\n")
				line = 0
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString("\r\n")
		out[i] = b.Bytes()
	}
	return out
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lmtpload: "+format+"\n", args...)
	os.Exit(1)
}
