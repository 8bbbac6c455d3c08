package imap

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The threading algorithms of the THREAD command: ORDEREDSUBJECT and
// REFERENCES (RFC 5256 §3) and REFS (draft-ietf-morg-inthread, as Dovecot
// implements it). They are pure functions of what each message says about
// itself; the command (threadcmd.go) reads that from the store. Every step
// uses maps and sorts: nothing is quadratic in the number of messages, so
// that a large folder threads in well under a second.

// threadAlg is a threading algorithm.
type threadAlg uint8

const (
	threadOrderedSubject threadAlg = iota
	threadReferences
	threadRefs
)

// parseThreadAlg returns the algorithm called name (RFC 5256 §3
// thread-alg, case-insensitive).
func parseThreadAlg(name string) (threadAlg, bool) {
	switch strings.ToUpper(name) {
	case "ORDEREDSUBJECT":
		return threadOrderedSubject, true
	case "REFERENCES":
		return threadReferences, true
	case "REFS":
		return threadRefs, true
	}
	return 0, false
}

// threadMsg is what threading reads of one message. Messages are given in
// sequence order; their index is the final tie-break of every sort (RFC
// 5256 §2.2).
type threadMsg struct {
	// date is the sent date, or the internal date when the message has
	// no Date field or one that cannot be parsed (§2.2).
	date time.Time
	// subject is the Subject field, encoded words decoded.
	subject string
	// messageID, inReplyTo and references are the raw field values.
	messageID  string
	inReplyTo  string
	references string
}

// threadNode is one node of a thread tree: a message (msg is its index in
// the input) or a dummy (msg is -1) that stands for a missing common
// parent. Dummies remain only at the top level, with two or more children.
type threadNode struct {
	msg  int
	kids []*threadNode
}

// threadMessages threads msgs with alg and returns the threads in order.
func threadMessages(alg threadAlg, msgs []threadMsg) []*threadNode {
	if alg == threadOrderedSubject {
		return threadBySubject(msgs)
	}
	return threadByReferences(msgs, alg == threadRefs)
}

// threadBySubject is ORDEREDSUBJECT (RFC 5256 §3): the messages sorted by
// base subject and sent date and split into one thread per base subject;
// the first message of a thread is its root and the others its children;
// the threads ordered by the sent date of their first message.
func threadBySubject(msgs []threadMsg) []*threadNode {
	groups := map[string]int{}
	var members [][]int
	for i := range msgs {
		key := asciiCasemap(baseSubject(msgs[i].subject))
		g, ok := groups[key]
		if !ok {
			g = len(members)
			groups[key] = g
			members = append(members, nil)
		}
		members[g] = append(members[g], i)
	}
	byDate := func(a, b int) int { return compareSent(msgs, a, b) }
	out := make([]*threadNode, 0, len(members))
	for _, m := range members {
		slices.SortFunc(m, byDate)
		root := &threadNode{msg: m[0]}
		if len(m) > 1 {
			kids := make([]threadNode, len(m)-1)
			root.kids = make([]*threadNode, len(kids))
			for j := range kids {
				kids[j].msg = m[j+1]
				root.kids[j] = &kids[j]
			}
		}
		out = append(out, root)
	}
	slices.SortFunc(out, func(a, b *threadNode) int { return byDate(a.msg, b.msg) })
	return out
}

