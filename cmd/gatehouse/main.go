// Command gatehouse is the Gatehouse mail server and its admin shell.
//
//	gatehouse serve [flags]     run the server (see gatehouse serve -h)
//	gatehouse shell [flags]     the Exchange-style admin shell
//	gatehouse repair [--check] [serve flags]  check and repair the store
//	gatehouse backup --out FILE [serve flags]  copy the SQLite store while it serves
//	gatehouse restore FILE --data DIR [--force]  put a backup in place
//	gatehouse move-store --data DIR --to postgres://...  SQLite to PostgreSQL
//	gatehouse check-config [--config FILE]  validate a configuration
//	gatehouse version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-mail/gatehouse/internal/app"
	"github.com/gatehouse-mail/gatehouse/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve     run the mail server (IMAP4, POP3, SMTP, LMTP, admin center, REST API)
  shell     the admin shell (Exchange cmdlet syntax) against a running server
  repair    check the store's counters against its messages and set them right
  import    copy a Maildir or an mbox file from disk into a mailbox
  backup    write a consistent copy of the SQLite store while it serves
  restore   put a backup in place as a data directory's database
  move-store  copy a stopped SQLite data directory into an empty PostgreSQL database
  check-config  validate a configuration without starting
  version   print the version

Run 'gatehouse <command> -h' for the flags of a command.
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "shell":
		return runShell(args[1:], stdin, stdout, stderr)
	case "repair":
		return repair(args[1:], stdout, stderr)
	case "import":
		return runImport(args[1:], stdout, stderr)
	case "backup":
		return backup(args[1:], stdout, stderr)
	case "restore":
		return restore(args[1:], stdout, stderr)
	case "move-store":
		return moveStore(args[1:], stdout, stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "gatehouse %s\n", app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// loadConfig reads the configuration of a command that takes the serve
// flags; ok is false with the exit code when the command must stop (-h, a
// bad setting).
func loadConfig(command string, args []string, stderr io.Writer) (cfg config.Config, code int, ok bool) {
	cfg, err := config.Load(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return cfg, 0, false
	case err != nil:
		fmt.Fprintf(stderr, "gatehouse %s: %v\n", command, err)
		return cfg, 2, false
	}
	return cfg, 0, true
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := loadConfig("serve", args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful stop (bounded by --shutdown-grace);
	// a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	if err := app.Run(ctx, app.Options{Config: cfg, Out: stdout, Log: stderr}); err != nil {
		fmt.Fprintf(stderr, "gatehouse serve: %v\n", err)
		return 1
	}
	return 0
}
