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

const importUsage = `usage: gatehouse import (--maildir DIR | --mbox FILE [--folder NAME]) --mailbox ADDRESS
                        [--config FILE] [--data DIR | --db postgres://...]

Copies mail from disk into a mailbox: a Maildir (cur/ and new/ are INBOX,
Maildir++ folders .Name become folders, special folders go into
Gatehouse's Sent, Drafts, Trash, Junk and Archive; Maildir flags and
Dovecot keywords are kept, the file time is the internal date) or an mbox
file (into --folder, INBOX by default). It prints its progress and can be
run again: what was imported before is recognized (the Maildir file name,
the mbox message's hash) and not added twice.

The store is found as 'gatehouse serve' finds it (its flags and --config).
`

func runImport(args []string, stdout, stderr io.Writer) int {
	var o app.ImportOptions
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch a {
		case "-h", "--help", "-help":
			fmt.Fprint(stdout, importUsage)
			return 0
		case "--maildir", "-maildir":
			o.Maildir = val()
		case "--mbox", "-mbox":
			o.Mbox = val()
		case "--mailbox", "-mailbox":
			o.Mailbox = val()
		case "--folder", "-folder":
			o.Folder = val()
		default:
			rest = append(rest, a)
		}
	}
	if o.Mailbox == "" || (o.Maildir == "") == (o.Mbox == "") {
		fmt.Fprintf(stderr, "gatehouse import: give --mailbox and one of --maildir or --mbox\n\n%s", importUsage)
		return 2
	}
	cfg, code, ok := loadConfig("import", rest, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Config, o.Out = cfg, stdout
	if _, err := app.Import(ctx, o); err != nil {
		fmt.Fprintf(stderr, "gatehouse import: %v\n", err)
		return 1
	}
	return 0
}
