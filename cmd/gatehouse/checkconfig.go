package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-mail/gatehouse/internal/app"
	"github.com/gatehouse-mail/gatehouse/internal/config"
)

const checkConfigUsage = `usage: gatehouse check-config [--config FILE] [serve flags]

Validates a configuration without starting a server: unknown keys in the
file, bad values and addresses, TLS files that cannot be read or do not
match, a data directory that cannot be written, a PostgreSQL server that
does not answer, listener addresses that are not of this machine. Every
problem is listed; the exit status is 1 when there is any, 0 otherwise.
`

func checkConfig(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, checkConfigUsage)
		return 0
	}
	cfg, problems, err := config.LoadAll(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stdout, "1 problem:\n  %v\n", err)
		return 1
	}
	more, notes := app.CheckConfig(context.Background(), cfg)
	problems = append(problems, more...)
	for _, n := range notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if len(problems) == 0 {
		fmt.Fprintln(stdout, "configuration ok")
		return 0
	}
	if len(problems) == 1 {
		fmt.Fprintln(stdout, "1 problem:")
	} else {
		fmt.Fprintf(stdout, "%d problems:\n", len(problems))
	}
	for _, p := range problems {
		fmt.Fprintf(stdout, "  %v\n", p)
	}
	return 1
}
