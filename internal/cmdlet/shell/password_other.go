//go:build !linux

package shell

import (
	"fmt"
	"io"

	"golang.org/x/term"
)

// readPassword asks for a password on the terminal fd without echo.
func readPassword(fd int, prompt string, out io.Writer) ([]byte, error) {
	fmt.Fprint(out, prompt)
	return term.ReadPassword(fd)
}
