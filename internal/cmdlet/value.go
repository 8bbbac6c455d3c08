package cmdlet

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

// Values in the shell are Go values: nil ($null), bool, int64, float64,
// string, time.Time, []any (arrays), *Object (objects with ordered
// properties), *Hashtable, *ScriptBlock, *SecureString and *FormatOutput.

// Object is an object with ordered, case-insensitively named properties,
// like a PSCustomObject. TypeName selects its default view.
type Object struct {
	TypeName string
	names    []string
	values   []any
	index    map[string]int // lower-case name → position
	// shared is set while names and index belong to a Shape, shared with
	// other objects: the first new property copies them.
	shared bool
	// origin is the typed value the object was made from (a server's
	// answer), until a property is set (SetOrigin).
	origin any
}

// SetOrigin records the typed value the object shows (the shell's client
// makes its objects from the server's answers), so that a cmdlet the
// object is piped into can read that value's fields instead of the
// object's properties by name.
func (o *Object) SetOrigin(v any) { o.origin = v }

// Origin is the typed value the object was made from, or nil when it was
// not made from one or a property has been set since: the object no
// longer shows that value as it was.
func (o *Object) Origin() any { return o.origin }

// NewObject returns an empty object of the given type.
func NewObject(typeName string) *Object {
	return &Object{TypeName: typeName, index: map[string]int{}}
}

// Shape is the property names of many objects built alike (the rows of
// a REST answer): they share the names and the index by name, so that
// building one costs its values only.
type Shape struct {
	names []string
	index map[string]int
}

// NewShape returns the shape of objects with these properties, in this
// order; a name given twice keeps its first position.
func NewShape(names []string) *Shape {
	s := &Shape{index: make(map[string]int, len(names))}
	for _, n := range names {
		k := strings.ToLower(n)
		if _, ok := s.index[k]; ok {
			continue
		}
		s.index[k] = len(s.names)
		s.names = append(s.names, n)
	}
	return s
}

// Len is the number of properties of the shape.
func (s *Shape) Len() int { return len(s.names) }

// NewShapedObject returns an object of the given type with the shape's
// properties set to values, which it keeps (len(values) must be
// s.Len()).
func NewShapedObject(typeName string, s *Shape, values []any) *Object {
	if len(values) != len(s.names) {
		panic(fmt.Sprintf("NewShapedObject: %d values for %d properties", len(values), len(s.names)))
	}
	return &Object{TypeName: typeName, names: s.names, values: values, index: s.index, shared: true}
}

// Set sets a property, adding it at the end when new. The first spelling
// of a name is kept.
func (o *Object) Set(name string, v any) {
	o.origin = nil
	k := strings.ToLower(name)
	if i, ok := o.index[k]; ok {
		o.values[i] = v
		return
	}
	if o.shared {
		index := make(map[string]int, len(o.index)+1)
		for n, i := range o.index {
			index[n] = i
		}
		o.index, o.names, o.shared = index, append([]string(nil), o.names...), false
	}
	o.index[k] = len(o.names)
	o.names = append(o.names, name)
	o.values = append(o.values, v)
}

