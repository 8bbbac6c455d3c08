package cmdlet

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// Functions (function Name { param(...) ... }) run through the same binder
// as cmdlets: their param() block becomes a *Cmdlet's parameters, so that
// named, positional, switch and pipeline arguments, splatting and the
// messages for missing or unknown parameters are PowerShell's. A script's
// own param() block binds the arguments after the script file name the
// same way.

// Names of the hidden parameters that take the pipeline objects ($input)
// and the arguments left over ($args); they cannot be typed as -Name.
const (
	hiddenInput = "<input>"
	hiddenArgs  = "<args>"
)

// paramsCmdlet describes a param() block as a command's parameters.
func paramsCmdlet(name string, pb *syntax.ParamBlock) *Cmdlet {
	info := &Cmdlet{Name: name, Source: "function"}
	if pb == nil {
		pb = &syntax.ParamBlock{}
	}
	// An advanced function ([CmdletBinding()] or [Parameter()]) refuses
	// arguments it has no parameter for; a simple one puts them in $args.
	explicit, advanced := false, false
	for _, a := range pb.Attributes {
		advanced = advanced || strings.EqualFold(a.Name, "CmdletBinding")
	}
	for _, d := range pb.Params {
		for _, a := range d.Attributes {
			advanced = advanced || strings.EqualFold(a.Name, "Parameter")
			for _, arg := range a.Args {
				if strings.EqualFold(a.Name, "Parameter") && strings.EqualFold(arg.Name, "Position") {
					explicit = true
				}
			}
		}
	}
	takesPipeline := false
	pos := 0
	for _, d := range pb.Params {
		p := &Param{Name: d.Name, Type: TAny, TypeName: d.Type}
		switch strings.ToLower(strings.TrimPrefix(strings.ToLower(d.Type), "system.")) {
		case "switch", "management.automation.switchparameter":
			p.Type = TSwitch
		case "bool", "boolean":
			p.Type = TBool
		case "securestring", "security.securestring":
			p.Type = TSecureString
		}
		if p.Type != TSwitch && !explicit {
			pos++
			p.Position = pos
		}
		for _, a := range d.Attributes {
			switch strings.ToLower(a.Name) {
			case "parameter":
				for _, arg := range a.Args {
					on := arg.Value == nil || attrTrue(arg.Value)
					switch strings.ToLower(arg.Name) {
					case "mandatory":
						p.Mandatory = on
					case "valuefrompipeline":
						p.FromPipeline = on
					case "valuefrompipelinebypropertyname":
						p.FromPipelineByName = on
					case "position":
						if n, ok := arg.Value.(*syntax.NumberLit); ok {
							if i, ok := n.Value.(int64); ok {
								p.Position = int(i) + 1
							}
						}
					case "helpmessage":
						if sl, ok := arg.Value.(*syntax.StringLit); ok {
							p.Help = sl.Value
						}
					}
				}
			case "validateset":
				for _, arg := range a.Args {
					for _, e := range attrStrings(arg.Value) {
						p.Enum = append(p.Enum, e)
					}
				}
				if len(p.Enum) > 0 && p.Type == TAny {
					p.Type = TEnum
				}
			case "alias":
				for _, arg := range a.Args {
					p.Aliases = append(p.Aliases, attrStrings(arg.Value)...)
				}
			}
		}
		takesPipeline = takesPipeline || p.FromPipeline || p.FromPipelineByName
		info.Params = append(info.Params, p)
	}
	if !takesPipeline {
		info.Params = append(info.Params, &Param{Name: hiddenInput, Type: TAny, FromPipeline: true})
	}
	if !advanced {
		info.Params = append(info.Params, &Param{Name: hiddenArgs, Type: TAny, Position: 1 << 20, Remaining: true})
	}
	return info
}

// attrTrue reads an attribute argument such as Mandatory = $true.
func attrTrue(x syntax.Expr) bool {
	switch v := x.(type) {
	case *syntax.Variable:
		return !strings.EqualFold(v.Name, "false")
	case *syntax.NumberLit:
		return isTrue(v.Value)
	}
	return true
}

