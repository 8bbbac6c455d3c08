package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-mail/gatehouse/internal/app"
)

const moveStoreUsage = `usage: gatehouse move-store --data DIR --to postgres://...

Copies everything of a stopped SQLite data directory (mailboxes, mail with
its UIDs, UIDVALIDITY, MODSEQ, UIDNEXT and HIGHESTMODSEQ, the audit log,
login records, settings, the outbound queue, migration batches, SCRAM
keys: every table) into an empty PostgreSQL database, with progress, and
verifies row counts and content hashes of every table at the end. Clients
see no UIDVALIDITY change, so none of them downloads its mail again.

The move is refused while a server runs on DIR, and into a database that
already has tables. The SQLite file is left as it was (its schema brought
up to this gatehouse's first, as 'gatehouse serve' would).

  --data DIR   the SQLite data directory (the source)
  --to DSN     the empty PostgreSQL database (the target)
`

func moveStore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("move-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, moveStoreUsage) }
	data := fs.String("data", "", "the SQLite data directory")
	to := fs.String("to", "", "the empty PostgreSQL database")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *data == "" || *to == "" {
		fmt.Fprintf(stderr, "gatehouse move-store: --data DIR and --to postgres://... are required\n\n%s", moveStoreUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := app.MoveStore(ctx, app.MoveStoreOptions{Data: *data, To: *to, Progress: stderr}); err != nil {
		fmt.Fprintf(stderr, "gatehouse move-store: %v\n", err)
		return 1
	}
	return 0
}
