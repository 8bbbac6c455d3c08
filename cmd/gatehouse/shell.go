package main

import (
	"context"
	"io"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/shell"
)

// runShell runs the admin shell (Exchange cmdlet syntax) against a running
// server's REST API: gatehouse shell --server URL --user NAME [--password PW]
// [-c 'commands' | [-File] script.ps1 [-Param value ...]].
func runShell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return shell.Main(context.Background(), args, stdin, stdout, stderr)
}
