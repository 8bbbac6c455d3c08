package imap

import (
	"context"
	"slices"
	"strconv"
)

// Search contexts (CONTEXT=SEARCH and CONTEXT=SORT, RFC 5267 §4): a SEARCH
// or SORT with RETURN (UPDATE) keeps its result up to date while the mailbox
// stays selected, sending ADDTO and REMOVEFROM in ESEARCH responses with the
// other untagged updates. The result is kept as UIDs, in mailbox order for
// SEARCH and in the requested order for SORT, and is recomputed from the
// session's view (its sequence numbers, flags and messages) whenever that
// view changes; sort keys never change for a message, so a sorted result
// only changes by messages entering or leaving it.

// maxContexts is how many updating contexts one session may keep; past it an
// UPDATE is refused with NOUPDATE (RFC 5267 §4.3.1 asks for at least one).
const maxContexts = 10

// searchContext is one updating search or sort.
type searchContext struct {
	tag  string
	uid  bool
	root *searchKey // sequence-number keys fixed to the UIDs they named
	sort []sortKey  // nil for SEARCH
	uids []uint32   // the result the client holds, in its order
}

// checkUpdateTag refuses UPDATE with the tag of a live context (RFC 5267
// §4.3: a BAD response).
func (c *conn) checkUpdateTag(r *request, ret *searchReturn) error {
	if !ret.update {
		return nil
	}
	for _, sc := range c.sel.contexts {
		if sc.tag == r.tag {
			return bad("Tag reuse: %s already names an updating search", truncate(r.tag, 40))
		}
	}
	return nil
}

// startContext keeps an updating context for a SEARCH or SORT with UPDATE,
// or, past maxContexts, says it will not (an untagged NO [NOUPDATE], RFC
// 5267 §4.3.1; the other return options are still answered). res is the
// result in its order.
func (c *conn) startContext(r *request, ret *searchReturn, root *searchKey, keys []sortKey, res []int) {
	if !ret.update {
		return
	}
	s := c.sel
	if len(s.contexts) >= maxContexts {
		ret.noUpdate = true
		c.w.raw(`* NO [NOUPDATE `)
		c.w.str(r.tag)
		c.w.raw("] Too many updating searches; CANCELUPDATE one first\r\n")
		return
	}
	freezeSeqKeys(s, root)
	sc := &searchContext{tag: r.tag, uid: r.uid, root: root, sort: keys, uids: make([]uint32, len(res))}
	for j, i := range res {
		sc.uids[j] = s.uids[i]
	}
	s.contexts = append(s.contexts, sc)
}

// freezeSeqKeys turns the sequence-number keys of a context's criteria
// (and "$") into the UIDs they named when the command ran, so that later
// expunges do not shift them onto other messages. UID keys stay as given:
// "UID 1:*" goes on matching new messages.
func freezeSeqKeys(s *selected, k *searchKey) {
	if k.kind == sSeqSet {
		var uids []uint32
		for _, r := range k.idx {
			uids = append(uids, s.uids[r.lo:r.hi]...)
		}
		var set seqSet
		for _, r := range uidRanges(uids) {
			set.ranges = append(set.ranges, seqRange{r.Start, r.Stop})
		}
		if len(set.ranges) == 0 {
			k.kind, k.kids = sNot, []*searchKey{{kind: sAll}}
			return
		}
		k.kind, k.set = sUIDSet, set
	}
	for _, kid := range k.kids {
		freezeSeqKeys(s, kid)
	}
}

// CANCELUPDATE "tag" ... (RFC 5267 §4.3.5): stop updating those contexts.
func cmdCancelUpdate(ctx context.Context, c *conn, r *request) error {
	p := r.p
	var tags []string
	for p.consume(' ') {
		t, err := p.quoted()
		if err != nil {
			return err
		}
		tags = append(tags, t)
	}
	if len(tags) == 0 {
		return p.errorf("expected the quoted tag of an updating search")
	}
	if err := p.end(); err != nil {
		return err
	}
	s := c.sel
	for _, t := range tags {
		if !slices.ContainsFunc(s.contexts, func(sc *searchContext) bool { return sc.tag == t }) {
			return no("", "No updating search has the tag %s", truncate(t, 40))
		}
	}
	s.contexts = slices.DeleteFunc(s.contexts, func(sc *searchContext) bool { return slices.Contains(tags, sc.tag) })
	return nil
}

// contextsExpunged removes messages about to be reported expunged from the
// contexts: REMOVEFROM goes out before the EXPUNGE (or VANISHED) responses,
// while the sequence numbers are still valid (RFC 5267 §4.3.4).
func (c *conn) contextsExpunged(uids []uint32) {
	s := c.sel
	for _, sc := range s.contexts {
		gone := slices.DeleteFunc(slices.Clone(sc.uids), func(u uint32) bool { return !slices.Contains(uids, u) })
		if len(gone) > 0 {
			c.writeContextUpdate(sc, sc.diff(gone, nil))
		}
	}
}

