package opath

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Like reports whether s matches the PowerShell wildcard pattern, ignoring
// case: * matches any run of characters, ? any one character, [abc] and
// [a-z] one character of a set, and a backtick escapes the next character
// (about_Wildcards). A malformed set ("[ab") matches itself literally.
func Like(pattern, s string) bool {
	return likeFold([]rune(pattern), []rune(s))
}

// likeFold matches with backtracking over the last '*' only, which keeps it
// linear in practice and never exponential.
func likeFold(p, s []rune) bool {
	pi, si := 0, 0
	starP, starS := -1, -1
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				pi++
				si++
				continue
			case '[':
				if ok, n := matchSet(p[pi:], s[si]); n > 0 {
					if ok {
						pi += n
						si++
						continue
					}
					goto backtrack
				}
				// malformed set: '[' is literal
				if foldEq(p[pi], s[si]) {
					pi++
					si++
					continue
				}
			case '`':
				if pi+1 < len(p) && foldEq(p[pi+1], s[si]) {
					pi += 2
					si++
					continue
				}
				if pi+1 == len(p) && s[si] == '`' {
					pi++
					si++
					continue
				}
			default:
				if foldEq(p[pi], s[si]) {
					pi++
					si++
					continue
				}
			}
		}
	backtrack:
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchSet matches r against the set starting at p[0] == '['. It returns n,
// the length of the set in p, or 0 when the set is not closed.
func matchSet(p []rune, r rune) (ok bool, n int) {
	end := -1
	for i := 1; i < len(p); i++ {
		if p[i] == ']' && i > 1 {
			end = i
			break
		}
	}
	if end < 0 {
		return false, 0
	}
	set := p[1:end]
	lr := unicode.ToLower(r)
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && set[i+1] == '-' {
			lo, hi := unicode.ToLower(set[i]), unicode.ToLower(set[i+2])
			if lr >= lo && lr <= hi {
				return true, end + 1
			}
			i += 2
			continue
		}
		if foldEq(set[i], r) {
			return true, end + 1
		}
	}
	return false, end + 1
}

func foldEq(a, b rune) bool {
	return a == b || unicode.SimpleFold(a) == b || strings.EqualFold(string(a), string(b))
}

// Limits of one wildcard pattern (a -like value, a wildcard -Identity).
// The database matches a pattern against every row it scans, and its cost
// grows with the pattern's length and its '*'s; no name or address is
// longer than MaxPatternLength, so a longer pattern could match nothing
// anyway.
const (
	MaxPatternLength    = 320 // characters: the longest email address (RFC 5321 §4.5.3.1)
	MaxPatternWildcards = 8   // '*' characters
)

// CheckPattern returns an error, a sentence for the user, when pattern
// exceeds MaxPatternLength characters or MaxPatternWildcards '*'s.
func CheckPattern(pattern string) error {
	if n := utf8.RuneCountInString(pattern); n > MaxPatternLength {
		return fmt.Errorf("The pattern is %d characters long; at most %d are allowed.", n, MaxPatternLength)
	}
	if n := strings.Count(pattern, "*"); n > MaxPatternWildcards {
		return fmt.Errorf("The pattern has %d '*' wildcards; at most %d are allowed.", n, MaxPatternWildcards)
	}
	return nil
}

// HasWildcard reports whether pattern contains a wildcard character that
// Like would treat specially.
func HasWildcard(pattern string) bool {
	return strings.ContainsAny(pattern, "*?[")
}

// LikeToSQL converts a wildcard pattern to a SQL LIKE pattern that uses
// escape as its ESCAPE character: * becomes %, ? becomes _, and a literal
// %, _ or escape is escaped. Sets ([a-z]) have no LIKE equivalent; ok is
// false for a pattern that has one, and the caller should filter with Like
// instead. Case folding is the caller's (LOWER() on both sides).
func LikeToSQL(pattern string, escape rune) (sql string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		r, w := utf8.DecodeRuneInString(pattern[i:])
		i += w
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '[':
			return "", false
		case '`':
			if i < len(pattern) {
				r, w = utf8.DecodeRuneInString(pattern[i:])
				i += w
			}
			fallthrough
		default:
			if r == '%' || r == '_' || r == escape {
				b.WriteRune(escape)
			}
			b.WriteRune(r)
		}
	}
	return b.String(), true
}