// Get returns a property by name, ignoring case.
func (o *Object) Get(name string) (any, bool) {
	i, ok := o.index[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return o.values[i], true
}

// Has reports whether the object has the property.
func (o *Object) Has(name string) bool {
	_, ok := o.index[strings.ToLower(name)]
	return ok
}

// Names returns the property names in order.
func (o *Object) Names() []string { return o.names }

// CanonicalName returns the object's spelling of name.
func (o *Object) CanonicalName(name string) (string, bool) {
	i, ok := o.index[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return o.names[i], true
}

// Copy returns a shallow copy.
func (o *Object) Copy() *Object {
	c := NewObject(o.TypeName)
	for i, n := range o.names {
		c.Set(n, o.values[i])
	}
	return c
}

// Hashtable is an ordered, case-insensitive dictionary: @{ Key = Value }.
type Hashtable struct {
	keys   []any
	values []any
	index  map[string]int
}

// NewHashtable returns an empty hashtable.
func NewHashtable() *Hashtable { return &Hashtable{index: map[string]int{}} }

func hashKey(k any) string {
	if s, ok := k.(string); ok {
		return "s:" + strings.ToLower(s)
	}
	return fmt.Sprintf("%T:%v", k, k)
}

// Set sets a key.
func (h *Hashtable) Set(k, v any) {
	hk := hashKey(k)
	if i, ok := h.index[hk]; ok {
		h.values[i] = v
		return
	}
	h.index[hk] = len(h.keys)
	h.keys = append(h.keys, k)
	h.values = append(h.values, v)
}

// Get looks a key up.
func (h *Hashtable) Get(k any) (any, bool) {
	i, ok := h.index[hashKey(k)]
	if !ok {
		return nil, false
	}
	return h.values[i], true
}

// Remove deletes a key.
func (h *Hashtable) Remove(k any) {
	i, ok := h.index[hashKey(k)]
	if !ok {
		return
	}
	h.keys = append(h.keys[:i], h.keys[i+1:]...)
	h.values = append(h.values[:i], h.values[i+1:]...)
	h.index = map[string]int{}
	for j, k := range h.keys {
		h.index[hashKey(k)] = j
	}
}

// Len is the number of entries.
func (h *Hashtable) Len() int { return len(h.keys) }

// ScriptBlock is a { ... } value.
type ScriptBlock struct {
	Node *syntax.ScriptBlock
}

// SecureString holds a password given with ConvertTo-SecureString. It
// prints as its type name, as in PowerShell, and is only revealed to the
// REST client.
type SecureString struct{ plain string }

func (s *SecureString) String() string { return "System.Security.SecureString" }

// NewSecureString holds a password.
func NewSecureString(plain string) *SecureString { return &SecureString{plain: plain} }

// Plain is the password.
func (s *SecureString) Plain() string { return s.plain }

// FormatOutput is what Format-Table and Format-List emit: rendered lines
// that Out-Default writes as they are. A table keeps what it needs to be
// laid out again at another width (Out-String -Width).
type FormatOutput struct {
	Text     string
	width    int              // the width Text was laid out at
	relayout func(int) string // nil: Text at any width
}

// at returns the text laid out at width.
func (f *FormatOutput) at(width int) string {
	if f.relayout == nil || width == f.width {
		return f.Text
	}
	return f.relayout(width)
}

// typeName is the .NET-style name of a value's type, used in messages.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "System.Boolean"
	case int64, int, int32:
		return "System.Int32"
	case float64:
		return "System.Double"
	case string:
		return "System.String"
	case time.Time:
		return "System.DateTime"
	case []any:
		return "System.Object[]"
	case *Hashtable:
		return "System.Collections.Hashtable"
	case *ScriptBlock:
		return "System.Management.Automation.ScriptBlock"
	case *SecureString:
		return "System.Security.SecureString"
	case *Object:
		if x.TypeName != "" {
			return x.TypeName
		}
		return "System.Management.Automation.PSCustomObject"
	}
	return fmt.Sprintf("%T", v)
}

// ToString converts a value to text the way PowerShell does when it needs a
// string: $null is "", True/False, arrays are joined with spaces.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatFloat(x)
	case time.Time:
		return formatTime(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = ToString(e)
		}
		return strings.Join(parts, " ")
	case *Hashtable:
		return "System.Collections.Hashtable"
	case *ScriptBlock:
		return x.Node.Text
	case *Object:
		return objectString(x)
	case *SecureString:
		return x.String()
	case *FormatOutput:
		return x.Text
	}
	return fmt.Sprint(v)
}

