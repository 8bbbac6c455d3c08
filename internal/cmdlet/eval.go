package cmdlet

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// execStatement runs one statement, sending its output to emit.
func (s *Session) execStatement(ctx context.Context, st syntax.Statement, emit func(any) error) error {
	switch n := st.(type) {
	case *syntax.Pipeline:
		return s.runPipeline(ctx, n, emit)
	case *syntax.Assignment:
		return s.assign(ctx, n)
	case *syntax.If:
		for _, c := range n.Clauses {
			v, err := s.statementValue(ctx, c.Cond)
			if err != nil {
				return err
			}
			if isTrue(v) {
				return s.execStatements(ctx, c.Body.Statements, emit)
			}
		}
		if n.Else != nil {
			return s.execStatements(ctx, n.Else.Statements, emit)
		}
		return nil
	case *syntax.Foreach:
		coll, err := s.statementValue(ctx, n.Collection)
		if err != nil {
			return err
		}
		items := ToArray(coll)
		if coll == nil {
			items = nil
		}
		for _, item := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.setVar(n.Var, item); err != nil {
				return err
			}
			if brk, err := loopControl(s.execStatements(ctx, n.Body.Statements, emit), n.Label); err != nil || brk {
				return err
			}
		}
		return nil
	}
	return s.execControl(ctx, st, emit)
}

// execStatements runs statements in order. A statement-terminating error
// (see errorrecord.go) is shown and the next statement runs, as in
// PowerShell, also in the script block of ForEach-Object; flow control and
// script-terminating errors end the block, as does any error under
// $ErrorActionPreference = 'Stop'.
func (s *Session) execStatements(ctx context.Context, stmts []syntax.Statement, emit func(any) error) error {
	for _, st := range stmts {
		err := s.execStatement(ctx, st, emit)
		if err == nil {
			continue
		}
		if !statementError(ctx, err) {
			return err
		}
		if s.tryDepth > 0 {
			// try catches what would otherwise end only the statement
			return err
		}
		if s.preference("ErrorActionPreference") == "Stop" {
			return &actionStopError{err: err}
		}
		s.WriteError(err)
	}
	return nil
}

// statementValue runs a statement and collects its output: nothing is
// $null, one object itself, more an array.
func (s *Session) statementValue(ctx context.Context, st syntax.Statement) (any, error) {
	if pl, ok := st.(*syntax.Pipeline); ok && len(pl.Elements) == 1 {
		if e, ok := pl.Elements[0].(*syntax.ExprElement); ok {
			// a plain expression keeps its value (an array stays one)
			return s.eval(ctx, e.X)
		}
	}
	var out []any
	err := s.execStatement(ctx, st, func(v any) error { out = append(out, v); return nil })
	return collect(out), err
}

func (s *Session) assign(ctx context.Context, n *syntax.Assignment) error {
	v, err := s.statementValue(ctx, n.Value)
	if err != nil {
		return err
	}
	if n.Op != "=" {
		cur, err := s.eval(ctx, n.Target)
		if err != nil {
			return err
		}
		v, err = binaryOp(s, strings.TrimSuffix(n.Op, "="), cur, v)
		if err != nil {
			return err
		}
	}
	return s.assignTo(ctx, n.Target, v)
}

func (s *Session) assignTo(ctx context.Context, target syntax.Expr, v any) error {
	switch t := target.(type) {
	case *syntax.Variable:
		return s.setVar(t.Name, v)
	case *syntax.Cast:
		cv, err := castValue(t.Type, v)
		if err != nil {
			return err
		}
		return s.assignTo(ctx, t.X, cv)
	case *syntax.Member:
		obj, err := s.eval(ctx, t.X)
		if err != nil {
			return err
		}
		name, err := s.memberName(ctx, t.Name)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *Object:
			o.Set(name, v)
			return nil
		case *Hashtable:
			o.Set(name, v)
			return nil
		}
		return errorf(catInvalidOperation, "The property '%s' cannot be found on this object. Verify that the property exists and can be set.", name)
	case *syntax.Index:
		obj, err := s.eval(ctx, t.X)
		if err != nil {
			return err
		}
		idx, err := s.eval(ctx, t.Index)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *Hashtable:
			o.Set(idx, v)
			return nil
		case []any:
			i, ok := toInt(idx)
			if !ok {
				return errorf(catInvalidArgument, "Cannot convert value %q to type \"System.Int32\".", ToString(idx))
			}
			if i < 0 {
				i += int64(len(o))
			}
			if i < 0 || i >= int64(len(o)) {
				return errorf("IndexOutOfRange", "Index was outside the bounds of the array.")
			}
			o[i] = v
			return nil
		case *Object:
			o.Set(ToString(idx), v)
			return nil
		}
		return errorf(catInvalidOperation, "Unable to index into an object of type %s.", typeName(obj))
	}
	return errorf(catInvalidOperation, "The assignment expression is not valid.")
}