// compareSent orders messages by sent date, then by sequence (§2.2).
func compareSent(msgs []threadMsg, a, b int) int {
	if c := msgs[a].date.Compare(msgs[b].date); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// refGraph holds the parent links of step 1 of REFERENCES over messages
// and dummies (nodes), and answers the loop checks quickly.
//
// Every link step 1 makes hangs a tree root under another node, and the
// loop check always asks whether the new parent lies in the tree of that
// root. A root without children cannot hold it (the usual case: a new
// message, or a missing one first named). Otherwise the check finds the
// root of the parent's tree, and each node keeps a hint: an ancestor it
// reached before, which stays an ancestor while links are only added.
// Breaking a link (step 1.B, rare) invalidates all hints at once by moving
// to a new epoch. Deep reply chains thus cost amortized near-constant time
// per check instead of their depth.
type refGraph struct {
	parent    []int32 // -1: none
	kids      []int32 // number of children
	msg       []int32 // message index, -1 for a dummy
	hint      []int32
	hintEpoch []uint32
	epoch     uint32
	ids       map[string]int32
	path      []int32
}

func (g *refGraph) add(msg int32) int32 {
	n := int32(len(g.parent))
	g.parent = append(g.parent, -1)
	g.kids = append(g.kids, 0)
	g.msg = append(g.msg, msg)
	g.hint = append(g.hint, -1)
	g.hintEpoch = append(g.hintEpoch, 0)
	return n
}

// ref returns the node of a referenced Message ID, creating a dummy when
// no message has it (yet): step 1.A, "use this dummy message for all
// subsequent references to this ID".
func (g *refGraph) ref(id string) int32 {
	if n, ok := g.ids[id]; ok {
		return n
	}
	n := g.add(-1)
	g.ids[id] = n
	return n
}

// root returns the root of the tree n is in.
func (g *refGraph) root(n int32) int32 {
	path := g.path[:0]
	cur := n
	for g.parent[cur] >= 0 {
		path = append(path, cur)
		if g.hintEpoch[cur] == g.epoch {
			cur = g.hint[cur]
		} else {
			cur = g.parent[cur]
		}
	}
	for _, p := range path {
		g.hint[p], g.hintEpoch[p] = cur, g.epoch
	}
	g.path = path
	return cur
}

// link makes parent the parent of the root child, unless that would make
// a loop (parent is in child's tree).
func (g *refGraph) link(parent, child int32) {
	if parent == child || (g.kids[child] > 0 && g.root(parent) == child) {
		return
	}
	g.parent[child] = parent
	g.kids[parent]++
}

// unlink breaks the link of n to its parent.
func (g *refGraph) unlink(n int32) {
	if p := g.parent[n]; p >= 0 {
		g.parent[n] = -1
		g.kids[p]--
		g.epoch++
	}
}

// threadByReferences is REFERENCES (RFC 5256 §3) and, with refs, REFS:
// REFERENCES without the merging by subject (step 5), and with the threads
// ordered by their latest message instead of their first.
func threadByReferences(msgs []threadMsg, refs bool) []*threadNode {
	g := &refGraph{ids: make(map[string]int32, len(msgs)), epoch: 1}
	g.parent = make([]int32, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		// A message without a valid Message ID, or whose Message ID an
		// earlier (lower sequence) message has, gets a unique one: a node
		// of its own that no reference can name.
		own := firstMsgID(m.messageID)
		cur := int32(-1)
		if own != "" {
			if n, ok := g.ids[own]; !ok {
				cur = g.add(int32(i))
				g.ids[own] = cur
			} else if g.msg[n] < 0 {
				cur = n // the dummy its replies made becomes the message
				g.msg[n] = int32(i)
			} else {
				own = ""
			}
		}
		if cur < 0 {
			cur = g.add(int32(i))
		}
		// The references: the References field, or when it has no valid
		// Message ID, the first valid one of In-Reply-To. A message that
		// names itself would be its own ancestor; that reference is
		// dropped, as the loop rule would drop the link.
		ids := parseMsgIDs(m.references, 0)
		if len(ids) == 0 {
			if id := firstMsgID(m.inReplyTo); id != "" {
				ids = []string{id}
			}
		}
		// (1.A) Link the references as parent and child, never changing
		// an existing parent (References may have been truncated) and
		// never making a loop.
		last := int32(-1)
		for _, id := range ids {
			if own != "" && id == own {
				continue
			}
			n := g.ref(id)
			if last >= 0 && n != last && g.parent[n] < 0 {
				g.link(last, n)
			}
			last = n
		}
		// (1.B) The last reference is the parent of the message: a
		// parent it had from another message's references is replaced.
		if g.parent[cur] != last {
			g.unlink(cur)
			if last >= 0 {
				g.link(last, cur)
			}
		}
	}

	return (&refTree{msgs: msgs, msg: g.msg}).finish(g.parent, refs)
}

// refTree is the thread tree of REFERENCES after step 1: children lists
// over the nodes of the graph, plus dummies step 5 adds.
type refTree struct {
	msgs []threadMsg
	msg  []int32 // per graph node: message index, -1 for a dummy
	kids [][]int32
}

func (t *refTree) isDummy(n int32) bool { return int(n) >= len(t.msg) || t.msg[n] < 0 }

// sentKey is the message a node sorts by: itself, or a dummy's first child
// (whose children must be sorted already).
func (t *refTree) sentKey(n int32) int {
	for t.isDummy(n) {
		n = t.kids[n][0]
	}
	return int(t.msg[n])
}

func (t *refTree) bySent(a, b int32) int {
	return compareSent(t.msgs, t.sentKey(a), t.sentKey(b))
}

// finish runs steps 2 to 6 on the parent links of step 1.
func (t *refTree) finish(parent []int32, refs bool) []*threadNode {
	// (2) The nodes without parents are the first messages of the
	// threads. Children lists are built once, in node order.
	nodes := len(parent)
	count := make([]int32, nodes+1)
	for _, p := range parent {
		if p >= 0 {
			count[p+1]++
		}
	}
	for i := 1; i <= nodes; i++ {
		count[i] += count[i-1]
	}
	flat := make([]int32, count[nodes])
	fill := slices.Clone(count[:nodes])
	var roots []int32
	for n, p := range parent {
		if p < 0 {
			roots = append(roots, int32(n))
			continue
		}
		flat[fill[p]] = int32(n)
		fill[p]++
	}
	t.kids = make([][]int32, nodes)
	for n := range t.kids {
		t.kids[n] = flat[count[n]:count[n+1]:count[n+1]]
	}

	// (3) Prune dummies, children before parents: a dummy without
	// children goes; one with children gives them to its parent. order is
	// a breadth-first walk, so that its reverse visits every node after
	// its descendants.
	order := make([]int32, 0, nodes)
	order = append(order, roots...)
	for i := 0; i < len(order); i++ {
		order = append(order, t.kids[order[i]]...)
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if !slices.ContainsFunc(t.kids[n], t.isDummy) {
			continue
		}
		var nk []int32
		for _, k := range t.kids[n] {
			if t.isDummy(k) {
				nk = append(nk, t.kids[k]...)
			} else {
				nk = append(nk, k)
			}
		}
		t.kids[n] = nk
	}
	// At the top, a dummy stays unless it has only one child: promoting
	// several would make them separate threads.
	top := make([]int32, 0, len(roots))
	for _, r := range roots {
		switch {
		case !t.isDummy(r):
			top = append(top, r)
		case len(t.kids[r]) == 1:
			top = append(top, t.kids[r][0])
		case len(t.kids[r]) > 1:
			top = append(top, r)
		}
	}

	if !refs {
		// (4) Sort the threads by the sent date of their first message.
		for _, n := range top {
			if t.isDummy(n) {
				slices.SortFunc(t.kids[n], t.bySent)
			}
		}
		slices.SortFunc(top, t.bySent)
		// (5) Merge the threads whose first messages share a base
		// subject.
		top = t.mergeBySubject(top)
	}

	// (6) Sort every set of siblings by sent date; the dummies (all at
	// the top) by their first child once their children are sorted.
	for n := range t.kids {
		if len(t.kids[n]) > 1 {
			slices.SortFunc(t.kids[n], t.bySent)
		}
	}
	if refs {
		// REFS: the threads ordered by their latest message.
		latest := make(map[int32]int, len(top))
		stack := make([]int32, 0, 64)
		for _, r := range top {
			best := -1
			stack = append(stack[:0], r)
			for len(stack) > 0 {
				n := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if !t.isDummy(n) {
					if m := int(t.msg[n]); best < 0 || compareSent(t.msgs, m, best) > 0 {
						best = m
					}
				}
				stack = append(stack, t.kids[n]...)
			}
			latest[r] = best
		}
		slices.SortFunc(top, func(a, b int32) int { return compareSent(t.msgs, latest[a], latest[b]) })
	} else {
		slices.SortFunc(top, t.bySent)
	}
	return t.build(top)
}

// mergeBySubject is step 5 of REFERENCES: threads whose first messages
// (the first child of a dummy) have the same base subject become one, the
// original message taking replies and forwards as children, or a new
// dummy holding both. It returns the new top level.
func (t *refTree) mergeBySubject(top []int32) []int32 {
	type subj struct {
		key   string
		refwd bool // the subject is a reply or forward
	}
	subjects := make([]subj, len(top))
	for i, n := range top {
		base, refwd := baseSubjectRefwd(t.msgs[t.sentKey(n)].subject)
		subjects[i] = subj{asciiCasemap(base), refwd}
	}
	// (5.B) One thread per subject in the subject table: a dummy wins
	// over a message, an original over a reply or forward. An empty
	// subject joins nothing.
	table := make(map[string]int, len(top)) // subject → index in top
	for i, n := range top {
		s := subjects[i]
		if s.key == "" {
			continue
		}
		e, ok := table[s.key]
		if !ok || (!t.isDummy(top[e]) && (t.isDummy(n) || (subjects[e].refwd && !s.refwd))) {
			table[s.key] = i
		}
	}
	// (5.C) Merge every other thread into the one in the table.
	removed := make([]bool, len(top))
	for i, n := range top {
		s := subjects[i]
		if s.key == "" {
			continue
		}
		e := table[s.key]
		if e == i {
			continue
		}
		en := top[e]
		switch {
		case t.isDummy(en) && t.isDummy(n):
			t.kids[en] = append(t.kids[en], t.kids[n]...)
		case t.isDummy(en) || (s.refwd && !subjects[e].refwd):
			t.kids[en] = append(t.kids[en], n)
		default:
			// A new dummy takes the table thread's place at the top.
			d := int32(len(t.kids))
			t.kids = append(t.kids, []int32{en, n})
			top[e] = d
		}
		removed[i] = true
	}
	out := top[:0]
	for i, n := range top {
		if !removed[i] {
			out = append(out, n)
		}
	}
	return out
}

// build turns the top-level nodes into threads.
func (t *refTree) build(top []int32) []*threadNode {
	out := make([]*threadNode, len(top))
	type pending struct {
		n    int32
		node *threadNode
	}
	var stack []pending
	for i, r := range top {
		out[i] = &threadNode{}
		stack = append(stack, pending{r, out[i]})
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p.node.msg = -1
			if !t.isDummy(p.n) {
				p.node.msg = int(t.msg[p.n])
			}
			ks := t.kids[p.n]
			if len(ks) == 0 {
				continue
			}
			nodes := make([]threadNode, len(ks))
			p.node.kids = make([]*threadNode, len(ks))
			for j, k := range ks {
				p.node.kids[j] = &nodes[j]
				stack = append(stack, pending{k, &nodes[j]})
			}
		}
	}
	return out
}

