package cmdlet

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
)

// maxRange bounds 1..n so that a typo cannot exhaust memory.
const maxRange = 1 << 20

// binaryOp applies a binary operator other than -and/-or (which short-
// circuit in evalBinary), following PowerShell: the left operand decides
// the type; an array on the left of a comparison filters the array.
func binaryOp(s *Session, op string, l, r any) (any, error) {
	switch op {
	case "+":
		return add(l, r)
	case "-", "*", "/", "%":
		return arith(op, l, r)
	case "..":
		a, ok1 := toInt(l)
		b, ok2 := toInt(r)
		if !ok1 || !ok2 {
			return nil, errorf(catRuntime, "Cannot convert the range bounds %q and %q to numbers.", ToString(l), ToString(r))
		}
		n := b - a
		if n < 0 {
			n = -n
		}
		if n >= maxRange {
			return nil, errorf(catRuntime, "The range %d..%d is too large.", a, b)
		}
		out := make([]any, 0, n+1)
		step := int64(1)
		if b < a {
			step = -1
		}
		for i := a; ; i += step {
			out = append(out, i)
			if i == b {
				break
			}
		}
		return out, nil
	case "-f":
		return formatOperator(ToString(l), ToArray(r))
	case "-xor":
		return isTrue(l) != isTrue(r), nil
	case "-band", "-bor", "-bxor", "-shl", "-shr":
		a, ok1 := toInt(l)
		b, ok2 := toInt(r)
		if !ok1 || !ok2 {
			return nil, errorf(catRuntime, "The operator %s needs numbers.", op)
		}
		switch op {
		case "-band":
			return a & b, nil
		case "-bor":
			return a | b, nil
		case "-bxor":
			return a ^ b, nil
		case "-shl":
			return a << uint(b&63), nil
		}
		return a >> uint(b&63), nil
	case "-join":
		return joinValues(l, ToString(r)), nil
	case "-is", "-isnot":
		is := isType(l, typeNameArg(r))
		return is == (op == "-is"), nil
	case "-as":
		v, err := castValue(typeNameArg(r), l)
		if err != nil {
			return nil, nil
		}
		return v, nil
	}
	base, cs := comparisonBase(op)
	if base == "" {
		return nil, errorf(catRuntime, "The operator %s is not supported.", op)
	}
	switch base {
	case "contains", "notcontains":
		found := false
		for _, e := range ToArray(l) {
			if equalValues(e, r, cs) {
				found = true
				break
			}
		}
		return found == (base == "contains"), nil
	case "in", "notin":
		found := false
		for _, e := range ToArray(r) {
			if equalValues(e, l, cs) {
				found = true
				break
			}
		}
		return found == (base == "in"), nil
	case "replace":
		return replaceOp(l, r, cs)
	case "split":
		return splitOp(l, r, cs)
	}
	if arr, ok := l.([]any); ok {
		out := []any{}
		for _, e := range arr {
			m, err := compareOp(s, base, e, r, cs, false)
			if err != nil {
				return nil, err
			}
			if m {
				out = append(out, e)
			}
		}
		return out, nil
	}
	return compareOp(s, base, l, r, cs, true)
}

// comparisonBase splits -ceq into ("eq", true) and -ieq/-eq into ("eq", false).
func comparisonBase(op string) (string, bool) {
	w := strings.TrimPrefix(op, "-")
	switch w {
	case "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
		"contains", "notcontains", "in", "notin", "replace", "split":
		return w, false
	}
	if len(w) > 1 && (w[0] == 'c' || w[0] == 'i') {
		if b, _ := comparisonBase("-" + w[1:]); b != "" {
			return b, w[0] == 'c'
		}
	}
	return "", false
}

