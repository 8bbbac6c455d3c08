package shell

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// readPassword asks for a password on the terminal fd without echo. Echo
// is turned off before the prompt is shown: a user (or a script driving a
// terminal) who types as soon as the prompt appears must not see the
// password printed, which term.ReadPassword alone allows (it prints
// nothing but switches echo off only when called, after the prompt).
func readPassword(fd int, prompt string, out io.Writer) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		fmt.Fprint(out, prompt)
		return term.ReadPassword(fd)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		fmt.Fprint(out, prompt)
		return term.ReadPassword(fd)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(out, prompt)
	// term.ReadPassword leaves the settings as it finds them (echo off).
	return term.ReadPassword(fd)
}
