package imap

import (
	"context"
	"slices"
	"sort"
	"strings"
)

// idxRange is a range [lo, hi) of message indexes (sequence number - 1).
type idxRange struct{ lo, hi int }

// resolve turns a sequence set into ascending, non-overlapping index ranges
// of the session's messages. Sequence numbers past the last message are an
// error (RFC 9051 §9 seq-number); UIDs that do not exist are ignored.
func (c *conn) resolve(set seqSet, uid bool) ([]idxRange, error) {
	s := c.sel
	var out []idxRange
	if set.saved {
		// SEARCHRES "$" (RFC 5182 §2.1): the UIDs of the saved result.
		for _, u := range s.saved {
			if seq := s.seqOf(u); seq != 0 {
				out = append(out, idxRange{int(seq - 1), int(seq)})
			}
		}
		return mergeRanges(out), nil
	}
	if uid {
		max := s.maxUID()
		if max == 0 {
			return nil, nil
		}
		for _, r := range set.ranges {
			a, b := r.resolve(max)
			lo, _ := slices.BinarySearch(s.uids, a)
			hi, found := slices.BinarySearch(s.uids, b)
			if found {
				hi++
			}
			if lo < hi {
				out = append(out, idxRange{lo, hi})
			}
		}
		return mergeRanges(out), nil
	}
	n := s.exists()
	if n == 0 {
		// "1:*" in an empty mailbox addresses nothing; a plain number is
		// an error.
		for _, r := range set.ranges {
			if r.start != 0 && r.stop != 0 {
				return nil, bad("Invalid sequence number: the mailbox is empty")
			}
		}
		return nil, nil
	}
	for _, r := range set.ranges {
		a, b := r.resolve(n)
		if b > n {
			return nil, bad("Invalid sequence number %d (%d messages)", b, n)
		}
		out = append(out, idxRange{int(a - 1), int(b)})
	}
	return mergeRanges(out), nil
}

