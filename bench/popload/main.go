// Command popload measures POP3 download speed: concurrent sessions that
// each log in, STAT, LIST, UIDL, RETR every message and QUIT, reporting
// messages and megabytes per second. It compares Gatehouse with Dovecot in
// one run, on the same machine, with the same messages (docs/ARCHITECTURE.md,
// Performance targets).
//
//	popload compare [-dir DIR] [-users 4] [-messages 1000] [-rounds 5] [-repeat 10]
//	        [-engines sqlite,postgres] [-pg DSN] [-pgdb NAME]
//	    seeds the servers (Gatehouse on each engine asked for, SQLite by
//	    default; Dovecot), starts them on loopback ports, runs 1 and 4
//	    sessions against each in turn, prints a table with each engine's
//	    ratio to Dovecot, stops them.
//	popload run -addr HOST:PORT [-sessions N] [-repeat R] [-pipeline D] [-messages 1000]
//	    loads any running POP3 server whose users are user0@example.com...
//	    with the messages popload seed -messages wrote.
//	popload seed -dir DIR ...      writes the Gatehouse database(s) and the
//	    Dovecot configuration, passwd-file and Maildirs only.
//	popload serve -db FILE|DSN -addr HOST:PORT
//	    serves Gatehouse POP3 over a seeded database (compare runs it as a
//	    child process, so that the server and the load are separate
//	    processes, as with Dovecot).
//
// Every RETR is checked: a maildrop must hold as many messages as were
// seeded and each message read must be one of them, byte for byte
// (CRC-32C); a session that reads anything else fails, naming the message.
//
// Dovecot comes from Debian (apt-get install dovecot-pop3d); compare runs
// it as root with its own base_dir, so it leaves the system's alone.
package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
)

const password = "load-test-password"

func main() {
	cli.Main("popload", map[string]func([]string) error{
		"compare": compareCmd,
		"run":     runCmd,
		"seed":    seedCmd,
		"serve": func(args []string) error {
			return serve(cli.ServeFlags(args, "SQLite database or PostgreSQL DSN made by seed"))
		},
	})
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	cfg := loadConfig{Password: password}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:1110", "POP3 server")
	fs.StringVar(&cfg.Password, "password", password, "password of every user")
	fs.IntVar(&cfg.Sessions, "sessions", 1, "concurrent sessions (users user0...)")
	fs.IntVar(&cfg.Repeat, "repeat", 1, "sessions per worker, one after another")
	fs.IntVar(&cfg.Pipeline, "pipeline", 1, "RETR commands in flight")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "per session")
	messages := fs.Int("messages", 1000, "messages per mailbox, as seed -messages wrote them: every RETR is checked against them (0: not checked)")
	fs.Parse(args)
	if *messages > 0 {
		cfg.Sums = sums(corpus(*messages, 1))
	}
	r, err := runLoad(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%d sessions: %d messages, %.1f MB in %v: %.0f messages/s, %.1f MB/s\n",
		r.Sessions, r.Messages, float64(r.Bytes)/1e6, r.Elapsed.Round(time.Millisecond), r.msgsPerSec(), r.mbPerSec())
	fmt.Println(r.Phases.String(int64(r.Sessions*cfg.Repeat), r.Messages))
	return nil
}
