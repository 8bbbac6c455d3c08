package syntax

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a parse error: where it is and what PowerShell would say.
type Error struct {
	// Offset is the byte offset of the error in the source.
	Offset int
	// Line and Column are 1-based; Column counts characters.
	Line, Column int
	// Msg is PowerShell's message for the mistake, e.g.
	// "The string is missing the terminator: '."
	Msg string
	// Incomplete is set when the source ended while something was still
	// open (a string, a brace, a pipe, a trailing operator), so that more
	// input could complete it; a REPL then reads another line.
	Incomplete bool
	// SourceLine is the text of the line the error is on.
	SourceLine string
}

// Error returns "At line:L char:C: Msg".
func (e *Error) Error() string {
	return fmt.Sprintf("At line:%d char:%d: %s", e.Line, e.Column, e.Msg)
}

// Detail returns the error in PowerShell's layout, with the source line and
// a marker under the offending column:
//
//	At line:1 char:23
//	+ Get-Mailbox -Identity 'abc
//	+                       ~
//	The string is missing the terminator: '.
func (e *Error) Detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "At line:%d char:%d\n", e.Line, e.Column)
	line := strings.ReplaceAll(e.SourceLine, "\t", " ")
	b.WriteString("+ " + line + "\n")
	b.WriteString("+ " + strings.Repeat(" ", max(e.Column-1, 0)) + "~\n")
	b.WriteString(e.Msg)
	return b.String()
}

// newError locates offset in src.
func newError(src string, offset int, incomplete bool, msg string) *Error {
	offset = min(max(offset, 0), len(src))
	lineStart := strings.LastIndexByte(src[:offset], '\n') + 1
	lineEnd := strings.IndexByte(src[offset:], '\n')
	if lineEnd < 0 {
		lineEnd = len(src)
	} else {
		lineEnd += offset
	}
	return &Error{
		Offset:     offset,
		Line:       strings.Count(src[:offset], "\n") + 1,
		Column:     utf8.RuneCountInString(src[lineStart:offset]) + 1,
		Msg:        msg,
		Incomplete: incomplete,
		SourceLine: strings.TrimRight(src[lineStart:lineEnd], "\r"),
	}
}
