package main

import (
	"fmt"
	"io"
)

// shell is wired to the admin shell of package cmdlet once it lands.
func shell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "gatehouse shell: the admin shell is not built yet (see issue 6)")
	return 2
}
