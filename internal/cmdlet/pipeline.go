package cmdlet

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// stage is one command of a running pipeline.
type stage struct {
	call *Call
	impl Impl
	// prog counts the objects handed to the pipeline's working command
	// (the first that takes pipeline input), for the progress line.
	prog *pipeProgress
}

// notRecognized is PowerShell's message for an unknown command.
func notRecognized(name string) *Error {
	return errorf("CommandNotFoundException", "The term '%s' is not recognized as a name of a cmdlet, function, script file, or executable program.\nCheck the spelling of the name, or if a path was included, verify that the path is correct and try again.", name)
}

// runPipeline runs a pipeline: PowerShell's streaming model, in which each
// object a command writes goes at once through the commands after it.
// Every command's Begin runs first, then the objects flow, then every End
// in order (an End may still write objects downstream).
func (s *Session) runPipeline(ctx context.Context, pl *syntax.Pipeline, sink func(any) error) (err error) {
	var head syntax.Expr
	elems := pl.Elements
	if e, ok := elems[0].(*syntax.ExprElement); ok {
		head = e.X
		elems = elems[1:]
	}
	if r := pl.Redirect; r != nil {
		elems = append(elems[:len(elems):len(elems)], redirectCommand(r))
	}
	if head != nil && len(elems) == 0 {
		v, err := s.eval(ctx, head)
		if err != nil {
			return err
		}
		if _, ok := head.(*syntax.IncDec); ok {
			// $i++ as a statement writes nothing, as an assignment
			return nil
		}
		return emitEnumerated(v, sink)
	}
	stages := make([]*stage, len(elems))
	for i, el := range elems {
		cmd := el.(*syntax.Command)
		st, err := s.prepare(ctx, cmd, i+1, head != nil || i > 0)
		if err != nil {
			return err
		}
		stages[i] = st
	}
	for i, st := range stages {
		i := i
		if i == len(stages)-1 {
			st.call.emit = func(v any) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return sink(v)
			}
		} else {
			next := stages[i+1]
			st.call.emit = func(v any) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return s.process(ctx, next, v, i+1)
			}
		}
	}
	// The first command fed by the pipeline is the one whose progress a
	// long pipeline shows.
	watched := stages[0]
	if head == nil && len(stages) > 1 {
		watched = stages[1]
	}
	if head != nil || len(stages) > 1 {
		watched.prog = &pipeProgress{name: watched.call.Cmdlet.Name, start: s.now()}
		defer s.progress.clear()
	}
	defer func() {
		if r := recover(); r != nil {
			// A bug in a cmdlet must not take the shell down.
			slog.Error("cmdlet panic", "panic", r, "stack", string(debug.Stack()))
			err = errorf(catRuntime, "internal error: %v", r)
		}
	}()
	for _, st := range stages {
		if st.impl.Begin != nil {
			if err := st.impl.Begin(ctx, st.call); err != nil {
				return err
			}
		}
	}
	from := 0
	runErr := func() error {
		if head != nil {
			v, err := s.eval(ctx, head)
			if err != nil {
				return err
			}
			items := ToArray(v)
			if v == nil {
				items = []any{nil}
			}
			stages[0].prog.total = len(items)
			for _, item := range items {
				if err := s.process(ctx, stages[0], item, 0); err != nil {
					return err
				}
			}
			return nil
		}
		return s.processNoInput(ctx, stages[0])
	}()
	if stop, ok := IsStop(runErr); ok {
		from, runErr = stop.stage, nil
	}
	if runErr != nil {
		return runErr
	}
	for i := from; i < len(stages); i++ {
		st := stages[i]
		if st.impl.End == nil {
			continue
		}
		st.call.pipe, st.call.Input, st.call.HasInput = nil, nil, false
		if err := st.impl.End(ctx, st.call); err != nil {
			if stop, ok := IsStop(err); ok {
				// a later command stopped: skip the Ends up to it
				i = stop.stage - 1
				continue
			}
			return err
		}
	}
	return nil
}

// emitEnumerated writes a value to the pipeline, enumerating arrays.
func emitEnumerated(v any, emit func(any) error) error {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	}
	if v == nil {
		return nil
	}
	return emit(v)
}

