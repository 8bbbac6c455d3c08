package opath

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Getter returns the value of a property of the object being tested, and
// whether the object has that property. Names are passed as written in the
// filter (or as canonicalized by Check); a Getter should match them
// case-insensitively.
//
// Values may be nil, string, bool, any integer or float type, time.Time,
// *time.Time, fmt.Stringer, or a slice of those (a multi-valued property
// such as EmailAddresses, which matches when any element matches).
type Getter func(property string) (any, bool)

// Eval reports whether the object behind get matches e. A property that
// get does not know is an error naming it; a value that cannot be compared
// with the property's value is an error too.
func Eval(e Expr, get Getter) (bool, error) {
	switch n := e.(type) {
	case *And:
		l, err := Eval(n.Left, get)
		if err != nil || !l {
			return false, err
		}
		return Eval(n.Right, get)
	case *Or:
		l, err := Eval(n.Left, get)
		if err != nil || l {
			return l, err
		}
		return Eval(n.Right, get)
	case *Not:
		x, err := Eval(n.X, get)
		return !x, err
	case *Comparison:
		v, ok := get(n.Property)
		if !ok {
			return false, fmt.Errorf("%q is not a recognized filterable property", n.Property)
		}
		return compare(v, n.Op, n.Value)
	}
	return false, fmt.Errorf("opath: unknown node %T", e)
}

// compare applies op to the property value v and the literal lit.
func compare(v any, op Op, lit Value) (bool, error) {
	v = deref(v)
	if rv := reflect.ValueOf(v); v != nil && rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		// Multi-valued: -eq/-like and the orderings hold when any element
		// matches; -ne/-notlike when no element equals/matches.
		if lit.Kind == KindNull {
			empty := rv.Len() == 0
			return (op == OpEq) == empty, checkNullOp(op)
		}
		neg := op == OpNe || op == OpNotLike
		pos := op
		if op == OpNe {
			pos = OpEq
		} else if op == OpNotLike {
			pos = OpLike
		}
		for i := range rv.Len() {
			m, err := compare(rv.Index(i).Interface(), pos, lit)
			if err != nil {
				return false, err
			}
			if m {
				return !neg, nil
			}
		}
		return neg, nil
	}
	if lit.Kind == KindNull {
		if err := checkNullOp(op); err != nil {
			return false, err
		}
		isNull := v == nil
		if s, ok := v.(string); ok && s == "" {
			isNull = true
		}
		if t, ok := v.(time.Time); ok && t.IsZero() {
			isNull = true
		}
		return (op == OpEq) == isNull, nil
	}
	if v == nil {
		// A null property equals nothing but $null.
		return op == OpNe || op == OpNotLike, nil
	}
	switch x := v.(type) {
	case string:
		return compareString(x, op, lit)
	case bool:
		b, err := lit.AsBool()
		if err != nil {
			return false, err
		}
		switch op {
		case OpEq:
			return x == b, nil
		case OpNe:
			return x != b, nil
		}
		return false, fmt.Errorf("the operator %s cannot be used with a Boolean property", op)
	case time.Time:
		t, err := lit.AsTime()
		if err != nil {
			return false, err
		}
		return ordered(x.Compare(t), op)
	case fmt.Stringer:
		return compareString(x.String(), op, lit)
	}
	if f, ok := toFloat(v); ok {
		if op == OpLike || op == OpNotLike {
			return compareString(strconv.FormatFloat(f, 'f', -1, 64), op, lit)
		}
		g, err := lit.Float64()
		if err != nil {
			return false, err
		}
		c := 0
		if f < g {
			c = -1
		} else if f > g {
			c = 1
		}
		return ordered(c, op)
	}
	return compareString(fmt.Sprint(v), op, lit)
}

func checkNullOp(op Op) error {
	if op == OpEq || op == OpNe {
		return nil
	}
	return fmt.Errorf("$null can only be compared with -eq or -ne, not %s", op)
}

func compareString(s string, op Op, lit Value) (bool, error) {
	pat := lit.Str
	switch lit.Kind {
	case KindBool:
		pat = strconv.FormatBool(lit.Bool)
	case KindDate:
		pat = lit.Time.Format(time.RFC3339Nano)
	}
	switch op {
	case OpLike:
		return Like(pat, s), nil
	case OpNotLike:
		return !Like(pat, s), nil
	}
	return ordered(strings.Compare(strings.ToLower(s), strings.ToLower(pat)), op)
}

// ordered turns a three-way comparison into the result of op.
func ordered(c int, op Op) (bool, error) {
	switch op {
	case OpEq:
		return c == 0, nil
	case OpNe:
		return c != 0, nil
	case OpLt:
		return c < 0, nil
	case OpGt:
		return c > 0, nil
	case OpLe:
		return c <= 0, nil
	case OpGe:
		return c >= 0, nil
	}
	return false, fmt.Errorf("the operator %s can only be used with text", op)
}

func deref(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	return rv.Interface()
}

func toFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		return f, !math.IsNaN(f)
	}
	return 0, false
}
