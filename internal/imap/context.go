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
// SEARCH and in the requested order for SORT. It follows the session's view
// (its sequence numbers, flags and messages): the messages whose flags
// changed in the view, that arrived in it or whose expunge is pending are
// evaluated again when the view changes, and expunges reported to the
// client take their messages out first. Nothing else a key or criterion
// looks at changes for a message, so a sorted result only changes by
// messages entering or leaving it, never by reordering.

// maxContexts is how many updating contexts one session may keep, and
// maxContextUIDs how many results they may hold together (4 bytes each);
// past either an UPDATE is refused with NOUPDATE (RFC 5267 §4.3.1 asks for
// at least one context).
const maxContexts = 10

var maxContextUIDs = 1 << 20

// contexts are a session's updating searches, made on first use: most
// sessions have none, and an idle session keeps only a nil pointer.
type contexts struct {
	list []*searchContext
	// changed are the UIDs whose flags changed, that arrived or whose
	// expunge is pending since the contexts were last brought up to date.
	changed []uint32
}

func (s *selected) contextList() []*searchContext {
	if s.ctx == nil {
		return nil
	}
	return s.ctx.list
}

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
	for _, sc := range c.sel.contextList() {
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
	held := len(res)
	for _, sc := range s.contextList() {
		held += len(sc.uids)
	}
	if len(s.contextList()) >= maxContexts || held > maxContextUIDs {
		c.w.raw(`* NO [NOUPDATE `)
		c.w.str(r.tag)
		c.w.raw("] Too many updating searches or results; CANCELUPDATE one first\r\n")
		return
	}
	freezeSeqKeys(s, root)
	sc := &searchContext{tag: r.tag, uid: r.uid, root: root, sort: keys, uids: make([]uint32, len(res))}
	for j, i := range res {
		sc.uids[j] = s.uids[i]
	}
	if s.ctx == nil {
		s.ctx = &contexts{}
	}
	s.ctx.list = append(s.ctx.list, sc)
	// Messages expunged elsewhere and not yet reported may be in the
	// result; the next update takes them out.
	s.ctx.changed = append(s.ctx.changed, s.pendingExpunge...)
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
		if !slices.ContainsFunc(s.contextList(), func(sc *searchContext) bool { return sc.tag == t }) {
			return no("", "No updating search has the tag %s", truncate(t, 40))
		}
	}
	s.ctx.list = slices.DeleteFunc(s.ctx.list, func(sc *searchContext) bool { return slices.Contains(tags, sc.tag) })
	if len(s.ctx.list) == 0 {
		s.ctx = nil
	}
	return nil
}

// contextChanged notes that a message may have entered or left the
// contexts' results.
func (s *selected) contextChanged(uid uint32) {
	if s.ctx != nil {
		s.ctx.changed = append(s.ctx.changed, uid)
	}
}

// contextsExpunged removes messages about to be reported expunged from the
// contexts: REMOVEFROM goes out before the EXPUNGE (or VANISHED) responses,
// while the sequence numbers are still valid (RFC 5267 §4.3.4).
func (c *conn) contextsExpunged(uids []uint32) {
	s := c.sel
	if s.ctx == nil {
		return
	}
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	for _, sc := range s.ctx.list {
		now := slices.DeleteFunc(slices.Clone(sc.uids), func(u uint32) bool { return gone[u] })
		if len(now) != len(sc.uids) {
			c.writeContextUpdate(sc, sc.diff(now))
		}
	}
}

