package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-mail/gatehouse/internal/app"
)

const repairUsage = `usage: gatehouse repair [--check] [--config FILE] [--data DIR | --db postgres://...]

Compares every folder's counters (messages, unseen, size, UIDNEXT,
HIGHESTMODSEQ) with its stored messages and expunge records, and sets wrong
ones right from the rows; marks message bodies that no message references
for the sweep and deletes those past the grace period. It is safe while
servers run on the same database (each folder is fixed under its lock).
'gatehouse serve' runs the same check at every start.

  --check   only report; exit status 1 when something is wrong

The store is found as 'gatehouse serve' finds it (its flags and --config).
`

// repair runs 'gatehouse repair'.
func repair(args []string, stdout, stderr io.Writer) int {
	check := false
	var rest []string
	for _, a := range args {
		switch a {
		case "--check", "-check":
			check = true
		case "-h", "--help", "-help":
			fmt.Fprint(stdout, repairUsage)
			return 0
		default:
			rest = append(rest, a)
		}
	}
	cfg, code, ok := loadConfig("repair", rest, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := app.Repair(ctx, app.RepairOptions{Config: cfg, Check: check, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse repair: %v\n", err)
		return 1
	}
	if check && !rep.OK() {
		return 1
	}
	return 0
}
