package cmdlet

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// invokeMethod calls the .NET methods that admin scripts commonly use on
// strings, dates, arrays and hashtables, and a few static ones.
func (s *Session) invokeMethod(ctx context.Context, n *syntax.Invoke) (any, error) {
	name, err := s.memberName(ctx, n.Name)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		v, err := s.eval(ctx, a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	if n.Static {
		t, ok := n.X.(*syntax.TypeLit)
		if !ok {
			return nil, errorf(catInvalidOperation, "Static methods can only be called on a type, as in [math]::Round(1.5).")
		}
		return s.staticMethod(t.Type, name, args)
	}
	obj, err := s.eval(ctx, n.X)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errorf(catInvalidOperation, "You cannot call a method on a null-valued expression.")
	}
	lname := strings.ToLower(name)
	if v, ok := n.X.(*syntax.Variable); ok && lname == "clear" && len(args) == 0 {
		if _, isList := obj.([]any); isList {
			// $Error.Clear(), $ev.Clear(): the lists PowerShell keeps in
			// ArrayLists
			return nil, s.setVar(v.Name, []any{})
		}
	}
	noMethod := func() (any, error) {
		return nil, errorf(catInvalidOperation, "Method invocation failed because [%s] does not contain a method named '%s'.", typeName(obj), name)
	}
	argc := func(want ...int) error {
		for _, w := range want {
			if len(args) == w {
				return nil
			}
		}
		return errorf(catInvalidOperation, "Cannot find an overload for \"%s\" and the argument count: \"%d\".", name, len(args))
	}
	str := func(i int) string { return ToString(args[i]) }
	switch lname {
	case "tostring":
		if t, ok := obj.(time.Time); ok && len(args) == 1 {
			return formatDate(t, str(0)), nil
		}
		if len(args) == 1 {
			return formatValue(obj, str(0)), nil
		}
		return ToString(obj), nil
	case "gettype":
		return typeName(obj), nil
	case "equals":
		if err := argc(1); err != nil {
			return nil, err
		}
		return equalValues(obj, args[0], true), nil
	}
	switch x := obj.(type) {
	case string:
		switch lname {
		case "toupper", "toupperinvariant":
			return strings.ToUpper(x), nil
		case "tolower", "tolowerinvariant":
			return strings.ToLower(x), nil
		case "trim", "trimstart", "trimend":
			cut := " \t\r\n"
			if len(args) > 0 {
				cut = ""
				for _, a := range args {
					cut += ToString(a)
				}
			}
			switch lname {
			case "trim":
				return strings.Trim(x, cut), nil
			case "trimstart":
				return strings.TrimLeft(x, cut), nil
			}
			return strings.TrimRight(x, cut), nil
		case "split":
			if len(args) == 0 {
				return stringsToArray(strings.Fields(x)), nil
			}
			seps := ""
			for _, a := range args {
				seps += ToString(a)
			}
			return stringsToArray(strings.FieldsFunc(x, func(r rune) bool { return strings.ContainsRune(seps, r) })), nil
		case "replace":
			if err := argc(2); err != nil {
				return nil, err
			}
			return strings.ReplaceAll(x, str(0), str(1)), nil
		case "contains":
			if err := argc(1); err != nil {
				return nil, err
			}
			return strings.Contains(x, str(0)), nil
		case "startswith":
			if err := argc(1, 2); err != nil {
				return nil, err
			}
			if len(args) == 2 {
				return strings.HasPrefix(strings.ToLower(x), strings.ToLower(str(0))), nil
			}
			return strings.HasPrefix(x, str(0)), nil
		case "endswith":
			if err := argc(1, 2); err != nil {
				return nil, err
			}
			if len(args) == 2 {
				return strings.HasSuffix(strings.ToLower(x), strings.ToLower(str(0))), nil
			}
			return strings.HasSuffix(x, str(0)), nil
		case "indexof":
			if err := argc(1); err != nil {
				return nil, err
			}
			i := strings.Index(x, str(0))
			if i > 0 {
				i = len([]rune(x[:i]))
			}
			return int64(i), nil
		case "substring":
			if err := argc(1, 2); err != nil {
				return nil, err
			}
			rs := []rune(x)
			start, _ := toInt(args[0])
			if start < 0 || start > int64(len(rs)) {
				return nil, errorf(catInvalidOperation, "Exception calling \"Substring\": \"startIndex cannot be larger than length of string.\"")
			}
			if len(args) == 1 {
				return string(rs[start:]), nil
			}
			l, _ := toInt(args[1])
			if l < 0 || start+l > int64(len(rs)) {
				return nil, errorf(catInvalidOperation, "Exception calling \"Substring\": \"Index and length must refer to a location within the string.\"")
			}
			return string(rs[start : start+l]), nil
		case "padleft", "padright":
			if err := argc(1, 2); err != nil {
				return nil, err
			}
			w, _ := toInt(args[0])
			pad := " "
			if len(args) == 2 && str(1) != "" {
				pad = string([]rune(str(1))[0])
			}
			n := int(w) - len([]rune(x))
			if n <= 0 {
				return x, nil
			}
			if lname == "padleft" {
				return strings.Repeat(pad, n) + x, nil
			}
			return x + strings.Repeat(pad, n), nil
		}
		return noMethod()
	case time.Time:
		add := func(d time.Duration) (any, error) {
			if err := argc(1); err != nil {
				return nil, err
			}
			f, ok := toFloat(args[0])
			if !ok {
				return nil, errorf(catInvalidArgument, "Cannot convert argument \"value\", with value: %q, for %q to type \"System.Double\".", str(0), name)
			}
			return x.Add(time.Duration(f * float64(d))), nil
		}
		switch lname {
		case "adddays":
			return add(24 * time.Hour)
		case "addhours":
			return add(time.Hour)
		case "addminutes":
			return add(time.Minute)
		case "addseconds":
			return add(time.Second)
		case "addmonths", "addyears":
			if err := argc(1); err != nil {
				return nil, err
			}
			k, _ := toInt(args[0])
			if lname == "addmonths" {
				return x.AddDate(0, int(k), 0), nil
			}
			return x.AddDate(int(k), 0, 0), nil
		case "touniversaltime":
			return x.UTC(), nil
		case "tolocaltime":
			return x.Local(), nil
		case "toshortdatestring":
			return x.Format("1/2/2006"), nil
		}
		return noMethod()
	case []any:
		switch lname {
		case "contains":
			if err := argc(1); err != nil {
				return nil, err
			}
			for _, e := range x {
				if equalValues(e, args[0], true) {
					return true, nil
				}
			}
			return false, nil
		case "indexof":
			if err := argc(1); err != nil {
				return nil, err
			}
			for i, e := range x {
				if equalValues(e, args[0], true) {
					return int64(i), nil
				}
			}
			return int64(-1), nil
		}
		return noMethod()
	case *Hashtable:
		switch lname {
		case "containskey", "contains":
			if err := argc(1); err != nil {
				return nil, err
			}
			_, ok := x.Get(args[0])
			return ok, nil
		case "add":
			if err := argc(2); err != nil {
				return nil, err
			}
			if _, dup := x.Get(args[0]); dup {
				return nil, errorf(catInvalidOperation, "Exception calling \"Add\" with \"2\" argument(s): \"Item has already been added. Key in dictionary: '%s'\"", str(0))
			}
			x.Set(args[0], args[1])
			return nil, nil
		case "remove":
			if err := argc(1); err != nil {
				return nil, err
			}
			x.Remove(args[0])
			return nil, nil
		}
		return noMethod()
	}
	return noMethod()
}

