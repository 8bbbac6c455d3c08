package opath

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrorKind classifies an *Error.
type ErrorKind int

// The kinds of filter errors.
const (
	// ErrSyntax: the text is not a filter.
	ErrSyntax ErrorKind = iota + 1
	// ErrProperty: a property the Schema does not know.
	ErrProperty
	// ErrValue: a value that does not fit the property's type or operator.
	ErrValue
	// ErrLimit: a filter longer or more complex than the limits allow
	// (MaxLength, MaxComparisons, MaxPatternLength, MaxPatternWildcards).
	ErrLimit
)

// Error is a filter that cannot be parsed or checked. Its message follows
// the text Exchange gives for the same mistake and adds what was expected.
type Error struct {
	Kind ErrorKind
	// Filter is the whole filter text.
	Filter string
	// Offset is the byte offset of the offending token in Filter.
	Offset int
	// Detail says what was found and what was expected, e.g.
	// "Expected a value after '-eq'."
	Detail string
	// Property is the offending property (ErrProperty, ErrValue).
	Property string
	// Valid lists the schema's property names (ErrProperty).
	Valid []string
}

// Position is the 1-based character position of the offending token, the
// figure Exchange prints as "at position N".
func (e *Error) Position() int {
	off := min(max(e.Offset, 0), len(e.Filter))
	return utf8.RuneCountInString(e.Filter[:off]) + 1
}

// Error returns the message. For a syntax error:
//
//	Invalid filter syntax. For a description of the filter parameter syntax see the command help. "Name -eq" at position 9. Expected a value after '-eq'.
func (e *Error) Error() string {
	at := fmt.Sprintf("%q at position %d.", shorten(e.Filter), e.Position())
	switch e.Kind {
	case ErrLimit:
		return "Invalid filter. " + e.Detail + " " + at
	case ErrProperty:
		// Exchange: "\"X\" is not a recognized filterable property. Valid property names are: ..."
		msg := fmt.Sprintf("%q is not a recognized filterable property.", e.Property)
		if len(e.Valid) > 0 {
			msg += " Valid property names are: " + strings.Join(e.Valid, ", ") + "."
		}
		return msg + " " + at
	case ErrValue:
		return "Invalid filter value. " + e.Detail + " " + at
	}
	msg := "Invalid filter syntax. For a description of the filter parameter syntax see the command help. " + at
	if e.Detail != "" {
		msg += " " + e.Detail
	}
	return msg
}

// shownFilter is how much of a long filter an error message quotes: the
// message of a refused 1 MB filter must not be 1 MB.
const shownFilter = 200

// shorten returns filter, or its first shownFilter characters and "..."
// when it is longer.
func shorten(filter string) string {
	n := 0
	for i := range filter {
		if n == shownFilter {
			return filter[:i] + "..."
		}
		n++
	}
	return filter
}

// BindMessage wraps a filter error in the message PowerShell prints when
// a parameter's value is refused while binding, e.g. for -Filter:
//
//	Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "<err>"
func BindMessage(param string, err error) string {
	return fmt.Sprintf("Cannot bind parameter '%s' to the target. Exception setting %q: \"%s\"", param, param, err.Error())
}

// convError is a value that cannot be converted to a .NET-named type.
type convError struct {
	v   Value
	typ string
}

func (e *convError) Error() string {
	return fmt.Sprintf("Cannot convert value %s to type %q.", quoteValue(e.v), e.typ)
}

func quoteValue(v Value) string {
	if v.Kind == KindString {
		return fmt.Sprintf("%q", v.Str)
	}
	return fmt.Sprintf("%q", v.String())
}