// appendThreads appends the threads as the THREAD response writes them
// (RFC 5256 §4): each thread in parentheses; a message followed by its
// only child, or by its children each in parentheses; a dummy as the list
// of its children in parentheses. num gives the number of a message.
func appendThreads(b []byte, threads []*threadNode, num func(int) uint32) []byte {
	type frame struct {
		kids []*threadNode
		next int
	}
	var stack []frame
	for _, n := range threads {
		b = append(b, '(')
		for {
			// The members from n down to the first fork.
			for {
				if n.msg >= 0 {
					b = strconv.AppendUint(b, uint64(num(n.msg)), 10)
					if len(n.kids) == 0 {
						break
					}
					b = append(b, ' ')
				}
				if len(n.kids) == 1 {
					n = n.kids[0]
					continue
				}
				if len(n.kids) > 1 {
					stack = append(stack, frame{kids: n.kids})
				}
				break
			}
			// The next child of the innermost open fork.
			for len(stack) > 0 {
				f := &stack[len(stack)-1]
				if f.next > 0 {
					b = append(b, ')')
				}
				if f.next == len(f.kids) {
					stack = stack[:len(stack)-1]
					continue
				}
				n = f.kids[f.next]
				f.next++
				b = append(b, '(')
				break
			}
			if len(stack) == 0 {
				break
			}
		}
		b = append(b, ')')
	}
	return b
}