func stringsToArray(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *Session) staticMethod(typ, name string, args []any) (any, error) {
	key := strings.TrimPrefix(strings.ToLower(typ), "system.") + "::" + strings.ToLower(name)
	num := func(i int) float64 {
		f, _ := toFloat(args[i])
		return f
	}
	switch {
	case (key == "management.automation.pscredential::new" || key == "pscredential::new") && len(args) == 2:
		ss, ok := args[1].(*SecureString)
		if !ok {
			return nil, errorf(catInvalidOperation, "Exception calling \"new\" with \"2\" argument(s): the password must be a SecureString: (ConvertTo-SecureString -String '...' -AsPlainText -Force).")
		}
		return NewCredential(ToString(args[0]), ss), nil
	case key == "datetime::parse" && len(args) >= 1:
		t, ok := toTime(args[0])
		if !ok {
			return nil, errorf(catInvalidOperation, "Exception calling \"Parse\" with \"1\" argument(s): \"String '%s' was not recognized as a valid DateTime.\"", ToString(args[0]))
		}
		return t, nil
	case key == "string::isnullorempty" && len(args) == 1:
		return ToString(args[0]) == "", nil
	case key == "string::isnullorwhitespace" && len(args) == 1:
		return strings.TrimSpace(ToString(args[0])) == "", nil
	case key == "string::join" && len(args) >= 2:
		if len(args) == 2 {
			return joinValues(args[1], ToString(args[0])), nil
		}
		return joinValues(args[1:], ToString(args[0])), nil
	case key == "math::round" && len(args) >= 1:
		if len(args) == 2 {
			p := math.Pow(10, num(1))
			return math.RoundToEven(num(0)*p) / p, nil
		}
		return math.RoundToEven(num(0)), nil
	case key == "math::floor" && len(args) == 1:
		return math.Floor(num(0)), nil
	case key == "math::ceiling" && len(args) == 1:
		return math.Ceil(num(0)), nil
	case key == "math::abs" && len(args) == 1:
		return math.Abs(num(0)), nil
	case key == "math::max" && len(args) == 2:
		return math.Max(num(0), num(1)), nil
	case key == "math::min" && len(args) == 2:
		return math.Min(num(0), num(1)), nil
	case key == "math::sqrt" && len(args) == 1:
		return math.Sqrt(num(0)), nil
	case key == "convert::toboolean" && len(args) == 1:
		b, err := convertParam(&Param{Name: "value", Type: TBool}, args[0])
		if err != nil {
			return nil, errorf(catInvalidOperation, "Exception calling \"ToBoolean\" with \"1\" argument(s): \"String '%s' was not recognized as a valid Boolean.\"", ToString(args[0]))
		}
		return b, nil
	case key == "convert::toint32" && len(args) == 1:
		return castValue("int", args[0])
	case (key == "io.file::readallbytes" || key == "io.file::readalltext") && len(args) == 1:
		return s.readFile(name, ToString(args[0]), key == "io.file::readallbytes")
	}
	return nil, errorf(catInvalidOperation, "Method invocation failed because [%s] does not contain a method named '%s'.", typ, name)
}