func compareOp(s *Session, base string, l, r any, cs, setMatches bool) (bool, error) {
	switch base {
	case "eq":
		return equalValues(l, r, cs), nil
	case "ne":
		return !equalValues(l, r, cs), nil
	case "gt", "ge", "lt", "le":
		c, ok := compareValues(l, r, cs)
		if !ok {
			return false, errorf(catInvalidOperation, "Cannot compare %q because it is not IComparable.", ToString(l))
		}
		switch base {
		case "gt":
			return c > 0, nil
		case "ge":
			return c >= 0, nil
		case "lt":
			return c < 0, nil
		}
		return c <= 0, nil
	case "like", "notlike":
		m := Like(ToString(r), ToString(l), cs)
		return m == (base == "like"), nil
	case "match", "notmatch":
		re, err := compileRegex(ToString(r), cs)
		if err != nil {
			return false, err
		}
		m := re.FindStringSubmatch(ToString(l))
		if setMatches && base == "match" && m != nil {
			h := NewHashtable()
			for i, g := range m {
				if i > 0 && i < len(re.SubexpNames()) && re.SubexpNames()[i] != "" {
					h.Set(re.SubexpNames()[i], g)
				} else {
					h.Set(int64(i), g)
				}
			}
			_ = s.setVar("Matches", h)
		}
		return (m != nil) == (base == "match"), nil
	}
	return false, nil
}

// Like matches PowerShell wildcards (about_Wildcards).
func Like(pattern, s string, caseSensitive bool) bool {
	if caseSensitive {
		if !opath.Like(pattern, s) {
			return false
		}
		// opath.Like ignores case; check again with case.
		return likeCase(pattern, s)
	}
	return opath.Like(pattern, s)
}

// likeCase is a case-sensitive wildcard match for -clike.
func likeCase(pattern, s string) bool {
	re, err := regexp.Compile("^" + wildcardRegex(pattern) + "$")
	if err != nil {
		return false
	}
	return re.MatchString(s)
}

