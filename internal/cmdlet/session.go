package cmdlet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// Host is how a session talks to the user.
type Host struct {
	// Out receives output and Write-Host text; Err receives errors and
	// warnings.
	Out, Err io.Writer
	// Prompt reads a line from the user (without echo when secret); nil
	// when the shell is not interactive, in which case missing mandatory
	// parameters are errors and nothing asks for confirmation.
	Prompt func(prompt string, secret bool) (string, error)
	// Width is the width of the terminal, for tables; 0 means 120.
	Width int
	// Color enables ANSI colors for errors and warnings.
	Color bool
	// Progress is the terminal progress lines are drawn on (Write-Progress
	// and long pipelines); nil when output is not a terminal.
	Progress io.Writer
}

// SessionOptions configures a session.
type SessionOptions struct {
	Host     Host
	Registry *Registry // nil: the built-in helpers only
	// API is the server's REST API; nil when not connected, in which case
	// the Exchange cmdlets say so.
	API API
	// Dir is the directory relative file names (Export-Csv) resolve
	// against; "" is the process's working directory.
	Dir string
	// Now returns the current time; nil is time.Now.
	Now func() time.Time
	// Connect holds what Connect-ExchangeOnline uses when its parameters
	// leave something out: the server, user and password the shell was
	// started with, and the TLS settings.
	Connect ClientOptions
}

// Session is one shell: its variables, its cmdlets and its host. It is
// not safe for concurrent use; each command runs to completion.
type Session struct {
	reg  *Registry
	host Host
	api  API
	// progress is the terminal's progress line; nil without one.
	progress *progressLine
	dir      string
	now      func() time.Time
	scopes   []map[string]*variable
	// failed records that an error was shown since ResetFailed (the exit
	// status of -c and scripts); stmtErr that the running statement had
	// an error, shown or not ($?).
	failed  bool
	stmtErr bool
	// functions are the functions defined with function, by lower-case
	// name; tryDepth counts the try blocks running; caught is the error
	// of the catch block running (a bare throw rethrows it).
	functions map[string]*Cmdlet
	tryDepth  int
	caught    error
	callDepth int
	// scriptName and scriptArgs are the script file and the arguments
	// its param() block binds.
	scriptName string
	scriptArgs []string
	// transcript is the running Start-Transcript, nil without one.
	transcript *psTranscript
	// connect is what Connect-ExchangeOnline signs in with by default.
	connect ClientOptions
	// out is the running statement's display, flushed before errors,
	// warnings and host text so that they appear in order.
	out *outDefault
}

type variable struct {
	name  string
	value any
}

// NewSession returns a session.
func NewSession(opts SessionOptions) *Session {
	s := &Session{reg: opts.Registry, host: opts.Host, api: opts.API, dir: opts.Dir, now: opts.Now, connect: opts.Connect}
	if s.reg == nil {
		s.reg = NewRegistry()
		s.reg.Add(Builtins()...)
	}
	if s.host.Out == nil {
		s.host.Out = io.Discard
	}
	if s.host.Err == nil {
		s.host.Err = s.host.Out
	}
	if s.host.Progress != nil {
		s.progress = &progressLine{w: s.host.Progress, width: s.width()}
		s.host.Out = clearFirst{s.host.Out, s.progress}
		s.host.Err = clearFirst{s.host.Err, s.progress}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.scopes = []map[string]*variable{{}}
	s.setVar("ErrorActionPreference", "Continue")
	s.setVar("WarningPreference", "Continue")
	s.setVar("Error", []any{})
	s.setVar("ConfirmPreference", "High")
	s.setVar("PSVersionTable", psVersionTable())
	return s
}

func psVersionTable() *Hashtable {
	h := NewHashtable()
	h.Set("PSVersion", "7.4")
	h.Set("PSEdition", "Gatehouse")
	return h
}

// Registry returns the session's cmdlets.
func (s *Session) Registry() *Registry { return s.reg }

// Host is where the session writes; the shell sets its prompt and width.
func (s *Session) Host() *Host { return &s.host }

// API is the server the Exchange cmdlets call; nil before Connect-ExchangeOnline.
func (s *Session) API() API { return s.api }

// SetAPI points the session at a server (nil: none) that Connect-ExchangeOnline
// signed in to with opts.
func (s *Session) SetAPI(api API, opts ClientOptions) { s.api, s.connect = api, opts }

// ConnectOptions is what Connect-ExchangeOnline signs in with by default.
func (s *Session) ConnectOptions() ClientOptions { return s.connect }

// Dir is the session's working directory.
func (s *Session) Dir() string { return s.dir }

// Failed reports whether an error was written since the last ResetFailed.
func (s *Session) Failed() bool { return s.failed }

// ResetFailed clears the failure flag.
func (s *Session) ResetFailed() { s.failed = false }

// Execute parses and runs a script. A parse error is returned as a
// *syntax.Error without running anything (the REPL reads more input when
// it is Incomplete). Runtime errors are written to the host as they happen
// and end only the statement they occur in; Execute returns an *ExitError
// when the script runs exit.
func (s *Session) Execute(ctx context.Context, src string) error {
	script, err := syntax.Parse(src)
	if err != nil {
		return err
	}
	return s.ExecuteScript(ctx, script)
}

// ExitError is returned by Execute when the script asks the shell to exit.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// ExecuteScript runs a parsed script; see Execute.
func (s *Session) ExecuteScript(ctx context.Context, script *syntax.Script) error {
	s.tryDepth, s.callDepth = 0, 0
	if script.Params != nil {
		if err := s.bindScriptParams(ctx, script.Params); err != nil {
			s.WriteError(err)
			return &ScriptStopped{}
		}
	}
	for _, st := range script.Statements {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.stmtErr = false
		s.recordStatement(st)
		out := newOutDefault(s)
		s.out = out
		err := s.runStatement(ctx, st, out.write)
		out.flush()
		s.out = nil
		// $? is whether the statement succeeded (about_Automatic_Variables)
		_ = s.setVar("?", err == nil && !s.stmtErr)
		var ex *errExit
		if errors.As(err, &ex) {
			return &ExitError{Code: ex.code}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if _, ok := IsStop(err); ok {
				continue
			}
			var brk *errBreak
			var ret *errReturn
			if errors.As(err, &brk) || errors.As(err, &ret) {
				// break or continue outside a loop (also in a
				// ForEach-Object script block) and return end the
				// script, as in PowerShell
				return nil
			}
			var ss *ScriptStopped
			if errors.As(err, &ss) {
				return err
			}
			s.WriteError(err)
			var ae *actionStopError
			var th *errThrown
			if errors.As(err, &ae) || errors.As(err, &th) || s.preference("ErrorActionPreference") == "Stop" {
				// a script-terminating error: the rest does not run
				return &ScriptStopped{}
			}
		}
	}
	return nil
}

// runStatement runs one top-level statement; a panic (a bug) ends the
// statement with an error instead of the shell.
func (s *Session) runStatement(ctx context.Context, st syntax.Statement, emit func(any) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("shell statement panic", "panic", r, "stack", string(debug.Stack()))
			err = errorf(catRuntime, "internal error: %v", r)
		}
	}()
	return s.execStatement(ctx, st, emit)
}

