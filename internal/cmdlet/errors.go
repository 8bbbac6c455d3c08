package cmdlet

import (
	"errors"
	"fmt"
)

// Error is an error the shell shows to the user: Source is the cmdlet
// that failed (Set-CASMailbox) or a PowerShell error category
// (InvalidOperation, ParserError), and Msg the text. The shell prints it
// as "Source: Msg", as PowerShell 7 does.
type Error struct {
	Source string
	Msg    string
	// Err is the underlying error, if any, for errors.Is/As.
	Err error
}

func (e *Error) Error() string {
	if e.Source == "" {
		return e.Msg
	}
	return e.Source + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(source, format string, args ...any) *Error {
	return &Error{Source: source, Msg: fmt.Sprintf(format, args...)}
}

// Categories PowerShell uses for errors that no cmdlet raised.
const (
	catInvalidOperation = "InvalidOperation"
	catInvalidArgument  = "InvalidArgument"
	catRuntime          = "RuntimeException"
	catParser           = "ParserError"
)

// errStop is returned through Emit when a downstream command (Select-Object
// -First) needs no more input; the pipeline then stops its upstream
// commands quietly. stage is the index of the command that stopped.
type errStop struct{ stage int }

func (e *errStop) Error() string { return "pipeline stopped" }

func IsStop(err error) (*errStop, bool) {
	var s *errStop
	ok := errors.As(err, &s)
	return s, ok
}

// errExit is returned by the exit statement's equivalent (Exit-Shell).
type errExit struct{ code int }

func (e *errExit) Error() string { return fmt.Sprintf("exit %d", e.code) }
