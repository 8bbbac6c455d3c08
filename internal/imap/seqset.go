package imap

import (
	"slices"
	"strconv"
	"strings"
)

// seqRange is one element of a sequence set; 0 stands for "*".
type seqRange struct{ start, stop uint32 }

// seqSet is a parsed sequence-set (RFC 9051 §9): ranges, or "$" (the saved
// search result, RFC 5182).
type seqSet struct {
	ranges []seqRange
	saved  bool
}

// maxSeqRanges bounds the ranges of one set.
const maxSeqRanges = 100000

// seqSet reads a sequence set.
func (p *parser) seqSet() (seqSet, error) {
	if p.consume('$') {
		return seqSet{saved: true}, nil
	}
	var s seqSet
	for {
		a, err := p.seqNumber()
		if err != nil {
			return s, err
		}
		b := a
		if p.consume(':') {
			if b, err = p.seqNumber(); err != nil {
				return s, err
			}
		}
		if len(s.ranges) >= maxSeqRanges {
			return s, p.errorf("sequence set too long")
		}
		s.ranges = append(s.ranges, seqRange{a, b})
		if !p.consume(',') {
			return s, nil
		}
	}
}

func (p *parser) seqNumber() (uint32, error) {
	if p.consume('*') {
		return 0, nil
	}
	n, err := p.number()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, p.errorf("sequence numbers start at 1")
	}
	return n, nil
}

// resolve returns the inclusive bounds of r with "*" replaced by max,
// ordered low to high.
func (r seqRange) resolve(max uint32) (uint32, uint32) {
	a, b := r.start, r.stop
	if a == 0 {
		a = max
	}
	if b == 0 {
		b = max
	}
	if a > b {
		a, b = b, a
	}
	return a, b
}

// uidRanges compresses ascending UIDs into ranges.
func uidRanges(uids []uint32) []UIDRange {
	var out []UIDRange
	for _, u := range uids {
		if n := len(out); n > 0 && out[n-1].Stop+1 == u {
			out[n-1].Stop = u
			continue
		}
		out = append(out, UIDRange{u, u})
	}
	return out
}

// formatSet writes numbers as a sequence set, compressing runs that ascend
// by one ("1:3,7") and keeping their order (RFC 4315 §3 COPYUID needs it).
func formatSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// sortedUnique sorts and deduplicates.
func sortedUnique(v []uint32) []uint32 {
	slices.Sort(v)
	return slices.Compact(v)
}

// containsUID reports whether the UID set names u; "*" stands for max (the
// largest UID the mailbox has given, so that UIDs expunged at the end are
// covered).
func (s *seqSet) containsUID(u, max uint32) bool {
	for _, r := range s.ranges {
		a, b := r.resolve(max)
		if a <= u && u <= b {
			return true
		}
	}
	return false
}
