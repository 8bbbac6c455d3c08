package main

import (
	"context"
	"io"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// shell runs the admin shell (Exchange cmdlet syntax) against a running
// server's REST API: gatehouse shell --server URL --user NAME [--password PW]
// [-c 'commands' | [-File] script.ps1 [-Param value ...]].
func shell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cmdlet.ShellMain(context.Background(), args, stdin, stdout, stderr)
}