// eval evaluates an expression.
func (s *Session) eval(ctx context.Context, x syntax.Expr) (any, error) {
	switch n := x.(type) {
	case *syntax.StringLit:
		return n.Value, nil
	case *syntax.NumberLit:
		return n.Value, nil
	case *syntax.Variable:
		v, _ := s.getVar(n.Name)
		return v, nil
	case *syntax.ExpandString:
		var b strings.Builder
		for _, p := range n.Parts {
			v, err := s.eval(ctx, p)
			if err != nil {
				return nil, err
			}
			b.WriteString(ToString(v))
		}
		return b.String(), nil
	case *syntax.ArrayLit:
		out := make([]any, 0, len(n.Elems))
		for _, e := range n.Elems {
			v, err := s.eval(ctx, e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *syntax.Paren:
		return s.statementValue(ctx, n.X)
	case *syntax.SubExpr:
		var out []any
		err := s.execStatements(ctx, n.Statements, func(v any) error { out = append(out, v); return nil })
		return collect(out), err
	case *syntax.ArrayExpr:
		out := []any{}
		err := s.execStatements(ctx, n.Statements, func(v any) error { out = append(out, v); return nil })
		return out, err
	case *syntax.Hashtable:
		h := NewHashtable()
		for _, e := range n.Entries {
			k, err := s.eval(ctx, e.Key)
			if err != nil {
				return nil, err
			}
			v, err := s.statementValue(ctx, e.Value)
			if err != nil {
				return nil, err
			}
			h.Set(k, v)
		}
		return h, nil
	case *syntax.ScriptBlock:
		return &ScriptBlock{Node: n}, nil
	case *syntax.Member:
		obj, err := s.eval(ctx, n.X)
		if err != nil {
			return nil, err
		}
		name, err := s.memberName(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		if n.Static {
			t, ok := n.X.(*syntax.TypeLit)
			if !ok {
				return nil, errorf(catInvalidOperation, "Static members can only be used on a type, as in [datetime]::Now.")
			}
			return s.staticMember(t.Type, name)
		}
		v, _ := property(obj, name)
		return v, nil
	case *syntax.Invoke:
		return s.invokeMethod(ctx, n)
	case *syntax.Index:
		obj, err := s.eval(ctx, n.X)
		if err != nil {
			return nil, err
		}
		idx, err := s.eval(ctx, n.Index)
		if err != nil {
			return nil, err
		}
		return indexValue(obj, idx)
	case *syntax.Unary:
		v, err := s.eval(ctx, n.X)
		if err != nil {
			return nil, err
		}
		return unaryOp(n.Op, v)
	case *syntax.Cast:
		v, err := s.eval(ctx, n.X)
		if err != nil {
			return nil, err
		}
		return castValue(n.Type, v)
	case *syntax.TypeLit:
		return typeValue(n.Type), nil
	case *syntax.Binary:
		return s.evalBinary(ctx, n)
	case *syntax.IncDec:
		old, err := s.eval(ctx, n.X)
		if err != nil {
			return nil, err
		}
		v, err := arith(n.Op[:1], old, int64(1))
		if err != nil {
			return nil, err
		}
		if old == nil {
			v = int64(1)
			if n.Op == "--" {
				v = int64(-1)
			}
		}
		if err := s.assignTo(ctx, n.X, v); err != nil {
			return nil, err
		}
		if n.Prefix {
			return v, nil
		}
		return old, nil
	}
	return nil, errorf(catRuntime, "unsupported expression %T", x)
}

func (s *Session) memberName(ctx context.Context, x syntax.Expr) (string, error) {
	if sl, ok := x.(*syntax.StringLit); ok {
		return sl.Value, nil
	}
	v, err := s.eval(ctx, x)
	return ToString(v), err
}

func (s *Session) evalBinary(ctx context.Context, n *syntax.Binary) (any, error) {
	l, err := s.eval(ctx, n.L)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "-and":
		if !isTrue(l) {
			return false, nil
		}
		r, err := s.eval(ctx, n.R)
		return isTrue(r), err
	case "-or":
		if isTrue(l) {
			return true, nil
		}
		r, err := s.eval(ctx, n.R)
		return isTrue(r), err
	}
	r, err := s.eval(ctx, n.R)
	if err != nil {
		return nil, err
	}
	return binaryOp(s, n.Op, l, r)
}

func indexValue(obj, idx any) (any, error) {
	switch o := obj.(type) {
	case nil:
		return nil, errorf(catInvalidOperation, "Cannot index into a null array.")
	case *Hashtable:
		if arr, ok := idx.([]any); ok {
			var out []any
			for _, k := range arr {
				v, _ := o.Get(k)
				out = append(out, v)
			}
			return out, nil
		}
		v, _ := o.Get(idx)
		return v, nil
	case *Object:
		v, _ := o.Get(ToString(idx))
		return v, nil
	case string:
		rs := []rune(o)
		i, ok := toInt(idx)
		if !ok {
			return nil, nil
		}
		if i < 0 {
			i += int64(len(rs))
		}
		if i < 0 || i >= int64(len(rs)) {
			return nil, nil
		}
		return string(rs[i]), nil
	}
	arr := ToArray(obj)
	if ix, ok := idx.([]any); ok {
		var out []any
		for _, e := range ix {
			v, err := indexValue(arr, e)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	}
	i, ok := toInt(idx)
	if !ok {
		return nil, errorf(catInvalidArgument, "Cannot convert value %q to type \"System.Int32\".", ToString(idx))
	}
	if i < 0 {
		i += int64(len(arr))
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, nil
	}
	return arr[i], nil
}

// invokeBlock runs a script block with $_ set to item, in the current
// scope, sending its output to emit.
func (s *Session) invokeBlock(ctx context.Context, sb *ScriptBlock, item any, emit func(any) error) error {
	if err := s.enterCall(); err != nil {
		return err
	}
	defer s.leaveCall()
	prev, had := s.scopes[len(s.scopes)-1]["_"]
	_ = s.setVar("_", item)
	defer func() {
		if had {
			s.scopes[len(s.scopes)-1]["_"] = prev
		} else {
			delete(s.scopes[len(s.scopes)-1], "_")
		}
	}()
	err := s.execStatements(ctx, sb.Node.Statements, emit)
	var r *errReturn
	if errors.As(err, &r) {
		// return ends the script block (in ForEach-Object: this object)
		return nil
	}
	return err
}

// blockValue runs a script block for one item and collects its output.
func (s *Session) blockValue(ctx context.Context, sb *ScriptBlock, item any) (any, error) {
	var out []any
	err := s.invokeBlock(ctx, sb, item, func(v any) error { out = append(out, v); return nil })
	return collect(out), err
}

// typeValue is the value of [type] alone: its name.
func typeValue(t string) any { return &TypeRef{Name: t} }

// TypeRef is a type literal used as a value, as the right side of -is.
type TypeRef struct{ Name string }

func (t *TypeRef) String() string { return t.Name }

func (s *Session) staticMember(typ, name string) (any, error) {
	switch strings.ToLower(typ) + "::" + strings.ToLower(name) {
	case "datetime::now", "system.datetime::now":
		return s.now(), nil
	case "datetime::utcnow", "system.datetime::utcnow":
		return s.now().UTC(), nil
	case "datetime::today", "system.datetime::today":
		y, m, d := s.now().Date()
		return dateOf(y, m, d), nil
	case "int::maxvalue", "int32::maxvalue", "system.int32::maxvalue":
		return int64(1<<31 - 1), nil
	case "int::minvalue", "int32::minvalue", "system.int32::minvalue":
		return int64(-1 << 31), nil
	case "long::maxvalue", "int64::maxvalue":
		return int64(1<<63 - 1), nil
	case "string::empty", "system.string::empty":
		return "", nil
	case "math::pi", "system.math::pi":
		return 3.141592653589793, nil
	case "environment::newline", "system.environment::newline":
		return "\n", nil
	}
	return nil, errorf(catInvalidOperation, "The static property '%s' is not available on [%s] in this shell.", name, typ)
}