// updateContexts brings the contexts up to date with the session's view
// and reports the differences (called with the other untagged updates).
// Only the messages noted by contextChanged are evaluated again: nothing
// else a search key or sort criterion looks at changes for a message. A
// message whose expunge the session has not reported yet no longer matches.
func (c *conn) updateContexts(ctx context.Context) error {
	s := c.sel
	if s == nil || s.ctx == nil || len(s.ctx.changed) == 0 {
		return nil
	}
	changed := sortedUnique(s.ctx.changed)
	var live []uint32 // in the view, not pending expunge
	for _, u := range changed {
		if _, pending := slices.BinarySearch(s.pendingExpunge, u); !pending && s.seqOf(u) != 0 {
			live = append(live, u)
		}
	}
	var liveSet seqSet
	for _, r := range uidRanges(live) {
		liveSet.ranges = append(liveSet.ranges, seqRange{r.Start, r.Stop})
	}
	for _, sc := range s.ctx.list {
		matched := map[uint32]bool{}
		if len(live) > 0 {
			root := &searchKey{kind: sAnd, kids: []*searchKey{{kind: sUIDSet, set: liveSet}, sc.root}}
			if err := c.resolveKeys(root); err != nil {
				return err
			}
			matches, err := c.search(ctx, root)
			if err != nil {
				return err
			}
			for _, i := range matches {
				matched[s.uids[i]] = true
			}
		}
		held := make(map[uint32]bool, len(sc.uids))
		for _, u := range sc.uids {
			held[u] = true
		}
		var now []uint32
		for _, u := range sc.uids {
			if _, ch := slices.BinarySearch(changed, u); !ch || matched[u] {
				now = append(now, u)
			}
		}
		added := false
		for _, u := range live {
			if matched[u] && !held[u] {
				now = append(now, u)
				added = true
			}
		}
		if !added {
			if len(now) != len(sc.uids) {
				c.writeContextUpdate(sc, sc.diff(now))
			}
			continue
		}
		if sc.sort == nil {
			slices.Sort(now)
		} else {
			idx := make([]int, 0, len(now))
			for _, u := range now {
				if seq := s.seqOf(u); seq != 0 {
					idx = append(idx, int(seq-1))
				}
			}
			slices.Sort(idx)
			order, err := c.sortMessages(ctx, idx, sc.sort)
			if err != nil {
				return err
			}
			now = now[:0]
			for _, i := range order {
				now = append(now, s.uids[i])
			}
		}
		c.writeContextUpdate(sc, sc.diff(now))
	}
	s.ctx.changed = s.ctx.changed[:0]
	return nil
}

// contextChange is one pair of an ADDTO or REMOVEFROM data item: a context
// position (0 for SEARCH) and the UIDs at it, in the context's order.
type contextChange struct {
	add  bool
	pos  int
	uids []uint32
}

// diff makes now the context's result and returns the pairs that tell the
// client the same: first the removals, each run at its position as it is
// removed, then the additions, each run at its final position, first to
// last (RFC 5267 §4.3.2: the client applies them in the order given). The
// messages that stay keep their relative order (sort keys do not change), so
// this yields now. SEARCH contexts use position 0, in mailbox order.
func (sc *searchContext) diff(now []uint32) []contextChange {
	inNow := make(map[uint32]bool, len(now))
	for _, u := range now {
		inNow[u] = true
	}
	var out []contextChange
	var kept []uint32
	var gone []uint32
	for j := 0; j < len(sc.uids); {
		if inNow[sc.uids[j]] {
			kept = append(kept, sc.uids[j])
			j++
			continue
		}
		k := j
		for k < len(sc.uids) && !inNow[sc.uids[k]] {
			k++
		}
		if sc.sort == nil {
			gone = append(gone, sc.uids[j:k]...)
		} else {
			out = append(out, contextChange{pos: len(kept) + 1, uids: slices.Clone(sc.uids[j:k])})
		}
		j = k
	}
	if len(gone) > 0 {
		out = append(out, contextChange{uids: gone})
	}
	inKept := make(map[uint32]bool, len(kept))
	for _, u := range kept {
		inKept[u] = true
	}
	var added []uint32
	for j := 0; j < len(now); {
		if inKept[now[j]] {
			j++
			continue
		}
		k := j
		for k < len(now) && !inKept[now[k]] {
			k++
		}
		if sc.sort == nil {
			added = append(added, now[j:k]...)
		} else {
			out = append(out, contextChange{add: true, pos: j + 1, uids: slices.Clone(now[j:k])})
		}
		j = k
	}
	if len(added) > 0 {
		out = append(out, contextChange{add: true, uids: added})
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
