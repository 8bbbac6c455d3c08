package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse-mail/gatehouse/internal/app"
)

const backupUsage = `usage: gatehouse backup --out FILE [--force] [--config FILE] [--data DIR]

Writes a consistent copy of the SQLite store to FILE while the server keeps
running (SQLite's VACUUM INTO: one read transaction, so the copy holds
exactly what was committed when it started). Progress goes to stderr. The
copy is written under a temporary name beside FILE, checked with SQLite's
integrity check, fsynced and then renamed: on a full disk or any other
failure nothing is left under FILE. FILE is created with mode 0600.

  --out FILE   the backup file (required)
  --force      replace FILE if it exists

On PostgreSQL (--db postgres://...) use pg_dump; see docs/operations.md.
The store is found as 'gatehouse serve' finds it (its flags and --config).
`

// cutFlag removes a "--name VALUE" / "--name=VALUE" flag from args.
func cutFlag(args []string, name string) (value string, rest []string, found bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		trimmed := strings.TrimLeft(a, "-")
		if len(a)-len(trimmed) == 0 || len(a)-len(trimmed) > 2 {
			rest = append(rest, a)
			continue
		}
		if trimmed == name {
			if i+1 >= len(args) {
				return "", nil, true, fmt.Errorf("flag --%s needs a value", name)
			}
			value, found = args[i+1], true
			i++
			continue
		}
		if v, ok := strings.CutPrefix(trimmed, name+"="); ok {
			value, found = v, true
			continue
		}
		rest = append(rest, a)
	}
	return value, rest, found, nil
}

// cutSwitch removes a boolean "--name" from args.
func cutSwitch(args []string, name string) (bool, []string) {
	var rest []string
	on := false
	for _, a := range args {
		if a == "--"+name || a == "-"+name {
			on = true
			continue
		}
		rest = append(rest, a)
	}
	return on, rest
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

func backup(args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		fmt.Fprint(stdout, backupUsage)
		return 0
	}
	out, rest, _, err := cutFlag(args, "out")
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse backup: %v\n", err)
		return 2
	}
	force, rest := cutSwitch(rest, "force")
	if out == "" {
		fmt.Fprintf(stderr, "gatehouse backup: --out FILE is required\n\n%s", backupUsage)
		return 2
	}
	cfg, code, ok := loadConfig("backup", rest, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Backup(ctx, app.BackupOptions{Config: cfg, Out: out, Force: force, Progress: stderr}); err != nil {
		fmt.Fprintf(stderr, "gatehouse backup: %v\n", err)
		return 1
	}
	return 0
}

const restoreUsage = `usage: gatehouse restore FILE --data DIR [--force]

Puts the backup FILE (made by 'gatehouse backup') in place as the database
of the data directory DIR. FILE is checked whole before anything is
written: the SQLite header and size (a truncated file is refused),
SQLite's integrity check, Gatehouse's tables and a schema no newer than
this gatehouse's. No server may run on DIR.

  --data DIR   the data directory to restore into (required)
  --force      replace the database DIR already holds
`

func restore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, restoreUsage) }
	data := fs.String("data", "", "data directory to restore into")
	force := fs.Bool("force", false, "replace an existing database")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatehouse restore: unexpected arguments %q\n\n%s", fs.Args(), restoreUsage)
		return 2
	}
	if file == "" || *data == "" {
		fmt.Fprintf(stderr, "gatehouse restore: the backup FILE and --data DIR are required\n\n%s", restoreUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Restore(ctx, app.RestoreOptions{File: file, Data: *data, Force: *force, Progress: stderr}); err != nil {
		fmt.Fprintf(stderr, "gatehouse restore: %v\n", err)
		return 1
	}
	return 0
}
