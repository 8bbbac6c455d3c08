package cmdlet

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// Flow control travels up the Go stack as errors, as PowerShell's does as
// exceptions: break and continue to the nearest loop or switch (through
// ForEach-Object and functions: PowerShell's quirk that break in a
// ForEach-Object script block ends the enclosing loop, or without one the
// whole script), return to the function or script block, throw to the
// nearest try.

// errBreak is break (or continue, when cont is set); label names the
// loop it is for, "" the innermost.
type errBreak struct {
	cont  bool
	label string
}

func (e *errBreak) Error() string {
	if e.cont {
		return "continue"
	}
	return "break"
}

// errReturn is return.
type errReturn struct{}

func (*errReturn) Error() string { return "return" }

// errThrown is an error raised by throw. It ends the script unless a
// try catches it.
type errThrown struct {
	err   error // the error shown and caught
	value any   // the object thrown, the ErrorRecord's TargetObject
}

func (e *errThrown) Error() string { return e.err.Error() }

func (e *errThrown) Unwrap() error { return e.err }

// Throw is err thrown as by throw: it ends the script unless a try block
// catches it.
func Throw(err error) error { return &errThrown{err: err} }

// isFlow reports whether err is flow control rather than an error.
func isFlow(err error) bool {
	var b *errBreak
	var r *errReturn
	var ex *errExit
	if _, ok := IsStop(err); ok {
		return true
	}
	return errors.As(err, &b) || errors.As(err, &r) || errors.As(err, &ex)
}

// loopControl interprets the error the body of a loop labeled label ended
// with: brk ends the loop, err (not nil) goes on up, as does a break or
// continue for an outer loop.
func loopControl(err error, label string) (brk bool, rest error) {
	var b *errBreak
	if errors.As(err, &b) && (b.label == "" || strings.EqualFold(b.label, label)) {
		return !b.cont, nil
	}
	return false, err
}

// execControl runs the statements of syntax/control.go.
func (s *Session) execControl(ctx context.Context, st syntax.Statement, emit func(any) error) error {
	switch n := st.(type) {
	case *syntax.Try:
		return s.execTry(ctx, n, emit)
	case *syntax.Throw:
		return s.execThrow(ctx, n)
	case *syntax.Return:
		if n.X != nil {
			if err := s.execStatement(ctx, n.X, emit); err != nil {
				return err
			}
		}
		return &errReturn{}
	case *syntax.Break:
		return &errBreak{cont: n.Continue, label: n.Label}
	case *syntax.While:
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := s.statementValue(ctx, n.Cond)
			if err != nil {
				return err
			}
			if !isTrue(v) {
				return nil
			}
			if brk, err := loopControl(s.execStatements(ctx, n.Body.Statements, emit), n.Label); err != nil || brk {
				return err
			}
		}
	case *syntax.DoLoop:
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			if brk, err := loopControl(s.execStatements(ctx, n.Body.Statements, emit), n.Label); err != nil || brk {
				return err
			}
			v, err := s.statementValue(ctx, n.Cond)
			if err != nil {
				return err
			}
			if isTrue(v) == n.Until {
				return nil
			}
		}
	case *syntax.For:
		if n.Init != nil {
			if err := s.execStatement(ctx, n.Init, discard); err != nil {
				return err
			}
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			if n.Cond != nil {
				v, err := s.statementValue(ctx, n.Cond)
				if err != nil {
					return err
				}
				if !isTrue(v) {
					return nil
				}
			}
			if brk, err := loopControl(s.execStatements(ctx, n.Body.Statements, emit), n.Label); err != nil || brk {
				return err
			}
			if n.Iter != nil {
				if err := s.execStatement(ctx, n.Iter, discard); err != nil {
					return err
				}
			}
		}
	case *syntax.Switch:
		return s.execSwitch(ctx, n, emit)
	case *syntax.Function:
		if s.functions == nil {
			s.functions = map[string]*Cmdlet{}
		}
		s.functions[strings.ToLower(n.Name)] = s.functionCmdlet(n)
		return nil
	}
	return errorf(catRuntime, "unsupported statement %T", st)
}

func discard(any) error { return nil }