// updateContexts recomputes the contexts after the session's view changed
// and reports the differences (called with the other untagged updates).
// Messages whose expunge the session has not reported yet no longer match.
func (c *conn) updateContexts(ctx context.Context) error {
	s := c.sel
	if s == nil || len(s.contexts) == 0 || !s.ctxDirty {
		return nil
	}
	for _, sc := range s.contexts {
		if err := c.resolveKeys(sc.root); err != nil {
			return err
		}
		matches, err := c.search(ctx, sc.root)
		if err != nil {
			return err
		}
		matches = slices.DeleteFunc(matches, func(i int) bool {
			_, pending := slices.BinarySearch(s.pendingExpunge, s.uids[i])
			return pending
		})
		if sc.sort != nil {
			if matches, err = c.sortMessages(ctx, matches, sc.sort); err != nil {
				return err
			}
		}
		now := make([]uint32, len(matches))
		for j, i := range matches {
			now[j] = s.uids[i]
		}
		var gone []uint32
		for _, u := range sc.uids {
			if !slices.Contains(now, u) {
				gone = append(gone, u)
			}
		}
		if len(gone) > 0 || len(now) != len(sc.uids) {
			c.writeContextUpdate(sc, sc.diff(gone, now))
		}
	}
	s.ctxDirty = false
	return nil
}

// contextChange is one pair of an ADDTO or REMOVEFROM data item: a context
// position (0 for SEARCH) and the UIDs at it, in the context's order.
type contextChange struct {
	add  bool
	pos  int
	uids []uint32
}

// diff applies the removal of gone and then (when now is not nil) the
// change to now, returning the pairs that tell the client the same: removals
// at their positions as they are removed, then additions at their final
// positions in ascending order (RFC 5267 §4.3.2: the client applies them in
// the order given).
func (sc *searchContext) diff(gone, now []uint32) []contextChange {
	var out []contextChange
	if len(gone) > 0 {
		if sc.sort == nil {
			out = append(out, contextChange{pos: 0, uids: sortedUnique(slices.Clone(gone))})
			sc.uids = slices.DeleteFunc(sc.uids, func(u uint32) bool { return slices.Contains(gone, u) })
		} else {
			for j := 0; j < len(sc.uids); {
				if !slices.Contains(gone, sc.uids[j]) {
					j++
					continue
				}
				k := j
				for k < len(sc.uids) && slices.Contains(gone, sc.uids[k]) {
					k++
				}
				out = append(out, contextChange{pos: j + 1, uids: slices.Clone(sc.uids[j:k])})
				sc.uids = slices.Delete(sc.uids, j, k)
			}
		}
	}
	if now == nil {
		return out
	}
	var added []uint32
	for _, u := range now {
		if !slices.Contains(sc.uids, u) {
			added = append(added, u)
		}
	}
	if len(added) > 0 {
		if sc.sort == nil {
			out = append(out, contextChange{add: true, pos: 0, uids: sortedUnique(added)})
		} else {
			// Survivors keep their relative order, so inserting each run
			// of new results at its final position, first to last, yields
			// now.
			for j := 0; j < len(now); {
				if slices.Contains(sc.uids, now[j]) {
					j++
					continue
				}
				k := j
				for k < len(now) && !slices.Contains(sc.uids, now[k]) {
					k++
				}
				out = append(out, contextChange{add: true, pos: j + 1, uids: slices.Clone(now[j:k])})
				j = k
			}
		}
	}
	sc.uids = slices.Clone(now)
	return out
}

// writeContextUpdate writes one ESEARCH response with the changes:
// REMOVEFROM and ADDTO data items, each a list of (position set) pairs
// (RFC 5267 §4.3.3, §4.3.4), in UIDs for UID SEARCH and UID SORT and
// sequence numbers otherwise.
func (c *conn) writeContextUpdate(sc *searchContext, changes []contextChange) {
	if len(changes) == 0 {
		return
	}
	s := c.sel
	w := &c.w
	w.raw(`* ESEARCH (TAG `)
	w.str(sc.tag)
	w.byte(')')
	if sc.uid {
		w.raw(" UID")
	}
	for j := 0; j < len(changes); {
		k := j
		for k < len(changes) && changes[k].add == changes[j].add {
			k++
		}
		if changes[j].add {
			w.raw(" ADDTO (")
		} else {
			w.raw(" REMOVEFROM (")
		}
		for n, ch := range changes[j:k] {
			if n > 0 {
				w.sp()
			}
			w.raw(strconv.Itoa(ch.pos))
			w.sp()
			nums := make([]uint32, 0, len(ch.uids))
			for _, u := range ch.uids {
				if sc.uid {
					nums = append(nums, u)
				} else {
					nums = append(nums, s.seqOf(u))
				}
			}
			// In the context's order; formatSet only joins ascending
			// runs (RFC 5267 §3.2).
			w.raw(formatSet(nums))
		}
		w.byte(')')
		j = k
	}
	w.crlf()
}