// attrStrings reads the constant strings of an attribute argument.
func attrStrings(x syntax.Expr) []string {
	switch v := x.(type) {
	case *syntax.StringLit:
		return []string{v.Value}
	case *syntax.NumberLit:
		return []string{v.Text}
	case *syntax.ArrayLit:
		var out []string
		for _, e := range v.Elems {
			out = append(out, attrStrings(e)...)
		}
		return out
	}
	return nil
}

// functionCmdlet makes a function callable as a command.
func (s *Session) functionCmdlet(fn *syntax.Function) *Cmdlet {
	info := paramsCmdlet(fn.Name, fn.Params)
	info.New = func() Impl { return s.functionImpl(fn) }
	return info
}

// bindParamVars sets a param() block's variables in scope from a call's
// bound arguments, converting to the declared types, and evaluates the
// defaults of those left unbound (in order, so that a default may use an
// earlier parameter). $args holds the arguments left over and
// $PSBoundParameters those bound.
func (s *Session) bindParamVars(ctx context.Context, c *Call, pb *syntax.ParamBlock, scope map[string]*variable) error {
	bound := NewHashtable()
	if pb != nil {
		for _, d := range pb.Params {
			k := strings.ToLower(d.Name)
			v, ok := c.named[k]
			if !ok {
				if d.Default != nil {
					dv, err := s.eval(ctx, d.Default)
					if err != nil {
						return err
					}
					v = dv
				} else if p := c.lookupParam(d.Name); p != nil && p.Type == TSwitch {
					v = false
				}
			} else {
				bound.Set(d.Name, v)
			}
			cv, err := convertDeclared(c.Cmdlet.Name, d, v, ok || d.Default != nil)
			if err != nil {
				return err
			}
			scope[k] = &variable{name: d.Name, value: cv}
		}
	}
	var args []any
	if v, ok := c.named[strings.ToLower(hiddenArgs)]; ok {
		args = ToArray(v)
		if v == nil {
			args = []any{nil}
		}
	}
	if args == nil {
		args = []any{}
	}
	scope["args"] = &variable{name: "args", value: args}
	scope["psboundparameters"] = &variable{name: "PSBoundParameters", value: bound}
	return nil
}

// convertDeclared converts a parameter's value to its declared type
// ([int]$n), with PowerShell's message when it cannot.
func convertDeclared(cmd string, d *syntax.ParamDecl, v any, has bool) (any, error) {
	t := strings.TrimPrefix(strings.ToLower(d.Type), "system.")
	if !has {
		// an unbound typed parameter has its type's empty value
		switch t {
		case "switch", "bool", "boolean":
			return false, nil
		case "string", "int", "int32", "long", "int64", "double":
			return castValue(d.Type, nil)
		}
		return nil, nil
	}
	if t == "" || t == "switch" || t == "bool" || t == "boolean" || t == "object" || strings.HasSuffix(t, "securestring") {
		return v, nil
	}
	cv, err := castValue(d.Type, v)
	if err != nil {
		var e *Error
		msg := err.Error()
		if errors.As(err, &e) {
			msg = e.Msg
		}
		return nil, errorf(cmd, "Cannot process argument transformation on parameter '%s'. %s", d.Name, msg)
	}
	return cv, nil
}