func mergeRanges(rs []idxRange) []idxRange {
	if len(rs) <= 1 {
		return rs
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// count returns how many messages the ranges hold.
func count(rs []idxRange) int {
	n := 0
	for _, r := range rs {
		n += r.hi - r.lo
	}
	return n
}

// backendRanges turns index ranges into UID ranges for the backend: all
// UIDs between the first and last of a run are the session's messages.
func (s *selected) backendRanges(rs []idxRange) []UIDRange {
	out := make([]UIDRange, 0, len(rs))
	for _, r := range rs {
		out = append(out, UIDRange{s.uids[r.lo], s.uids[r.hi-1]})
	}
	return out
}

// uidsOf lists the UIDs of the ranges.
func (s *selected) uidsOf(rs []idxRange) []uint32 {
	out := make([]uint32, 0, count(rs))
	for _, r := range rs {
		out = append(out, s.uids[r.lo:r.hi]...)
	}
	return out
}

// reportExpunged removes expunged UIDs from the session and sends EXPUNGE
// for each (RFC 9051 §7.5.1), or one VANISHED once QRESYNC is enabled (RFC
// 7162 §3.2.10).
func (c *conn) reportExpunged(uids []uint32) {
	s := c.sel
	c.contextsExpunged(uids)
	var vanished []uint32
	for _, u := range uids {
		seq := s.seqOf(u)
		if seq == 0 {
			continue
		}
		s.remove(int(seq - 1))
		if c.qresync {
			vanished = append(vanished, u)
			continue
		}
		c.w.raw("* ")
		c.w.num(seq)
		c.w.raw(" EXPUNGE\r\n")
	}
	c.writeVanished(vanished, false)
	s.pendingExpunge = slices.DeleteFunc(s.pendingExpunge, func(u uint32) bool { return s.seqOf(u) == 0 })
	if len(s.saved) > 0 {
		s.saved = slices.DeleteFunc(s.saved, func(u uint32) bool { return s.seqOf(u) == 0 })
	}
}

var errReadOnly = &Error{Text: "Mailbox is read-only"}

// EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9).
func cmdExpunge(ctx context.Context, c *conn, r *request) error {
	p := r.p
	var set seqSet
	if r.uid {
		if err := p.sp(); err != nil {
			return err
		}
		var err error
		if set, err = p.seqSet(); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	s := c.sel
	if s.readOnly {
		return errReadOnly
	}
	var uids []UIDRange
	if r.uid {
		// Judge \Deleted by the latest flags.
		if err := c.sendUpdates(ctx, true, false); err != nil {
			return err
		}
		rs, err := c.resolve(set, true)
		if err != nil {
			return err
		}
		// Only messages with \Deleted are expunged.
		var del []uint32
		for _, rg := range rs {
			for i := rg.lo; i < rg.hi; i++ {
				if s.flags[i]&FlagDeleted != 0 {
					del = append(del, s.uids[i])
				}
			}
		}
		if len(del) == 0 {
			return nil
		}
		uids = uidRanges(del)
	}
	var removed []uint32
	var err error
	if er, ok := s.folder.(ExpungeReader); ok {
		err = c.readWith(func(since uint64) (*FolderChanges, error) {
			var ch *FolderChanges
			var err error
			removed, ch, err = er.ExpungeRead(ctx, uids, since)
			return ch, err
		})
	} else {
		removed, err = s.folder.Expunge(ctx, uids)
	}
	if err != nil {
		return err
	}
	c.reportExpunged(removed)
	return nil
}

// COPY, MOVE and their UID forms (RFC 9051 §6.4.7, §6.4.8, RFC 6851,
// RFC 4315 COPYUID).
func cmdCopy(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	set, err := p.seqSet()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	dest, err := p.mailbox()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	s := c.sel
	move := strings.HasSuffix(r.name, "MOVE")
	if move && s.readOnly {
		return errReadOnly
	}
	rs, err := c.resolve(set, r.uid)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	// The destination and the mailbox's usage in one read, when the
	// backend can (AppendUsageReader, as for APPEND): a copy that cannot
	// reach the mailbox's warning limit then needs no read after it for
	// warnSoftQuota.
	warnAt, usedBefore := int64(-1), int64(0) // warnAt -1: not read
	if ar, ok := c.user.(AppendUsageReader); ok && !move {
		if used, _, warn, err := ar.AppendUsage(ctx, dest); err == nil {
			warnAt, usedBefore = warn, used
		}
	}
	var res CopyResult
	rc, claiming := s.folder.(RecentCopier)
	switch {
	case move:
		res, err = s.folder.Move(ctx, s.backendRanges(rs), dest)
	case claiming && !s.readOnly && !c.rev2:
		// Copies into the selected folder are this session's to claim
		// (\Recent), as its APPENDs are.
		var r RecentCopy
		err = c.readWith(func(since uint64) (*FolderChanges, error) {
			var err error
			r, err = rc.CopyRecent(ctx, s.backendRanges(rs), dest, since)
			return r.Changes, err
		})
		if err == nil && r.Claimed {
			s.claims = append(s.claims, recentRange{r.First, r.Next})
		}
		res = r.CopyResult
	default:
		res, err = s.folder.Copy(ctx, s.backendRanges(rs), dest)
	}
	if err != nil {
		if errorCode(err) == CodeNonExistent {
			return no(CodeTryCreate, "Destination mailbox does not exist")
		}
		return err
	}
	// A MOVE within the mailbox does not grow it.
	if !move && (warnAt < 0 || (warnAt > 0 && (res.Size == 0 || usedBefore+res.Size >= warnAt))) {
		c.warnSoftQuota(ctx)
	}
	var code string
	if len(res.SrcUIDs) > 0 {
		code = "COPYUID " + itoa(res.UIDValidity) + " " + formatSet(res.SrcUIDs) + " " + formatSet(res.DstUIDs)
	}
	if !move {
		if code == "" {
			return nil
		}
		return &okResult{code: code, text: "COPY completed"}
	}
	// RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
	if code != "" {
		c.w.raw("* OK [" + code + "] Moved\r\n")
	}
	moved := slices.Clone(res.SrcUIDs)
	slices.Sort(moved)
	c.reportExpunged(moved)
	return nil
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// IDLE (RFC 2177, RFC 9051 §6.3.13). The connection's goroutine goes back to
// waiting for input; changes are pushed by folderChanged until DONE.
func cmdIdle(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	if err := c.continuation("idling"); err != nil {
		return err
	}
	if err := c.sendUpdates(ctx, true, true); err != nil {
		c.log.Warn("updates at IDLE failed", "err", err)
	}
	c.idleTag = r.tag
	return errResponded
}

// clipSeqSet resolves a sequence set against the session's messages,
// leaving out the numbers past the end ("*" is the last message). Only a
// search uses it: every other command must refuse such a set.
func (s *selected) clipSeqSet(set seqSet) []idxRange {
	n := s.exists()
	if n == 0 {
		return nil
	}
	var out []idxRange
	for _, r := range set.ranges {
		a, b := r.resolve(n)
		if a > n {
			continue
		}
		out = append(out, idxRange{int(a - 1), int(min(b, n))})
	}
	return mergeRanges(out)
}