// withDollarUnder runs f with $_ set to v in the current scope, restoring
// it after.
func (s *Session) withDollarUnder(v any, f func() error) error {
	scope := s.scopes[len(s.scopes)-1]
	prev, had := scope["_"]
	scope["_"] = &variable{name: "_", value: v}
	defer func() {
		if had {
			scope["_"] = prev
		} else {
			delete(scope, "_")
		}
	}()
	return f()
}

// catchable reports whether try can catch err: any error, terminating or
// made so by -ErrorAction Stop, but not flow control or Ctrl-C.
func catchable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || isFlow(err) {
		return false
	}
	var ss *ScriptStopped
	return !errors.As(err, &ss)
}

// execTry runs try/catch/finally. Inside try every terminating error,
// including the statement-terminating ones that would otherwise be shown
// and passed over, goes to the first catch whose type matches; a
// non-terminating error (Call.WriteError) enters catch only under
// -ErrorAction Stop or $ErrorActionPreference = 'Stop', as in PowerShell.
func (s *Session) execTry(ctx context.Context, n *syntax.Try, emit func(any) error) error {
	err := func() error {
		s.tryDepth++
		defer func() { s.tryDepth-- }()
		return s.execStatements(ctx, n.Body.Statements, emit)
	}()
	if catchable(ctx, err) {
		types := exceptionTypes(err)
		for _, c := range n.Catches {
			if !catchMatches(c.Types, types) {
				continue
			}
			caught := err
			s.addError(caught)
			rec := s.errorRecordOf(caught)
			err = s.withDollarUnder(rec, func() error {
				prev := s.caught
				s.caught = caught
				defer func() { s.caught = prev }()
				return s.execStatements(ctx, c.Body.Statements, emit)
			})
			break
		}
	}
	if n.Finally != nil {
		if ferr := s.execStatements(ctx, n.Finally.Statements, emit); ferr != nil {
			err = ferr
		}
	}
	return err
}

// errorRecordOf is the ErrorRecord for an error, as $_ in catch holds it:
// the record a rethrow carries, else a new one.
func (s *Session) errorRecordOf(err error) *Object {
	var th *errThrown
	if errors.As(err, &th) {
		if rec, ok := th.value.(*Object); ok && rec.TypeName == errorRecordType {
			return rec
		}
	}
	rec := errorRecord(err)
	if errors.As(err, &th) {
		rec.Set("TargetObject", th.value)
	}
	types := exceptionTypes(err)
	if ex, ok := rec.Get("Exception"); ok {
		if o, ok := ex.(*Object); ok {
			o.TypeName = fullExceptionName(types[0])
		}
	}
	return rec
}

// exceptionTypes names the .NET exception an error stands for and its
// base types, most specific first, for catch [Type].
func exceptionTypes(err error) []string {
	first := ""
	var th *errThrown
	var e *Error
	switch {
	case errors.As(err, &th):
		if rec, ok := th.value.(*Object); ok && rec.TypeName == errorRecordType || th.value == nil {
			// a rethrow, or an error the shell raised as terminating
			return exceptionTypes(th.err)
		}
		first = "RuntimeException"
	case errors.As(err, &e):
		msg := e.Msg
		switch {
		case strings.HasSuffix(e.Source, "Exception"):
			first = e.Source
		case strings.Contains(msg, "couldn't be found"):
			first = "ManagementObjectNotFoundException"
		case strings.HasPrefix(msg, "Cannot bind") || strings.HasPrefix(msg, "A parameter cannot be found") ||
			strings.HasPrefix(msg, "Cannot process argument transformation") || strings.HasPrefix(msg, "Cannot validate argument") ||
			strings.HasPrefix(msg, "Missing an argument") || strings.HasPrefix(msg, "A positional parameter") ||
			strings.HasPrefix(msg, "Cannot process command because of one or more missing mandatory"):
			first = "ParameterBindingException"
		case e.Source == catInvalidArgument:
			first = "PSInvalidCastException"
		}
	}
	out := []string{}
	if first != "" && first != "RuntimeException" {
		out = append(out, first)
	}
	return append(out, "RuntimeException", "SystemException", "Exception")
}

