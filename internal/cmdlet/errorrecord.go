package cmdlet

import (
	"context"
	"errors"
	"strings"
)

// PowerShell's three kinds of errors (about_Error_Handling), as the shell
// keeps them apart:
//
//   - A non-terminating error (Call.WriteError: a mailbox not found, one
//     bad row of a CSV file) is shown, or not, as -ErrorAction (else
//     $ErrorActionPreference) says, and the command goes on with its next
//     input.
//   - A statement-terminating error (a parameter that cannot be bound, a
//     cmdlet that cannot go on) ends the statement it occurs in; the next
//     statement runs, also inside a script block such as ForEach-Object's,
//     so one empty CSV cell does not end a loop.
//   - A script-terminating error ends the script (and -c, with exit status
//     1): an error under -ErrorAction Stop or $ErrorActionPreference =
//     'Stop', a warning under -WarningAction Stop.
//
// Every error shown, and every error under SilentlyContinue, is added to
// $Error (newest first); -ErrorVariable collects the errors of one command
// even under Ignore. Only errors shown make the exit status of -c or a
// script 1: SilentlyContinue and Ignore keep it 0, as the user asked not to
// hear about them. $? is $false after a statement that had any error.

// actionStopError is an error made terminating by an action preference of
// Stop: it ends the script.
type actionStopError struct{ err error }

func (e *actionStopError) Error() string { return e.err.Error() }
func (e *actionStopError) Unwrap() error { return e.err }

// ScriptStopped is what Execute returns when a script-terminating error
// ended the script; the error has been shown already.
type ScriptStopped struct{}

func (*ScriptStopped) Error() string { return "the script was stopped by an error" }

// maxErrors is $MaximumErrorCount: how many errors $Error keeps.
const maxErrors = 256

// errorRecordType is the type name of the objects in $Error.
const errorRecordType = "System.Management.Automation.ErrorRecord"

// errorRecord is the object $Error and -ErrorVariable hold for an error:
// its Exception.Message is the text, and it renders as that text.
func errorRecord(err error) *Object {
	msg, source := err.Error(), ""
	var e *Error
	if errors.As(err, &e) {
		msg, source = e.Msg, e.Source
	}
	ex := NewObject("System.Exception")
	ex.Set("Message", msg)
	r := NewObject(errorRecordType)
	r.Set("Exception", ex)
	r.Set("CategoryInfo", source)
	id := "Gatehouse.Error"
	if source != "" {
		id += "," + source
	}
	r.Set("FullyQualifiedErrorId", id)
	r.Set("TargetObject", nil)
	return r
}

// addError puts an error first in $Error.
func (s *Session) addError(err error) {
	var list []any
	if v, ok := s.scopes[0]["error"]; ok {
		list, _ = v.value.([]any)
	}
	list = append([]any{errorRecord(err)}, list...)
	if len(list) > maxErrors {
		list = list[:maxErrors]
	}
	s.scopes[0]["error"] = &variable{name: "Error", value: list}
}

// appendVariable adds a value to the list in a variable named by
// -ErrorVariable or -WarningVariable ("+name" is the same variable: the
// list was not emptied when the command started).
func (s *Session) appendVariable(name string, v any) {
	name = strings.TrimPrefix(name, "+")
	cur, _ := s.getVar(name)
	list, _ := cur.([]any)
	_ = s.setVar(name, append(append([]any(nil), list...), v))
}

// startVariables empties the lists of -ErrorVariable and -WarningVariable
// when a command starts, unless they are named "+name".
func (c *Call) startVariables() {
	for _, p := range []string{"ErrorVariable", "WarningVariable"} {
		if name := c.String(p); name != "" && !strings.HasPrefix(name, "+") {
			_ = c.s.setVar(name, []any{})
		}
	}
}

// collectError adds an error the command ended with to its
// -ErrorVariable.
func (c *Call) collectError(err error) {
	if err == nil {
		return
	}
	if isFlow(err) || errors.Is(err, context.Canceled) {
		return
	}
	var ae *actionStopError
	if errors.As(err, &ae) {
		return // collected when written
	}
	if name := c.String("ErrorVariable"); name != "" {
		c.s.appendVariable(name, errorRecord(err))
	}
}

// statementError reports whether err ends only the statement it occurred
// in: not flow control (exit, a pipeline stopped by Select-Object -First,
// Ctrl-C) and not a script-terminating error.
func statementError(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if _, ok := IsStop(err); ok {
		return false
	}
	var ae *actionStopError
	var ss *ScriptStopped
	var th *errThrown
	return !isFlow(err) && !errors.As(err, &ae) && !errors.As(err, &ss) && !errors.As(err, &th)
}

// preference reads an action preference variable ($ErrorActionPreference,
// $WarningPreference): Continue unless it names another action.
func (s *Session) preference(name string) string {
	v, _ := s.getVar(name)
	switch strings.ToLower(strings.TrimSpace(ToString(v))) {
	case "stop":
		return "Stop"
	case "silentlycontinue":
		return "SilentlyContinue"
	case "ignore":
		return "Ignore"
	}
	return "Continue"
}