// prepare resolves a command, binds its command-line arguments and checks
// its mandatory parameters.
func (s *Session) prepare(ctx context.Context, cmd *syntax.Command, position int, expectInput bool) (*stage, error) {
	name := cmd.Name
	if cmd.NameExpr != nil {
		v, err := s.eval(ctx, cmd.NameExpr)
		if err != nil {
			return nil, err
		}
		if sb, ok := v.(*ScriptBlock); ok {
			return s.scriptBlockStage(sb, position), nil
		}
		name = ToString(v)
	}
	info, ok := s.lookupCommand(name)
	if !ok {
		return nil, notRecognized(name)
	}
	c := &Call{s: s, Cmdlet: info, Position: position, expectInput: expectInput}
	if err := s.bindArguments(ctx, c, cmd); err != nil {
		return nil, err
	}
	if err := s.checkMandatory(c, false); err != nil {
		return nil, err
	}
	if info.NeedsServer && s.api == nil {
		return nil, errorf(info.Name, "Not connected to a Gatehouse server. Sign in with Connect-ExchangeOnline -ConnectionUri URL -UserPrincipalName NAME, or start the shell with --server URL --user NAME (or GATEHOUSE_SERVER and GATEHOUSE_USER).")
	}
	c.startVariables()
	return &stage{call: c, impl: info.New()}, nil
}

// scriptBlockStage runs & { ... } as a pipeline command: its body runs once
// per input object with $_ set, in a new scope.
func (s *Session) scriptBlockStage(sb *ScriptBlock, position int) *stage {
	info := &Cmdlet{Name: "ScriptBlock", Params: []*Param{{Name: "InputObject", Type: TAny, FromPipeline: true}}}
	c := &Call{s: s, Cmdlet: info, Position: position, named: map[string]any{}}
	run := func(ctx context.Context, c *Call) error {
		s.pushScope()
		defer s.popScope()
		return s.invokeBlock(ctx, sb, c.Input, c.Emit)
	}
	return &stage{call: c, impl: Impl{Process: run}}
}

// process hands one pipeline object to a stage.
func (s *Session) process(ctx context.Context, st *stage, in any, index int) error {
	c := st.call
	if err := s.bindPipeline(c, in); err != nil {
		var e *Error
		if errors.As(err, &e) {
			if werr := c.WriteError(e.Msg); werr != nil {
				return werr
			}
			return nil
		}
		return err
	}
	if err := s.checkMandatory(c, true); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return c.WriteError(e.Msg)
		}
		return err
	}
	if st.impl.Process == nil {
		return nil
	}
	if st.prog != nil {
		s.tick(st.prog)
	}
	err := st.impl.Process(ctx, c)
	if stop, ok := IsStop(err); ok && stop.stage < 0 {
		stop.stage = index
	}
	c.collectError(err)
	return err
}

func (s *Session) processNoInput(ctx context.Context, st *stage) error {
	c := st.call
	c.pipe, c.Input, c.HasInput = map[string]any{}, nil, false
	if st.impl.Process == nil {
		return nil
	}
	err := st.impl.Process(ctx, c)
	if stop, ok := IsStop(err); ok && stop.stage < 0 {
		stop.stage = 0
	}
	c.collectError(err)
	return err
}

// Stop returns the error a cmdlet returns to stop the commands before it
// (Select-Object -First once it has enough).
func Stop() error { return &errStop{stage: -1} }

// redirectCommand is the command that "> target" and ">> target" stand
// for, as in PowerShell: Out-File (with -Append for >>), or Out-Null when
// the target is $null.
func redirectCommand(r *syntax.Redirect) *syntax.Command {
	if v, ok := r.Target.(*syntax.Variable); ok && strings.EqualFold(v.Name, "null") {
		return &syntax.Command{Name: "Out-Null", Offset: r.Offset}
	}
	cmd := &syntax.Command{Name: "Out-File", Offset: r.Offset, Elements: []syntax.Node{
		&syntax.Parameter{Name: "FilePath", Colon: true, Arg: r.Target, Offset: r.Offset},
	}}
	if r.Append {
		cmd.Elements = append(cmd.Elements, &syntax.Parameter{Name: "Append", Offset: r.Offset})
	}
	return cmd
}