var exceptionNamespaces = map[string]string{
	"ManagementObjectNotFoundException": "Microsoft.Exchange.Configuration.Tasks.",
	"SystemException":                   "System.",
	"Exception":                         "System.",
}

func fullExceptionName(short string) string {
	if ns, ok := exceptionNamespaces[short]; ok {
		return ns + short
	}
	return "System.Management.Automation." + short
}

// catchMatches reports whether a catch clause with these types catches an
// error of the given types (no types catches everything). Names match
// with or without their namespace.
func catchMatches(want, have []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		w = strings.ToLower(strings.TrimSpace(w))
		if i := strings.LastIndexByte(w, '.'); i >= 0 {
			w = w[i+1:]
		}
		for _, h := range have {
			if strings.ToLower(h) == w {
				return true
			}
		}
	}
	return false
}

// execThrow raises a terminating error: the text of a string, the
// ErrorRecord of $_ as it was, or any other object as its text with the
// object as TargetObject. A bare throw in catch rethrows what was caught.
func (s *Session) execThrow(ctx context.Context, n *syntax.Throw) error {
	if n.X == nil {
		if s.caught != nil {
			return s.caught
		}
		return &errThrown{err: &Error{Source: "Exception", Msg: "ScriptHalted"}}
	}
	v, err := s.statementValue(ctx, n.X)
	if err != nil {
		return err
	}
	if rec, ok := v.(*Object); ok && rec.TypeName == errorRecordType {
		msg := ToString(rec)
		if ex, ok := rec.Get("Exception"); ok {
			if m, ok := property(ex, "Message"); ok {
				msg = ToString(m)
			}
		}
		if s.caught != nil && s.errorRecordMatches(rec) {
			return &errThrown{err: s.caught, value: rec}
		}
		return &errThrown{err: &Error{Source: "Exception", Msg: msg}, value: rec}
	}
	msg := ToString(v)
	if v == nil {
		msg = "ScriptHalted"
	}
	return &errThrown{err: &Error{Source: "Exception", Msg: msg}, value: v}
}

func (s *Session) errorRecordMatches(rec *Object) bool {
	cur, _ := s.getVar("_")
	return cur == rec
}

// execSwitch runs switch: each value of the condition (an array's
// elements one by one) is compared with every clause in order, and every
// clause that matches runs, with $_ the value; default runs when none did.
// break ends the switch, continue goes on with the next value.
func (s *Session) execSwitch(ctx context.Context, n *syntax.Switch, emit func(any) error) error {
	v, err := s.statementValue(ctx, n.Value)
	if err != nil {
		return err
	}
	values := []any{v}
	if arr, ok := v.([]any); ok {
		values = arr
	}
	mode, cs := "exact", false
	for _, f := range n.Flags {
		switch f {
		case "regex", "wildcard", "exact":
			mode = f
		case "casesensitive":
			cs = true
		}
	}
	for _, val := range values {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.withDollarUnder(val, func() error {
			matched := false
			for _, c := range n.Clauses {
				ok, err := s.switchMatches(ctx, c.Pattern, val, mode, cs)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				matched = true
				if err := s.execStatements(ctx, c.Body.Statements, emit); err != nil {
					return err
				}
			}
			if !matched && n.Default != nil {
				return s.execStatements(ctx, n.Default.Statements, emit)
			}
			return nil
		})
		if brk, err := loopControl(err, n.Label); err != nil || brk {
			return err
		}
	}
	return nil
}

func (s *Session) switchMatches(ctx context.Context, pat syntax.Expr, val any, mode string, cs bool) (bool, error) {
	if sb, ok := pat.(*syntax.ScriptBlock); ok {
		var out []any
		err := s.execStatements(ctx, sb.Statements, func(v any) error { out = append(out, v); return nil })
		return isTrue(collect(out)), err
	}
	p, err := s.eval(ctx, pat)
	if err != nil {
		return false, err
	}
	op := map[string]string{"exact": "-eq", "wildcard": "-like", "regex": "-match"}[mode]
	if cs {
		op = "-c" + op[1:]
	}
	l := val
	if mode != "exact" {
		l = ToString(val)
	}
	r, err := binaryOp(s, op, l, p)
	if err != nil {
		return false, err
	}
	return isTrue(r), nil
}