// objectString renders an object as PowerShell does in a string:
// @{Name=x; PopEnabled=False}, or its Identity/Name where it has one, as
// Exchange objects render as their identity.
func objectString(o *Object) string {
	switch o.TypeName {
	case errorRecordType:
		// an error renders as its message: "$($Error[0])"
		if ex, ok := o.Get("Exception"); ok {
			return ToString(ex)
		}
	}
	if strings.HasSuffix(o.TypeName, "Exception") {
		if m, ok := o.Get("Message"); ok {
			return ToString(m)
		}
	}
	if o.TypeName != "" && !strings.HasPrefix(o.TypeName, "Selected.") && o.TypeName != "System.Management.Automation.PSCustomObject" && o.TypeName != "CsvRow" {
		for _, k := range []string{"Identity", "Name"} {
			if v, ok := o.Get(k); ok && v != nil {
				return ToString(v)
			}
		}
	}
	parts := make([]string, len(o.names))
	for i, n := range o.names {
		parts[i] = n + "=" + ToString(o.values[i])
	}
	return "@{" + strings.Join(parts, "; ") + "}"
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'G', 15, 64)
}

// formatTime renders a time as PowerShell does in the en-US culture, in
// the shell's local time zone: 5/1/2024 2:00:00 PM.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("1/2/2006 3:04:05 PM")
}

// isTrue is PowerShell's truthiness: $null, $false, 0, "" and empty
// arrays are false; an array of one element is that element's truth.
func isTrue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		switch len(x) {
		case 0:
			return false
		case 1:
			return isTrue(x[0])
		}
		return true
	case *SecureString:
		return x.plain != ""
	}
	return true
}

// toNumber converts to int64 or float64, as PowerShell's arithmetic does.
func toNumber(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return int64(0), true
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return int64(0), true
		}
		if n, ok := syntax.ParseNumber(s); ok {
			return n, true
		}
		return nil, false
	case []any:
		if len(x) == 1 {
			return toNumber(x[0])
		}
	}
	return nil, false
}

func toFloat(v any) (float64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	switch x := n.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// toInt converts to a whole number, rounding as PowerShell's [int] cast does
// (to even).
func toInt(v any) (int64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	switch x := n.(type) {
	case int64:
		return x, true
	case float64:
		if math.IsNaN(x) || math.Abs(x) > math.MaxInt64 {
			return 0, false
		}
		return int64(math.RoundToEven(x)), true
	}
	return 0, false
}

// toTime converts strings in the forms PowerShell's [datetime] accepts
// (ISO 8601 and the en-US forms) and times; times without a zone are local.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, true
		}
		for _, l := range []string{
			"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
			"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006",
			"January 2, 2006", "Jan 2, 2006", "2 January 2006",
		} {
			if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
				return t, true
			}
		}
	case []any:
		if len(x) == 1 {
			return toTime(x[0])
		}
	}
	return time.Time{}, false
}

// ToArray enumerates a value as PowerShell's pipeline does: arrays are
// unrolled, $null is no items... except that here, callers that must see
// $null as an item handle it themselves.
func ToArray(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// collect turns pipeline output into a value: nothing is $null, one item
// is itself, more are an array.
func collect(items []any) any {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return items
}

// property reads a property of any value: object properties, hashtable
// keys, and the few .NET properties scripts use (Length, Count, date
// parts). Arrays enumerate their members (member enumeration).
func property(v any, name string) (any, bool) {
	lname := strings.ToLower(name)
	switch x := v.(type) {
	case nil:
		if lname == "count" || lname == "length" {
			// $null.Count is 0 (PowerShell 3 and later)
			return int64(0), true
		}
		return nil, false
	case bool:
		if lname == "ispresent" {
			// a [switch] parameter's value: $Force.IsPresent
			return x, true
		}
	case *Object:
		if p, ok := x.Get(name); ok {
			return p, true
		}
		if lname == "count" || lname == "length" {
			return int64(1), true
		}
		return nil, false
	case *Hashtable:
		if p, ok := x.Get(name); ok {
			return p, true
		}
		switch lname {
		case "count":
			return int64(x.Len()), true
		case "keys":
			return append([]any(nil), x.keys...), true
		case "values":
			return append([]any(nil), x.values...), true
		}
		return nil, false
	case []any:
		if lname == "count" || lname == "length" {
			return int64(len(x)), true
		}
		var out []any
		found := false
		for _, e := range x {
			if p, ok := property(e, name); ok {
				found = true
				if arr, ok := p.([]any); ok {
					out = append(out, arr...)
				} else {
					out = append(out, p)
				}
			}
		}
		return collectMember(out), found
	case string:
		if lname == "length" {
			return int64(len([]rune(x))), true
		}
	case time.Time:
		switch lname {
		case "year":
			return int64(x.Year()), true
		case "month":
			return int64(x.Month()), true
		case "day":
			return int64(x.Day()), true
		case "hour":
			return int64(x.Hour()), true
		case "minute":
			return int64(x.Minute()), true
		case "second":
			return int64(x.Second()), true
		case "dayofweek":
			return x.Weekday().String(), true
		case "date":
			y, m, d := x.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, x.Location()), true
		}
	}
	if lname == "count" || lname == "length" {
		return int64(1), true
	}
	return nil, false
}