// maxReadAll bounds [System.IO.File]::ReadAllBytes: the value is held in
// memory and sent in one request (a migration CSV file is small).
const maxReadAll = 64 << 20

// readFile is [System.IO.File]::ReadAllBytes (a byte[] value: []byte,
// sent over REST as base64, as JSON carries every byte[]) and ReadAllText.
// Relative paths are relative to the shell's location, as with Get-Content.
func (s *Session) readFile(method, name string, raw bool) (any, error) {
	fail := func(msg string) error {
		return errorf(catInvalidOperation, "Exception calling \"%s\" with \"1\" argument(s): \"%s\"", method, msg)
	}
	p := s.path(name)
	st, err := os.Stat(p)
	if err != nil {
		return nil, fail(fmt.Sprintf("Could not find file '%s'.", p))
	}
	if st.IsDir() {
		return nil, fail(fmt.Sprintf("Access to the path '%s' is denied: it is a directory.", p))
	}
	if st.Size() > maxReadAll {
		return nil, fail(fmt.Sprintf("The file '%s' is larger than %d bytes.", p, maxReadAll))
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fail(err.Error())
	}
	if raw {
		return b, nil
	}
	return string(b), nil
}

const PSCredentialType = "System.Management.Automation.PSCredential"

// CredentialParts returns the user name and password of a PSCredential
// (NewCredential, Get-Credential); ok is false for any other value.
func CredentialParts(v any) (user string, password *SecureString, ok bool) {
	o, isObj := v.(*Object)
	if !isObj {
		return "", nil, false
	}
	u, _ := o.Get("UserName")
	p, _ := o.Get("Password")
	ss, ok := p.(*SecureString)
	return ToString(u), ss, ok && ss != nil
}

// NewCredential is a PSCredential object.
func NewCredential(user string, password *SecureString) *Object {
	o := NewObject(PSCredentialType)
	o.Set("UserName", user)
	o.Set("Password", password)
	return o
}
