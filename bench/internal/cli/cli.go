// Package cli is the command-line frame shared by the load tools under
// bench/: subcommands, the flags of "serve", and CPU profiles of the
// server side.
package cli

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
)

// Main runs the subcommand of tool named by os.Args[1] and exits non-zero
// with the error when it fails.
func Main(tool string, cmds map[string]func(args []string) error) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, "usage: %s %s [flags] (see go doc ./bench/%s)\n", tool, strings.Join(names, "|"), tool)
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(1)
	}
}

// ServeFlags parses the flags of a tool's "serve" subcommand: the
// database made by seed (dbHelp says what it may be), the listen address
// and an optional CPU profile path.
func ServeFlags(args []string, dbHelp string) (db, addr, cpuProfile string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	fs.StringVar(&db, "db", "", dbHelp)
	fs.StringVar(&addr, "addr", "127.0.0.1:0", "listen address")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the server here")
	fs.Parse(args)
	return db, addr, cpuProfile
}

// Profile starts a CPU profile written to path ("" for none); stop ends it.
func Profile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
