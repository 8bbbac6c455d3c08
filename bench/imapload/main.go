// Command imapload measures IMAP4 servers under load (DESIGN §7) and
// compares Gatehouse, on both storage engines, with Dovecot from Debian in
// one run, on the same machine, with the same users and messages.
//
// Two loads:
//
//   - cycle: N clients each repeat LOGIN, SELECT INBOX, FETCH 1:10 (UID
//     FLAGS RFC822.SIZE ENVELOPE), UID SEARCH SUBJECT, STORE +FLAGS and
//     -FLAGS, LOGOUT on a fresh connection: logins and cycles per second.
//   - fetch: N clients log in and select once, then repeat UID FETCH of a
//     random message (FLAGS BODY.PEEK[]): FETCH operations per second.
//
// Both print operations per second and latency percentiles per command.
//
//	imapload compare [-dir DIR] [-users 20] [-messages 1000] [-duration 20s]
//	    [-engines sqlite,postgres] [-pg DSN]
//	    seeds every server, starts them on loopback ports, runs both loads
//	    against each in turn, prints tables, stops them.
//	imapload run -addr HOST:PORT -mode cycle|fetch [-clients 20] [-duration 20s]
//	    loads any running IMAP server whose users are user0@example.com ...
//	    with the password "load-test-password" and messages in INBOX.
//	imapload seed -dir DIR ...     writes the databases and the Dovecot
//	    configuration (dovecot.conf, passwd-file, Maildirs) only.
//	imapload serve -db FILE|DSN -addr HOST:PORT
//	    serves Gatehouse IMAP4 over a seeded database, wired as gatehouse
//	    serve wires it (compare runs it as a child process, so that the
//	    server and the load are separate processes, as with Dovecot).
//
// Dovecot comes from Debian (apt-get install dovecot-imapd); compare runs it
// as root with its own base_dir, so it leaves the system's alone.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// password is every load user's password on every server.
const password = "load-test-password"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "compare":
		err = compareCmd(os.Args[2:])
	case "run":
		err = runCmd(os.Args[2:])
	case "seed":
		err = seedCmd(os.Args[2:])
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		db := fs.String("db", "", "SQLite database file or PostgreSQL DSN made by seed")
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		prof := fs.String("cpuprofile", "", "write a CPU profile of the server here")
		fs.Parse(os.Args[2:])
		err = serve(*db, *addr, *prof)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapload:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imapload compare|run|seed|serve [flags] (see go doc ./bench/imapload)")
	os.Exit(2)
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:143", "IMAP server")
	mode := fs.String("mode", "cycle", "cycle or fetch")
	clients := fs.Int("clients", 20, "concurrent clients")
	users := fs.Int("users", 20, "users user0..userN-1 to spread the clients over")
	dur := fs.Duration("duration", 20*time.Second, "measured duration")
	fs.Parse(args)
	r, err := runLoad(loadConfig{Addr: *addr, Mode: *mode, Clients: *clients, Users: *users, Duration: *dur})
	if err != nil {
		return err
	}
	r.print(os.Stdout, *addr)
	return nil
}