// firstMsgID returns the first valid Message ID of a field, normalized, or
// "".
func firstMsgID(field string) string {
	if ids := parseMsgIDs(field, 1); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// parseMsgIDs returns up to limit (0: all) valid Message IDs of a
// Message-ID, In-Reply-To or References field, normalized. RFC 5256 §3
// requires normalizing, so that differently quoted forms of one msg-id
// (RFC 5322 §3.6.4) compare equal: <"a.b"@example.com> is a.b@example.com.
// Comments, folding white space and quoting go; quoted-pairs are undone;
// the rest is kept as it is, because Message ID comparisons are
// case-sensitive. Phrases around the msg-ids (old In-Reply-To fields) are
// skipped, and so is anything between "<" and ">" that lacks a local part
// and a domain joined by "@".
func parseMsgIDs(field string, limit int) []string {
	var ids []string
	s := field
	for i := 0; i < len(s); {
		switch s[i] {
		case '(':
			i = skipComment(s, i)
		case '"':
			i = skipQuoted(s, i)
		case '<':
			var id string
			id, i = msgID(s, i+1)
			if id != "" {
				ids = append(ids, id)
				if len(ids) == limit {
					return ids
				}
			}
		default:
			i++
		}
	}
	return ids
}

// msgID reads a msg-id from just after its "<" and returns it normalized
// ("" when it is not valid) and the position after it.
func msgID(s string, i int) (string, int) {
	valid := func(id string) string {
		if strings.IndexByte(id, '@') <= 0 || strings.LastIndexByte(id, '@') == len(id)-1 {
			return ""
		}
		return id
	}
	// Almost every msg-id is written plainly: no copy then. (The scan
	// stops at the next "<" too, so that a field of many "<" costs linear
	// time.)
	plain := true
	j := i
	for ; j < len(s) && s[j] != '>' && s[j] != '<'; j++ {
		switch s[j] {
		case ' ', '\t', '\r', '\n', '"', '(', ')', '\\':
			plain = false
		}
	}
	if plain && j < len(s) && s[j] == '>' {
		return valid(s[i:j]), j + 1
	}
	var b strings.Builder
	for i < len(s) {
		switch c := s[i]; c {
		case '>':
			return valid(b.String()), i + 1
		case '<':
			return "", i // a new msg-id starts: this one is broken
		case '(':
			i = skipComment(s, i)
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			i++
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
			}
			i += 2
		case ' ', '\t', '\r', '\n':
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", i
}

// skipComment returns the position after the (nested) comment at s[i].
func skipComment(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// skipQuoted returns the position after the quoted string at s[i].
func skipQuoted(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}