// functionImpl runs one invocation of a function: begin, then process for
// each pipeline object (with $_ and the pipeline parameters set), then end
// with $input holding the objects when there is no process block. The
// function has its own scope; return ends the block it is in.
func (s *Session) functionImpl(fn *syntax.Function) Impl {
	scope := map[string]*variable{}
	var input []any
	processBody := fn.Process
	endBody := fn.End
	if fn.Filter && !fn.Named {
		processBody, endBody = fn.End, nil
	}
	run := func(ctx context.Context, b *syntax.Block, c *Call) error {
		if b == nil {
			return nil
		}
		if err := s.enterCall(); err != nil {
			return err
		}
		defer s.leaveCall()
		s.scopes = append(s.scopes, scope)
		depth := len(s.scopes)
		defer func() { s.scopes = s.scopes[:depth-1] }()
		// the commands after the function run in the caller's scope
		// (capacity clipped, so that they cannot overwrite this one)
		emit := func(v any) error {
			saved := s.scopes
			s.scopes = saved[: depth-1 : depth-1]
			defer func() { s.scopes = saved }()
			return c.Emit(v)
		}
		err := s.execStatements(ctx, b.Statements, emit)
		var r *errReturn
		if errors.As(err, &r) {
			return nil
		}
		return err
	}
	return Impl{
		Begin: func(ctx context.Context, c *Call) error {
			s.scopes = append(s.scopes, scope)
			depth := len(s.scopes)
			err := s.bindParamVars(ctx, c, fn.Params, scope)
			s.scopes = s.scopes[:depth-1]
			if err != nil {
				return err
			}
			return run(ctx, fn.Begin, c)
		},
		Process: func(ctx context.Context, c *Call) error {
			if processBody == nil {
				if c.HasInput {
					input = append(input, c.Input)
				}
				return nil
			}
			scope["_"] = &variable{name: "_", value: c.Input}
			scope["input"] = &variable{name: "input", value: []any{c.Input}}
			if fn.Params != nil {
				for _, d := range fn.Params.Params {
					k := strings.ToLower(d.Name)
					if v, ok := c.pipe[k]; ok {
						cv, err := convertDeclared(c.Cmdlet.Name, d, v, true)
						if err != nil {
							return c.WriteError(err.(*Error).Msg)
						}
						scope[k] = &variable{name: d.Name, value: cv}
					}
				}
			}
			return run(ctx, processBody, c)
		},
		End: func(ctx context.Context, c *Call) error {
			if input == nil {
				input = []any{}
			}
			scope["input"] = &variable{name: "input", value: input}
			delete(scope, "_")
			return run(ctx, endBody, c)
		},
	}
}

// maxCallDepth bounds how deeply functions and script blocks may call
// one another, so that runaway recursion is an error, as in PowerShell,
// and not a crash of the shell.
const maxCallDepth = 1000

func (s *Session) enterCall() error {
	if s.callDepth >= maxCallDepth {
		return &errThrown{err: &Error{Source: "ScriptCallDepthException", Msg: "The script failed due to call depth overflow."}}
	}
	s.callDepth++
	return nil
}

func (s *Session) leaveCall() { s.callDepth-- }

// lookupCommand finds a function or, failing that, a cmdlet, as
// PowerShell's command precedence has it.
func (s *Session) lookupCommand(name string) (*Cmdlet, bool) {
	if f, ok := s.functions[strings.ToLower(name)]; ok {
		return f, true
	}
	return s.reg.Lookup(name)
}

// SetScriptArguments gives a script file's own param() block its name
// (for messages) and the arguments that followed it on the command line:
// gatehouse shell script.ps1 -Name value. $PSCommandPath is the script's
// full path and $PSScriptRoot its directory, so that a script finds the
// files beside it ("$PSScriptRoot/users.csv").
func (s *Session) SetScriptArguments(file string, args []string) {
	s.scriptName = filepath.Base(file)
	s.scriptArgs = args
	if abs, err := filepath.Abs(file); err == nil {
		_ = s.setVar("PSCommandPath", abs)
		_ = s.setVar("PSScriptRoot", filepath.Dir(abs))
	}
}

// bindScriptParams binds the script's param() block to its arguments, in
// the global scope.
func (s *Session) bindScriptParams(ctx context.Context, pb *syntax.ParamBlock) error {
	name := s.scriptName
	if name == "" {
		name = "script"
	}
	info := paramsCmdlet(name, pb)
	c := &Call{s: s, Cmdlet: info, Position: 1}
	cmd := &syntax.Command{Name: name, Elements: scriptArgElements(s.scriptArgs)}
	if err := s.bindArguments(ctx, c, cmd); err != nil {
		return err
	}
	if err := s.checkMandatory(c, false); err != nil {
		return err
	}
	return s.bindParamVars(ctx, c, pb, s.scopes[0])
}

// scriptArgElements turns command-line arguments into the elements of a
// command: -Name and -Name:value are parameters, the rest text.
func scriptArgElements(args []string) []syntax.Node {
	var out []syntax.Node
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && (a[1] == '_' || a[1] >= 'A' && a[1] <= 'Z' || a[1] >= 'a' && a[1] <= 'z') {
			name, val, colon := strings.Cut(a[1:], ":")
			p := &syntax.Parameter{Name: name, Colon: colon}
			if colon {
				p.Arg = &syntax.StringLit{Value: val, Bare: true}
			}
			out = append(out, p)
			continue
		}
		out = append(out, &syntax.StringLit{Value: a, Bare: true})
	}
	return out
}