// WriteError writes an error as PowerShell 7 does: "Source: message".
// flushOutput writes buffered objects before other text.
func (s *Session) flushOutput() {
	if s.out != nil {
		s.out.flush()
	}
}

func (s *Session) WriteError(err error) {
	s.flushOutput()
	s.failed = true
	s.stmtErr = true
	var ss *ScriptStopped
	if errors.As(err, &ss) {
		return // shown already
	}
	if !errors.Is(err, context.Canceled) {
		s.addError(err)
	}
	msg := ""
	var e *Error
	var pe *syntax.Error
	switch {
	case errors.As(err, &pe):
		msg = catParser + ": " + pe.Detail()
	case errors.As(err, &e):
		msg = e.Error()
	case errors.Is(err, context.Canceled):
		return
	default:
		msg = err.Error()
	}
	if s.host.Color {
		msg = "\x1b[31;1m" + msg + "\x1b[0m"
	}
	fmt.Fprintln(s.host.Err, msg)
}

func (s *Session) writeWarning(msg string) {
	s.flushOutput()
	line := "WARNING: " + msg
	if s.host.Color {
		line = "\x1b[33;1m" + line + "\x1b[0m"
	}
	fmt.Fprintln(s.host.Err, line)
}

func (s *Session) WriteHost(text string) {
	s.flushOutput()
	fmt.Fprintln(s.host.Out, text)
}

func (s *Session) errorActionPreference() string { return s.preference("ErrorActionPreference") }

// Variables. PowerShell's scopes are dynamic; script blocks run by
// ForEach-Object and Where-Object run in the caller's scope, & { } in a new
// one.

func (s *Session) getVar(name string) (any, bool) {
	k := strings.ToLower(name)
	switch k {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	case "psitem":
		k = "_"
	}
	if strings.HasPrefix(k, "env:") {
		v, ok := os.LookupEnv(name[4:])
		if !ok {
			return nil, false
		}
		return v, true
	}
	for _, p := range []string{"global:", "script:", "local:", "private:", "variable:"} {
		k = strings.TrimPrefix(k, p)
	}
	for i := len(s.scopes) - 1; i >= 0; i-- {
		if v, ok := s.scopes[i][k]; ok {
			return v.value, true
		}
	}
	return nil, false
}

func (s *Session) setVar(name string, v any) error {
	k := strings.ToLower(name)
	switch k {
	case "true", "false", "null":
		if k == "null" {
			return nil // $null = ... discards
		}
		return errorf("SessionStateUnauthorizedAccessException", "Cannot overwrite variable %s because it is read-only or constant.", name)
	case "psitem":
		k = "_"
	}
	if strings.HasPrefix(k, "env:") {
		return os.Setenv(name[4:], ToString(v))
	}
	scope := s.scopes[len(s.scopes)-1]
	for _, p := range []string{"global:", "script:"} {
		if strings.HasPrefix(k, p) {
			k = strings.TrimPrefix(k, p)
			scope = s.scopes[0]
		}
	}
	k = strings.TrimPrefix(strings.TrimPrefix(k, "local:"), "private:")
	if cur, ok := scope[k]; ok {
		cur.value = v
		return nil
	}
	scope[k] = &variable{name: name, value: v}
	return nil
}

// SetVariable sets a variable in the session's global scope.
func (s *Session) SetVariable(name string, v any) { _ = s.setVar(name, v) }

// Variable returns a variable's value.
func (s *Session) Variable(name string) (any, bool) { return s.getVar(name) }

func (s *Session) pushScope() { s.scopes = append(s.scopes, map[string]*variable{}) }
func (s *Session) popScope()  { s.scopes = s.scopes[:len(s.scopes)-1] }

// VariableNames lists the variables in scope, for tab completion.
func (s *Session) VariableNames() []string {
	seen := map[string]bool{}
	var out []string
	for i := len(s.scopes) - 1; i >= 0; i-- {
		for k, v := range s.scopes[i] {
			if !seen[k] {
				seen[k] = true
				out = append(out, v.name)
			}
		}
	}
	return append(out, "true", "false", "null")
}
