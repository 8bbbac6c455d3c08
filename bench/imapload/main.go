// Command imapload measures IMAP4 servers under load (docs/ARCHITECTURE.md,
// Performance targets) and
// compares Gatehouse, on both storage engines, with Dovecot from Debian in
// one run, on the same machine, with the same users and messages.
//
// Five loads:
//
//   - cycle: N clients each repeat LOGIN, SELECT INBOX, FETCH 1:10 (UID
//     FLAGS RFC822.SIZE ENVELOPE), UID SEARCH SUBJECT, STORE +FLAGS and
//     -FLAGS, LOGOUT on a fresh connection: logins and cycles per second.
//
//   - fetch: N clients log in and select once, then repeat UID FETCH of a
//     random message (FLAGS BODY.PEEK[]): FETCH operations per second.
//
//   - mixed and mixed-login: a day of real clients on mailboxes that are
//     written while they are read (LIST, STATUS, SELECT, FETCH of headers
//     and bodies, STORE, APPEND, STORE \Deleted and EXPUNGE; see mixed.go),
//     logged in once or once per cycle: FETCH operations per second.
//
//   - imaptest: the mixed cycle in the proportions of imaptest's default
//     profile, COPY into the same INBOX included, a login per cycle; meant
//     for many sessions on few small mailboxes (-users 1 -messages 30
//     -clients 10 is imaptest's default).
//
// All print operations per second and latency percentiles per command.
// The fetch and mixed loads also check every FETCH answer against the
// messages the server holds (verify.go: the right message byte for byte,
// a UID always the same message, the answers asked and no others, no
// EXPUNGE during FETCH or STORE) and print how many answers they checked
// and how many were wrong; compare's table has both, with the errors.
//
//	imapload compare [-dir DIR] [-users 20] [-messages 1000] [-duration 20s]
//	    [-engines sqlite,postgres] [-pg DSN] [-loads cycle,fetch,mixed,mixed-login,imaptest]
//	    seeds every server, starts them on loopback ports, runs the loads
//	    against each in turn, prints tables, stops them.
//	imapload run -addr HOST:PORT -mode cycle|fetch|mixed|mixed-login|imaptest [-clients 20] [-duration 20s] [-messages 1000]
//	    loads any running IMAP server whose users are user0@example.com ...
//	    with the password "load-test-password" and messages in INBOX
//	    (as imapload seed -messages wrote them: the answers are checked
//	    against those).
//	imapload seed -dir DIR ...     writes the databases and the Dovecot
//	    configuration (dovecot.conf, passwd-file, Maildirs) only.
//	imapload large [-sizes 10000,100000] [-rounds 3] [-n 10]
//	    the scale figures of one large INBOX on Gatehouse (SQLite) and
//	    Dovecot side by side: SELECT, UID FETCH of the last 50, UID SEARCH
//	    SUBJECT, IDLE wake-up after another session's APPEND, and a whole
//	    session on a new connection (LOGIN, SELECT, FETCH 1:* (UID FLAGS),
//	    UID SEARCH SUBJECT, UID FETCH of 11 bodies, LOGOUT) (large.go).
//	    Each answer is checked: EXISTS, each ENVELOPE that of the message
//	    it names, each body a stored message octet for octet, each SEARCH
//	    hit (fetched after the timing) a message with the word.
//	imapload idle [-sessions 100,300,1000] [-rounds 2]
//	    memory per idle session (LOGIN, SELECT, IDLE) on both servers: the
//	    growth of the PSS of each server's process tree (idle.go). Each
//	    SELECT must report the INBOX's messages, and each session must
//	    still answer the DONE that ends its IDLE after the measurement.
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
	"os"
	"time"

	"github.com/gatehouse-mail/gatehouse/bench/internal/cli"
)

// password is every load user's password on every server.
const password = "load-test-password"

func main() {
	cli.Main("imapload", map[string]func([]string) error{
		"compare": compareCmd,
		"large":   largeCmd,
		"idle":    idleCmd,
		"run":     runCmd,
		"seed":    seedCmd,
		"serve": func(args []string) error {
			return serve(cli.ServeFlags(args, "SQLite database file or PostgreSQL DSN made by seed"))
		},
	})
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:143", "IMAP server")
	mode := fs.String("mode", "cycle", "cycle, fetch, mixed, mixed-login or imaptest")
	clients := fs.Int("clients", 20, "concurrent clients")
	users := fs.Int("users", 20, "users user0..userN-1 to spread the clients over")
	dur := fs.Duration("duration", 20*time.Second, "measured duration")
	messages := fs.Int("messages", 1000, "messages each INBOX was seeded with (imapload seed -messages): what the FETCH answers are checked against")
	fs.Parse(args)
	r, err := runLoad(loadConfig{Addr: *addr, Mode: *mode, Clients: *clients, Users: *users, Duration: *dur, Messages: *messages})
	if err != nil {
		return err
	}
	r.print(os.Stdout, *addr)
	return nil
}