func wildcardRegex(p string) string {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '*':
			b.WriteString("(?s:.*)")
		case '?':
			b.WriteString("(?s:.)")
		case '`':
			if i+1 < len(rs) {
				i++
				b.WriteString(regexp.QuoteMeta(string(rs[i])))
			}
		case '[':
			end := strings.IndexRune(string(rs[i+1:]), ']')
			if end > 0 {
				b.WriteString("[" + strings.ReplaceAll(string(rs[i+1:i+1+end]), `\`, `\\`) + "]")
				i += end + 1
				continue
			}
			b.WriteString(`\[`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// compileRegex compiles a .NET-style pattern with Go's RE2 engine,
// case-insensitive unless cs.
func compileRegex(pattern string, cs bool) (*regexp.Regexp, error) {
	if !cs {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, errorf(catInvalidOperation, "The regular expression pattern %s is not valid: %v", pattern, err)
	}
	return re, nil
}

func replaceOp(l, r any, cs bool) (any, error) {
	args := ToArray(r)
	if len(args) == 0 || len(args) > 2 {
		return nil, errorf(catInvalidOperation, "The -replace operator allows only two elements to follow it, not %d.", len(args))
	}
	re, err := compileRegex(ToString(args[0]), cs)
	if err != nil {
		return nil, err
	}
	repl := ""
	if len(args) == 2 {
		repl = dotnetReplacement(ToString(args[1]))
	}
	if arr, ok := l.([]any); ok {
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = re.ReplaceAllString(ToString(e), repl)
		}
		return out, nil
	}
	return re.ReplaceAllString(ToString(l), repl), nil
}

// dotnetReplacement converts .NET's $1, ${name} and $$ to Go's syntax.
func dotnetReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; {
		case c == '$':
			b.WriteString("$$")
			i++
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		case c == '{':
			b.WriteByte('$')
		default:
			b.WriteString("$$")
		}
	}
	return b.String()
}

func splitOp(l, r any, cs bool) (any, error) {
	args := ToArray(r)
	if len(args) == 0 {
		return nil, errorf(catInvalidOperation, "The -split operator needs a delimiter.")
	}
	re, err := compileRegex(ToString(args[0]), cs)
	if err != nil {
		return nil, err
	}
	limit := -1
	if len(args) > 1 {
		if n, ok := toInt(args[1]); ok && n > 0 {
			limit = int(n)
		}
	}
	var out []any
	for _, e := range ToArray(l) {
		for _, part := range re.Split(ToString(e), limit) {
			out = append(out, part)
		}
	}
	return out, nil
}

func joinValues(v any, sep string) string {
	arr := ToArray(v)
	parts := make([]string, len(arr))
	for i, e := range arr {
		parts[i] = ToString(e)
	}
	return strings.Join(parts, sep)
}

func unaryOp(op string, v any) (any, error) {
	switch op {
	case "-not", "!":
		return !isTrue(v), nil
	case "-", "+":
		n, ok := toNumber(v)
		if !ok {
			return nil, errorf(catRuntime, "Cannot convert value %q to type \"System.Int32\". Error: \"Input string was not in a correct format.\"", ToString(v))
		}
		if op == "+" {
			return n, nil
		}
		switch x := n.(type) {
		case int64:
			if x == math.MinInt64 {
				return -float64(x), nil
			}
			return -x, nil
		case float64:
			return -x, nil
		}
	case "-bnot":
		n, ok := toInt(v)
		if !ok {
			return nil, errorf(catRuntime, "The operator -bnot needs a number.")
		}
		return ^n, nil
	case "-split":
		var out []any
		for _, e := range ToArray(v) {
			for _, f := range strings.Fields(ToString(e)) {
				out = append(out, f)
			}
		}
		return out, nil
	case "-join":
		return joinValues(v, ""), nil
	}
	return nil, errorf(catRuntime, "The operator %s is not supported.", op)
}

func add(l, r any) (any, error) {
	switch x := l.(type) {
	case nil:
		if arr, ok := r.([]any); ok {
			return append([]any(nil), arr...), nil
		}
		return r, nil
	case string:
		return x + ToString(r), nil
	case []any:
		out := append([]any(nil), x...)
		if arr, ok := r.([]any); ok {
			return append(out, arr...), nil
		}
		return append(out, r), nil
	case *Hashtable:
		h2, ok := r.(*Hashtable)
		if !ok {
			return nil, errorf(catInvalidOperation, "A hash table can only be added to another hash table.")
		}
		out := NewHashtable()
		for i, k := range x.keys {
			out.Set(k, x.values[i])
		}
		for i, k := range h2.keys {
			if _, dup := out.Get(k); dup {
				return nil, errorf(catInvalidOperation, "Item has already been added. Key in dictionary: '%s'", ToString(k))
			}
			out.Set(k, h2.values[i])
		}
		return out, nil
	case time.Time:
		return nil, errorf(catInvalidOperation, "Use .AddDays() and the other Add methods to add to a date.")
	}
	return arith("+", l, r)
}

func arith(op string, l, r any) (any, error) {
	if op == "*" {
		if s, ok := l.(string); ok {
			n, ok := toInt(r)
			if !ok || n < 0 || n*int64(len(s)) > maxRange*16 {
				return nil, errorf(catRuntime, "Cannot repeat a string %s times.", ToString(r))
			}
			return strings.Repeat(s, int(n)), nil
		}
		if arr, ok := l.([]any); ok {
			n, ok := toInt(r)
			if !ok || n < 0 || n*int64(len(arr)) > maxRange {
				return nil, errorf(catRuntime, "Cannot repeat an array %s times.", ToString(r))
			}
			var out []any
			for range n {
				out = append(out, arr...)
			}
			return out, nil
		}
	}
	a, ok := toNumber(l)
	if !ok {
		return nil, errorf(catRuntime, "Cannot convert value %q to type \"System.Int32\". Error: \"Input string was not in a correct format.\"", ToString(l))
	}
	if _, isArr := l.([]any); isArr {
		return nil, errorf(catInvalidOperation, "Method invocation failed because [System.Object[]] does not contain a method named 'op_%s'.", map[string]string{"-": "Subtraction", "*": "Multiply", "/": "Division", "%": "Modulus", "+": "Addition"}[op])
	}
	b, ok := toNumber(r)
	if !ok {
		return nil, errorf(catRuntime, "Cannot convert value %q to type \"System.Int32\". Error: \"Input string was not in a correct format.\"", ToString(r))
	}
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		switch op {
		case "+":
			if s := ai + bi; (s > ai) == (bi > 0) {
				return s, nil
			}
		case "-":
			if d := ai - bi; (d < ai) == (bi > 0) {
				return d, nil
			}
		case "*":
			if ai == 0 || bi == 0 {
				return int64(0), nil
			}
			if p := ai * bi; p/bi == ai && !(ai == -1 && bi == math.MinInt64) && !(bi == -1 && ai == math.MinInt64) {
				return p, nil
			}
		case "/":
			if bi == 0 {
				return nil, errorf(catRuntime, "Attempted to divide by zero.")
			}
			if ai%bi == 0 {
				return ai / bi, nil
			}
		case "%":
			if bi == 0 {
				return nil, errorf(catRuntime, "Attempted to divide by zero.")
			}
			return ai % bi, nil
		}
	}
	af, _ := toFloat(a)
	bf, _ := toFloat(b)
	switch op {
	case "+":
		return af + bf, nil
	case "-":
		return af - bf, nil
	case "*":
		return af * bf, nil
	case "/":
		if bf == 0 {
			return nil, errorf(catRuntime, "Attempted to divide by zero.")
		}
		return af / bf, nil
	}
	if bf == 0 {
		return nil, errorf(catRuntime, "Attempted to divide by zero.")
	}
	return math.Mod(af, bf), nil
}

// formatOperator implements -f with .NET composite formatting:
// {index[,alignment][:format]} with the formats N, D, F, P, X, C and date
// formats.
func formatOperator(f string, args []any) (any, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '{' {
			if i+1 < len(f) && f[i+1] == '{' {
				b.WriteByte('{')
				i++
				continue
			}
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, errorf(catInvalidOperation, "Error formatting a string: Input string was not in a correct format.")
			}
			spec := f[i+1 : i+end]
			i += end
			format := ""
			if k := strings.IndexByte(spec, ':'); k >= 0 {
				spec, format = spec[:k], spec[k+1:]
			}
			align := 0
			if k := strings.IndexByte(spec, ','); k >= 0 {
				a, err := strconv.Atoi(strings.TrimSpace(spec[k+1:]))
				if err != nil {
					return nil, errorf(catInvalidOperation, "Error formatting a string: Input string was not in a correct format.")
				}
				spec, align = spec[:k], a
			}
			idx, err := strconv.Atoi(strings.TrimSpace(spec))
			if err != nil || idx < 0 {
				return nil, errorf(catInvalidOperation, "Error formatting a string: Input string was not in a correct format.")
			}
			if idx >= len(args) {
				return nil, errorf(catInvalidOperation, "Error formatting a string: Index (zero based) must be greater than or equal to zero and less than the size of the argument list.")
			}
			text := formatValue(args[idx], format)
			switch {
			case align > 0 && len(text) < align:
				text = strings.Repeat(" ", align-len(text)) + text
			case align < 0 && len(text) < -align:
				text += strings.Repeat(" ", -align-len(text))
			}
			b.WriteString(text)
			continue
		}
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			i++
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// formatValue applies a .NET format string to a value.
func formatValue(v any, format string) string {
	if format == "" {
		return ToString(v)
	}
	if t, ok := v.(time.Time); ok {
		return formatDate(t, format)
	}
	f, ok := toFloat(v)
	if !ok {
		return ToString(v)
	}
	kind := strings.ToUpper(format[:1])
	prec := -1
	if len(format) > 1 {
		if p, err := strconv.Atoi(format[1:]); err == nil {
			prec = p
		}
	}
	switch kind {
	case "N":
		if prec < 0 {
			prec = 2
		}
		return groupThousands(strconv.FormatFloat(f, 'f', prec, 64))
	case "F":
		if prec < 0 {
			prec = 2
		}
		return strconv.FormatFloat(f, 'f', prec, 64)
	case "D":
		s := strconv.FormatInt(int64(f), 10)
		for len(strings.TrimPrefix(s, "-")) < prec {
			if strings.HasPrefix(s, "-") {
				s = "-0" + s[1:]
			} else {
				s = "0" + s
			}
		}
		return s
	case "P":
		if prec < 0 {
			prec = 2
		}
		return groupThousands(strconv.FormatFloat(f*100, 'f', prec, 64)) + " %"
	case "X":
		s := strconv.FormatInt(int64(f), 16)
		if format[0] == 'X' {
			s = strings.ToUpper(s)
		}
		for len(s) < prec {
			s = "0" + s
		}
		return s
	case "C":
		if prec < 0 {
			prec = 2
		}
		return "$" + groupThousands(strconv.FormatFloat(f, 'f', prec, 64))
	}
	return ToString(v)
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac := s, ""
	if k := strings.IndexByte(s, '.'); k >= 0 {
		intPart, frac = s[:k], s[k:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + frac
	if neg {
		out = "-" + out
	}
	return out
}

// formatDate applies a .NET custom or standard date format.
func formatDate(t time.Time, f string) string {
	switch f {
	case "d":
		return t.Format("1/2/2006")
	case "D":
		return t.Format("Monday, January 2, 2006")
	case "t":
		return t.Format("3:04 PM")
	case "T":
		return t.Format("3:04:05 PM")
	case "g":
		return t.Format("1/2/2006 3:04 PM")
	case "G":
		return t.Format("1/2/2006 3:04:05 PM")
	case "o", "O":
		return t.Format("2006-01-02T15:04:05.0000000Z07:00")
	case "s":
		return t.Format("2006-01-02T15:04:05")
	case "u":
		return t.UTC().Format("2006-01-02 15:04:05Z")
	}
	repl := []struct{ from, to string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"},
		{"dddd", "Monday"}, {"ddd", "Mon"}, {"dd", "02"}, {"HH", "15"}, {"hh", "03"},
		{"mm", "04"}, {"ss", "05"}, {"fff", "000"}, {"tt", "PM"}, {"zzz", "-07:00"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		matched := false
		for _, r := range repl {
			if strings.HasPrefix(f[i:], r.from) {
				b.WriteString(t.Format(r.to))
				i += len(r.from)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		switch f[i] {
		case 'M':
			b.WriteString(strconv.Itoa(int(t.Month())))
		case 'd':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'H':
			b.WriteString(strconv.Itoa(t.Hour()))
		case 'h':
			b.WriteString(t.Format("3"))
		case 'm':
			b.WriteString(strconv.Itoa(t.Minute()))
		case 's':
			b.WriteString(strconv.Itoa(t.Second()))
		default:
			b.WriteByte(f[i])
		}
		i++
	}
	return b.String()
}

func typeNameArg(r any) string {
	if t, ok := r.(*TypeRef); ok {
		return t.Name
	}
	return strings.Trim(ToString(r), "[]")
}

func isType(v any, t string) bool {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(t), "system.")) {
	case "string":
		_, ok := v.(string)
		return ok
	case "int", "int32", "long", "int64":
		_, ok := v.(int64)
		return ok
	case "double", "float", "single", "decimal":
		_, ok := v.(float64)
		return ok
	case "bool", "boolean":
		_, ok := v.(bool)
		return ok
	case "datetime":
		_, ok := v.(time.Time)
		return ok
	case "array", "object[]":
		_, ok := v.([]any)
		return ok
	case "hashtable", "collections.hashtable":
		_, ok := v.(*Hashtable)
		return ok
	case "scriptblock", "management.automation.scriptblock":
		_, ok := v.(*ScriptBlock)
		return ok
	case "securestring", "security.securestring":
		_, ok := v.(*SecureString)
		return ok
	case "psobject", "pscustomobject", "object":
		return v != nil
	}
	if o, ok := v.(*Object); ok {
		return strings.EqualFold(o.TypeName, t)
	}
	return false
}

// castValue converts a value to a type: [int]'5', [datetime]'2024-05-01'.
// dotNetType is the .NET name of a PowerShell type accelerator, for
// messages; "" when it is not one.
func dotNetType(lt string) string {
	return map[string]string{
		"int": "System.Int32", "int32": "System.Int32", "long": "System.Int64", "int64": "System.Int64",
		"uint32": "System.UInt32", "byte": "System.Byte", "int16": "System.Int16", "double": "System.Double",
		"float": "System.Single", "single": "System.Single", "decimal": "System.Decimal", "bool": "System.Boolean",
		"boolean": "System.Boolean", "datetime": "System.DateTime", "string": "System.String",
	}[lt]
}

func castValue(t string, v any) (any, error) {
	lt := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(t)), "system.")
	fail := func() (any, error) {
		name, detail := dotNetType(lt), ""
		switch name {
		case "System.Int32", "System.Int64", "System.Double", "System.UInt32", "System.Byte", "System.Int16", "System.Decimal", "System.Single":
			detail = " Error: \"Input string was not in a correct format.\""
		case "System.DateTime":
			detail = " Error: \"String was not recognized as a valid DateTime.\""
		}
		if name == "" {
			name = "System." + strings.TrimPrefix(t, "System.")
		}
		return nil, errorf(catInvalidArgument, "Cannot convert value %q to type %q.%s", ToString(v), name, detail)
	}
	if strings.HasSuffix(lt, "[]") {
		elem := strings.TrimSuffix(lt, "[]")
		var out []any
		for _, e := range ToArray(v) {
			if elem == "object" {
				out = append(out, e)
				continue
			}
			cv, err := castValue(elem, e)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	switch lt {
	case "string":
		if v == nil {
			return "", nil
		}
		return ToString(v), nil
	case "int", "int32", "long", "int64", "uint32", "byte", "int16":
		if v == nil {
			return int64(0), nil
		}
		n, ok := toInt(v)
		if !ok {
			return fail()
		}
		return n, nil
	case "double", "float", "single", "decimal":
		f, ok := toFloat(v)
		if !ok {
			return fail()
		}
		return f, nil
	case "bool", "boolean":
		return isTrue(v), nil
	case "datetime":
		tm, ok := toTime(v)
		if !ok {
			return fail()
		}
		return tm, nil
	case "array":
		if v == nil {
			return []any{}, nil
		}
		return ToArray(v), nil
	case "hashtable", "collections.hashtable", "ordered":
		if h, ok := v.(*Hashtable); ok {
			return h, nil
		}
		return fail()
	case "pscustomobject", "psobject":
		switch x := v.(type) {
		case *Hashtable:
			o := NewObject("System.Management.Automation.PSCustomObject")
			for i, k := range x.keys {
				o.Set(ToString(k), x.values[i])
			}
			return o, nil
		}
		return v, nil
	case "object":
		return v, nil
	case "guid":
		s := strings.Trim(ToString(v), "{}")
		if !guidRE.MatchString(s) {
			return fail()
		}
		return strings.ToLower(s), nil
	case "securestring", "security.securestring":
		if ss, ok := v.(*SecureString); ok {
			return ss, nil
		}
		return fail()
	case "scriptblock":
		if sb, ok := v.(*ScriptBlock); ok {
			return sb, nil
		}
		return fail()
	case "void":
		return nil, nil
	}
	return nil, errorf(catInvalidOperation, "Unable to find type [%s].", t)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func dateOf(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.Local) }
