package syntax

import (
	"math"
	"strconv"
	"strings"
)

// ParseNumber reads a PowerShell numeric literal: an integer, a decimal
// (1.5, .5, 1e3), a hexadecimal integer (0x1F), each with an optional sign,
// an optional type suffix (l for long, d for decimal) and an optional
// multiplier suffix (kb, mb, gb, tb, pb). It returns an int64 for a whole
// number that fits and a float64 otherwise.
func ParseNumber(text string) (any, bool) {
	s := strings.ToLower(text)
	if s == "" {
		return nil, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	if s == "" {
		return nil, false
	}
	mult := int64(1)
	for i, suf := range []string{"kb", "mb", "gb", "tb", "pb"} {
		if strings.HasSuffix(s, suf) {
			mult = 1 << (10 * (i + 1))
			s = strings.TrimSuffix(s, suf)
			break
		}
	}
	isDecimal := false
	if strings.HasSuffix(s, "l") && !strings.HasPrefix(s, "0x") {
		s = strings.TrimSuffix(s, "l")
	} else if strings.HasSuffix(s, "d") && !strings.HasPrefix(s, "0x") {
		s = strings.TrimSuffix(s, "d")
		isDecimal = true
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return nil, false
	}
	if strings.HasPrefix(s, "0x") {
		if isDecimal || len(s) == 2 {
			return nil, false
		}
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil || u > math.MaxInt64/uint64(mult) {
			return nil, false
		}
		n := int64(u) * mult
		if neg {
			n = -n
		}
		return n, true
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == '+' || c == '-') {
			return nil, false
		}
	}
	if s[0] == 'e' || strings.HasSuffix(s, ".") {
		return nil, false
	}
	if !strings.ContainsAny(s, ".e") && !isDecimal {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil && n <= math.MaxInt64/mult {
			n *= mult
			if neg {
				n = -n
			}
			return n, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return nil, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	f *= float64(mult)
	if neg {
		f = -f
	}
	return f, true
}
