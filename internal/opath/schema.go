package opath

import (
	"fmt"
	"sort"
	"strings"
)

// Type is the type of a filterable property.
type Type int

// The property types a Schema can declare.
const (
	TypeString  Type = iota + 1 // text; -like allowed
	TypeBool                    // $true/$false; -eq/-ne only
	TypeInt                     // whole numbers
	TypeDate                    // dates and times
	TypeStrings                 // multi-valued text (EmailAddresses)
)

func (t Type) dotnet() string {
	switch t {
	case TypeBool:
		return "System.Boolean"
	case TypeInt:
		return "System.Int64"
	case TypeDate:
		return "System.DateTime"
	}
	return "System.String"
}

// Schema lists the properties a filter may name, with their types.
// Keys are the canonical spellings (PascalCase, as the cmdlets show them);
// lookups ignore case.
type Schema map[string]Type

// lookup finds name ignoring case and returns the canonical spelling.
func (s Schema) lookup(name string) (string, Type, bool) {
	if t, ok := s[name]; ok {
		return name, t, true
	}
	for k, t := range s {
		if strings.EqualFold(k, name) {
			return k, t, true
		}
	}
	return "", 0, false
}

// Names returns the property names in sorted order.
func (s Schema) Names() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check validates e against the schema and returns a copy in which every
// property is spelled canonically and every value has the property's type:
// KindBool for TypeBool, KindNumber for TypeInt, KindDate for TypeDate,
// KindString for text ($null stays KindNull). filter is the text e was
// parsed from, for the error message. Errors are *Error (ErrProperty or
// ErrValue). e itself is not modified.
func Check(filter string, e Expr, s Schema) (Expr, error) {
	switch n := e.(type) {
	case *And:
		l, err := Check(filter, n.Left, s)
		if err != nil {
			return nil, err
		}
		r, err := Check(filter, n.Right, s)
		if err != nil {
			return nil, err
		}
		return &And{Left: l, Right: r, Offset: n.Offset}, nil
	case *Or:
		l, err := Check(filter, n.Left, s)
		if err != nil {
			return nil, err
		}
		r, err := Check(filter, n.Right, s)
		if err != nil {
			return nil, err
		}
		return &Or{Left: l, Right: r, Offset: n.Offset}, nil
	case *Not:
		x, err := Check(filter, n.X, s)
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Offset: n.Offset}, nil
	case *Comparison:
		return checkComparison(filter, n, s)
	}
	return nil, fmt.Errorf("opath: unknown node %T", e)
}

func checkComparison(filter string, c *Comparison, s Schema) (Expr, error) {
	name, typ, ok := s.lookup(c.Property)
	if !ok {
		return nil, &Error{Kind: ErrProperty, Filter: filter, Offset: c.Offset, Property: c.Property, Valid: s.Names()}
	}
	out := &Comparison{Property: name, Op: c.Op, Value: c.Value, Offset: c.Offset}
	bad := func(detail string) error {
		return &Error{Kind: ErrValue, Filter: filter, Offset: c.Offset, Property: name, Detail: detail}
	}
	if c.Value.Kind == KindNull {
		if c.Op != OpEq && c.Op != OpNe {
			return nil, bad(fmt.Sprintf("$null can only be compared with -eq or -ne, not %s.", c.Op))
		}
		return out, nil
	}
	like := c.Op == OpLike || c.Op == OpNotLike
	if like && typ != TypeString && typ != TypeStrings {
		return nil, bad(fmt.Sprintf("The operator %s can only be used with text properties; %s is of type %s.", c.Op, name, typ.dotnet()))
	}
	switch typ {
	case TypeBool:
		if c.Op != OpEq && c.Op != OpNe {
			return nil, bad(fmt.Sprintf("The operator %s cannot be used with %s, which is of type System.Boolean; use -eq or -ne.", c.Op, name))
		}
		b, err := c.Value.AsBool()
		if err != nil {
			return nil, bad(err.Error())
		}
		out.Value = Value{Kind: KindBool, Bool: b}
	case TypeInt:
		n, err := c.Value.Int64()
		if err != nil {
			return nil, bad(err.Error())
		}
		out.Value = Value{Kind: KindNumber, Str: fmt.Sprint(n)}
	case TypeDate:
		t, err := c.Value.AsTime()
		if err != nil {
			return nil, bad(err.Error())
		}
		out.Value = Value{Kind: KindDate, Time: t}
	default:
		switch c.Value.Kind {
		case KindString:
		case KindNumber:
			out.Value = Value{Kind: KindString, Str: c.Value.Str}
		default:
			return nil, bad(fmt.Sprintf("Cannot compare %s, which is of type System.String, with %s.", name, c.Value))
		}
	}
	return out, nil
}