// collectMember keeps member enumeration results as an array even when
// they hold one element less than the source... PowerShell returns a
// scalar for one result, which we follow.
func collectMember(items []any) any { return collect(items) }

// propertyNames lists the properties a value shows in Format-List and
// Select-Object *.
func propertyNames(v any) []string {
	switch x := v.(type) {
	case *Object:
		return x.Names()
	case *Hashtable:
		var out []string
		for _, k := range x.keys {
			out = append(out, ToString(k))
		}
		return out
	}
	return nil
}

// compareValues compares a and b as PowerShell's Sort-Object and -lt do:
// b is converted to a's type; strings compare case-insensitively unless
// caseSensitive. ok is false when they cannot be compared.
func compareValues(a, b any, caseSensitive bool) (int, bool) {
	if a == nil && b == nil {
		return 0, true
	}
	if a == nil {
		return -1, true
	}
	if b == nil {
		return 1, true
	}
	switch x := a.(type) {
	case string:
		y := ToString(b)
		if caseSensitive {
			return strings.Compare(x, y), true
		}
		c := strings.Compare(strings.ToLower(x), strings.ToLower(y))
		return c, true
	case bool:
		y, ok := convertBool(b)
		if !ok {
			return 0, false
		}
		return boolInt(x) - boolInt(y), true
	case time.Time:
		y, ok := toTime(b)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	case int64, float64, int:
		xf, _ := toFloat(x)
		yf, ok := toFloat(b)
		if !ok {
			return 0, false
		}
		switch {
		case xf < yf:
			return -1, true
		case xf > yf:
			return 1, true
		}
		return 0, true
	}
	return strings.Compare(strings.ToLower(ToString(a)), strings.ToLower(ToString(b))), true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// convertBool converts for comparison with a Boolean: PowerShell takes the
// truth of the right-hand value.
func convertBool(v any) (bool, bool) { return isTrue(v), true }

// equalValues is -eq: b converted to a's type; strings case-insensitive
// unless caseSensitive.
func equalValues(a, b any, caseSensitive bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case string:
		y := ToString(b)
		if caseSensitive {
			return x == y
		}
		return strings.EqualFold(x, y)
	case bool:
		if s, ok := b.(string); ok {
			// "False" -eq $false is False in PowerShell only when the
			// string is empty; a non-empty string is true.
			return x == (s != "")
		}
		return x == isTrue(b)
	case int64, float64, int:
		xf, _ := toFloat(x)
		yf, ok := toFloat(b)
		return ok && xf == yf
	case time.Time:
		y, ok := toTime(b)
		return ok && x.Equal(y)
	case *Object, *Hashtable, *ScriptBlock, *SecureString:
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// sortValues sorts in place, stably, with compareValues.
func sortValues(vs []any, less func(a, b any) int) {
	sort.SliceStable(vs, func(i, j int) bool { return less(vs[i], vs[j]) < 0 })
}
