package imap

import (
	"context"
	"slices"
	"strconv"
)

// PARTIAL (RFC 9394): a window of a SEARCH or SORT result (search.go,
// sort.go) or of the messages a UID FETCH names.

// partialRange is a PARTIAL range as given (RFC 9394 §4): two nz-numbers,
// or two negated ones counting from the last result.
type partialRange struct{ a, b int64 }

func (r *partialRange) String() string {
	return strconv.FormatInt(r.a, 10) + ":" + strconv.FormatInt(r.b, 10)
}

// window returns the part of res the range selects, in the order of res:
// 1 is the first result, -1 the last (RFC 9394 §3.1).
func (r *partialRange) window(res []int) []int {
	lo, hi := min(r.a, r.b), max(r.a, r.b)
	n := int64(len(res))
	if lo < 0 {
		// -hi..-lo counted from the end: positions n+lo+1 .. n+hi+1
		// (1-based), with lo the more negative.
		lo, hi = n+lo+1, n+hi+1
	}
	lo = max(lo, 1)
	hi = min(hi, n)
	if lo > hi {
		return nil
	}
	return res[lo-1 : hi]
}

// partialRange reads partial-range (RFC 9394 §4): nz-number ":" nz-number
// or "-" nz-number ":" "-" nz-number; "*" and 0 are not allowed.
func (p *parser) partialRange() (*partialRange, error) {
	num := func(neg bool) (int64, error) {
		if neg {
			if err := p.expect('-'); err != nil {
				return 0, err
			}
		}
		start := p.pos
		n, err := p.number()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			p.pos = start
			return 0, p.errorf("PARTIAL ranges start at 1")
		}
		if neg {
			return -int64(n), nil
		}
		return int64(n), nil
	}
	neg := p.peek() == '-'
	a, err := num(neg)
	if err != nil {
		return nil, err
	}
	if err := p.expect(':'); err != nil {
		return nil, err
	}
	b, err := num(neg)
	if err != nil {
		return nil, err
	}
	// "4:2" is the range "2:4" and "-5:-1" is "-1:-5" (RFC 9394 §3.1: the
	// order of the two numbers does not matter); the response names the
	// range in its ordered form, as the RFC writes it ("1:500",
	// "-1:-100") and Dovecot answers it.
	if neg {
		return &partialRange{max(a, b), min(a, b)}, nil
	}
	return &partialRange{min(a, b), max(a, b)}, nil
}

// partialFetch narrows the messages of a UID FETCH to the window of the
// PARTIAL modifier (RFC 9394 §3.3), counted among those the FETCH returns:
// with CHANGEDSINCE only the messages changed since (§3.4).
func (c *conn) partialFetch(ctx context.Context, rs []idxRange, r *partialRange, changedSince uint64) ([]idxRange, error) {
	s := c.sel
	var idx []int
	if changedSince > 0 {
		err := s.folder.Messages(ctx, s.backendRanges(rs), 0, func(md *MessageData) error {
			if seq := s.seqOf(md.UID); seq != 0 && md.ModSeq > changedSince {
				idx = append(idx, int(seq-1))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(idx)
	} else {
		for _, rg := range rs {
			for i := rg.lo; i < rg.hi; i++ {
				idx = append(idx, i)
			}
		}
	}
	var out []idxRange
	for _, i := range r.window(idx) {
		if n := len(out); n > 0 && out[n-1].hi == i {
			out[n-1].hi++
		} else {
			out = append(out, idxRange{i, i + 1})
		}
	}
	return out, nil
}
