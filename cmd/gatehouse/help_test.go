package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelp: -h and --help print the usage and exit 0 (flag.ErrHelp is not
// an error), for every subcommand that has flags.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"serve", "--help"}, {"shell", "-h"}, {"--help"},
		{"backup", "-h"}, {"restore", "-h"}, {"move-store", "-h"}, {"check-config", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d; want 0\n%s", code, stderr.String())
			}
			if stdout.Len()+stderr.Len() == 0 {
				t.Errorf("got no usage text; want some")
			}
		})
	}
}
