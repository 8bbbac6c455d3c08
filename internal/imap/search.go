package imap

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/message"
)

// searchKind is a search key (RFC 9051 §6.4.4).
type searchKind uint8

const (
	sAll searchKind = iota
	sAnd
	sOr
	sNot
	sSeqSet
	sUIDSet
	sFlag   // has flag
	sNoFlag // lacks flag
	sKeyword
	sUnkeyword
	sNew // rev1: recent and unseen
	sOld // rev1: not recent
	sRecent
	sLarger
	sSmaller
	sBefore // internal date
	sOn
	sSince
	sSentBefore // Date header
	sSentOn
	sSentSince
	sSubject
	sFrom
	sTo
	sCc
	sBcc
	sHeader
	sBody
	sText
	sModSeq  // RFC 7162 §3.1.5: MODSEQ at least num
	sOlder   // RFC 5032: internal date before date (now minus the interval)
	sYounger // RFC 5032: internal date at or after date
	// RFC 8514 §4.3: the save date, as BEFORE, ON and SINCE the internal date.
	sSavedBefore
	sSavedOn
	sSavedSince
	sEmailID  // RFC 8474: EMAILID objectid
	sThreadID // RFC 8474: THREADID objectid (matches nothing: THREADID is NIL)
)

// searchLevel says what data a key needs, cheapest first.
type searchLevel uint8

const (
	levelSession   searchLevel = iota // seq, UID, flags: in memory
	levelMeta                         // size, internal date
	levelSummary                      // Subject/From/To/Cc/Date columns
	levelStructure                    // headers and bodies
)

type searchKey struct {
	kind searchKind
	flag Flags
	str  string // lower-cased needle
	// notUTF8: the needle as sent was not UTF-8 (lower-casing would have
	// hidden it), which the command answers with BADCHARSET.
	notUTF8 bool
	field   string // HEADER field name
	num     int64
	date    time.Time
	set     seqSet
	kids    []*searchKey
	// idx holds the resolved set of sSeqSet and sUIDSet keys.
	idx []idxRange
}

func (k *searchKey) level() searchLevel {
	switch k.kind {
	case sLarger, sSmaller, sBefore, sOn, sSince, sModSeq, sOlder, sYounger:
		return levelMeta
	case sSavedBefore, sSavedOn, sSavedSince, sEmailID:
		return levelMeta
	case sSubject:
		return levelSummary
	case sSentBefore, sSentOn, sSentSince, sFrom, sTo, sCc, sBcc, sHeader, sBody, sText:
		// The Date: field in its own zone and the address lists with
		// their groups come from the stored parse (the summary columns
		// keep neither).
		return levelStructure
	case sAnd, sOr, sNot:
		l := levelSession
		for _, kid := range k.kids {
			l = max(l, kid.level())
		}
		return l
	}
	return levelSession
}

// maxSearchDepth bounds nesting of NOT, OR and parentheses.
const maxSearchDepth = 50

// searchKeys reads search keys up to the end of the command or a ")".
func (p *parser) searchKeys(depth int) ([]*searchKey, error) {
	var keys []*searchKey
	for {
		k, err := p.searchKey(depth)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if p.atEOL() || p.peek() == ')' {
			return keys, nil
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) searchKey(depth int) (*searchKey, error) {
	if depth > maxSearchDepth {
		return nil, p.errorf("search keys nested too deeply")
	}
	if p.consume('(') {
		kids, err := p.searchKeys(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return &searchKey{kind: sAnd, kids: kids}, nil
	}
	if c := p.peek(); isDigit(c) || c == '*' || c == '$' {
		set, err := p.seqSet()
		if err != nil {
			return nil, err
		}
		return &searchKey{kind: sSeqSet, set: set}, nil
	}
	start := p.pos
	kw, err := p.keyword()
	if err != nil {
		return nil, err
	}
	k := &searchKey{}
	flagKey := func(kind searchKind, f Flags) (*searchKey, error) {
		k.kind, k.flag = kind, f
		return k, nil
	}
	str := func(kind searchKind) (*searchKey, error) {
		if err := p.sp(); err != nil {
			return nil, err
		}
		s, err := p.astring()
		if err != nil {
			return nil, err
		}
		k.kind, k.str, k.notUTF8 = kind, strings.ToLower(s), !utf8.ValidString(s)
		return k, nil
	}
	date := func(kind searchKind) (*searchKey, error) {
		if err := p.sp(); err != nil {
			return nil, err
		}
		d, err := p.date()
		if err != nil {
			return nil, err
		}
		k.kind, k.date = kind, d
		return k, nil
	}
	switch kw {
	case "ALL":
		k.kind = sAll
		return k, nil
	case "ANSWERED":
		return flagKey(sFlag, FlagAnswered)
	case "DELETED":
		return flagKey(sFlag, FlagDeleted)
	case "DRAFT":
		return flagKey(sFlag, FlagDraft)
	case "FLAGGED":
		return flagKey(sFlag, FlagFlagged)
	case "SEEN":
		return flagKey(sFlag, FlagSeen)
	case "UNANSWERED":
		return flagKey(sNoFlag, FlagAnswered)
	case "UNDELETED":
		return flagKey(sNoFlag, FlagDeleted)
	case "UNDRAFT":
		return flagKey(sNoFlag, FlagDraft)
	case "UNFLAGGED":
		return flagKey(sNoFlag, FlagFlagged)
	case "UNSEEN":
		return flagKey(sNoFlag, FlagSeen)
	case "NEW":
		k.kind = sNew
		return k, nil
	case "OLD":
		k.kind = sOld
		return k, nil
	case "RECENT":
		k.kind = sRecent
		return k, nil
	case "KEYWORD", "UNKEYWORD":
		if err := p.sp(); err != nil {
			return nil, err
		}
		f, err := p.flag()
		if err != nil {
			return nil, err
		}
		if kw == "KEYWORD" {
			k.kind = sKeyword
		} else {
			k.kind = sUnkeyword
		}
		// System flags given as keywords match the flag.
		if sys, _, err := parseFlags([]string{f}); err == nil && sys != 0 {
			if kw == "KEYWORD" {
				return flagKey(sFlag, sys)
			}
			return flagKey(sNoFlag, sys)
		}
		k.str = f
		return k, nil
	case "MODSEQ":
		// MODSEQ [entry-name entry-type-req] mod-sequence-valzer. MODSEQs
		// are kept per message, not per flag, so the entry only has to be
		// well formed (RFC 7162 §3.1.5 lets such a server ignore it).
		if err := p.sp(); err != nil {
			return nil, err
		}
		if p.peek() == '"' {
			if _, err := p.quoted(); err != nil {
				return nil, err
			}
			if err := p.sp(); err != nil {
				return nil, err
			}
			start := p.pos
			typ, err := p.keyword()
			if err != nil {
				return nil, err
			}
			if typ != "PRIV" && typ != "SHARED" && typ != "ALL" {
				p.pos = start
				return nil, p.errorf("expected priv, shared or all")
			}
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		n, err := p.modSeq()
		if err != nil {
			return nil, err
		}
		k.kind, k.num = sModSeq, int64(n)
		return k, nil
	case "LARGER", "SMALLER":
		if err := p.sp(); err != nil {
			return nil, err
		}
		n, err := p.number64()
		if err != nil {
			return nil, err
		}
		k.kind, k.num = sLarger, n
		if kw == "SMALLER" {
			k.kind = sSmaller
		}
		return k, nil
	case "BEFORE":
		return date(sBefore)
	case "ON":
		return date(sOn)
	case "SINCE":
		return date(sSince)
	case "OLDER", "YOUNGER":
		// RFC 5032 §3: an nz-number of seconds, subtracted from the
		// server's current time. The cutoff is fixed here, so every
		// message of one search is judged against the same instant.
		if err := p.sp(); err != nil {
			return nil, err
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, p.errorf("%s needs a non-zero interval", kw)
		}
		k.kind, k.date = sOlder, time.Now().Add(-time.Duration(n)*time.Second)
		if kw == "YOUNGER" {
			k.kind = sYounger
		}
		return k, nil
	case "SAVEDBEFORE":
		return date(sSavedBefore)
	case "SAVEDON":
		return date(sSavedOn)
	case "SAVEDSINCE":
		return date(sSavedSince)
	case "SAVEDATESUPPORTED":
		// RFC 8514 §4.3: every message, as every folder keeps save dates.
		k.kind = sAll
		return k, nil
	case "EMAILID", "THREADID":
		if err := p.sp(); err != nil {
			return nil, err
		}
		at := p.pos
		id := p.takeWhile(func(c byte) bool { return isAtomChar(c) && c != ')' })
		if !validObjectID(id) {
			p.pos = at
			return nil, p.errorf("expected an object id (1 to 255 of A-Z a-z 0-9 _ -)")
		}
		k.kind, k.str = sEmailID, id
		if kw == "THREADID" {
			k.kind = sThreadID
		}
		return k, nil
	case "SENTBEFORE":
		return date(sSentBefore)
	case "SENTON":
		return date(sSentOn)
	case "SENTSINCE":
		return date(sSentSince)
	case "SUBJECT":
		return str(sSubject)
	case "FROM":
		return str(sFrom)
	case "TO":
		return str(sTo)
	case "CC":
		return str(sCc)
	case "BCC":
		return str(sBcc)
	case "BODY":
		return str(sBody)
	case "TEXT":
		return str(sText)
	case "HEADER":
		if err := p.sp(); err != nil {
			return nil, err
		}
		f, err := p.astring()
		if err != nil {
			return nil, err
		}
		k.field = f
		return str(sHeader)
	case "UID":
		if err := p.sp(); err != nil {
			return nil, err
		}
		set, err := p.seqSet()
		if err != nil {
			return nil, err
		}
		k.kind, k.set = sUIDSet, set
		return k, nil
	case "NOT":
		if err := p.sp(); err != nil {
			return nil, err
		}
		kid, err := p.searchKey(depth + 1)
		if err != nil {
			return nil, err
		}
		k.kind, k.kids = sNot, []*searchKey{kid}
		return k, nil
	case "OR":
		if err := p.sp(); err != nil {
			return nil, err
		}
		a, err := p.searchKey(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.sp(); err != nil {
			return nil, err
		}
		b, err := p.searchKey(depth + 1)
		if err != nil {
			return nil, err
		}
		k.kind, k.kids = sOr, []*searchKey{a, b}
		return k, nil
	}
	p.pos = start
	return nil, p.errorf("unknown search key %s", truncate(kw, 30))
}

// searchReturn holds ESEARCH return options (RFC 4731, RFC 5182 SAVE,
// RFC 9394 PARTIAL, RFC 5267 CONTEXT and UPDATE).
type searchReturn struct {
	min, max, all, count, save bool
	given                      bool          // RETURN was given
	partial                    *partialRange // RFC 9394 PARTIAL
	update                     bool          // RFC 5267 §4.3 UPDATE
}

// searchReturnOpts reads an optional "RETURN (options) " before the search
// criteria of SEARCH and SORT (RFC 4466 search-return-opts).
func (p *parser) searchReturnOpts(ret *searchReturn) error {
	start := p.pos
	if kw, _ := p.keyword(); kw != "RETURN" {
		p.pos = start
		return nil
	}
	ret.given = true
	if err := p.sp(); err != nil {
		return err
	}
	if err := p.expect('('); err != nil {
		return err
	}
	for first := true; !p.consume(')'); first = false {
		if !first {
			if err := p.sp(); err != nil {
				return err
			}
		}
		start := p.pos
		opt, err := p.keyword()
		if err != nil {
			return err
		}
		switch opt {
		case "MIN":
			ret.min = true
		case "MAX":
			ret.max = true
		case "ALL":
			ret.all = true
		case "COUNT":
			ret.count = true
		case "SAVE":
			ret.save = true
		case "CONTEXT":
			// RFC 5267 §4.2: a hint that the search will be used again;
			// nothing is cached for it, so it changes nothing.
		case "UPDATE":
			ret.update = true
		case "PARTIAL":
			if ret.partial != nil {
				p.pos = start
				return p.errorf("PARTIAL given twice")
			}
			if err := p.sp(); err != nil {
				return err
			}
			r, err := p.partialRange()
			if err != nil {
				return err
			}
			ret.partial = r
		default:
			p.pos = start
			return p.errorf("unknown RETURN option %s", truncate(opt, 30))
		}
	}
	if ret.partial != nil && ret.all {
		// RFC 9394 §3.1: one PARTIAL, one ALL, or neither.
		return p.errorf("PARTIAL and ALL cannot be combined")
	}
	if !ret.min && !ret.max && !ret.count && !ret.save && ret.partial == nil {
		// RETURN () means ALL (RFC 4731 §3.1); so does a list of only
		// CONTEXT and UPDATE, whose results the updates then change.
		ret.all = true
	}
	return p.sp()
}

// SEARCH and UID SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731, SEARCHRES RFC
// 5182, PARTIAL RFC 9394, CONTEXT=SEARCH RFC 5267).
func cmdSearch(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	var ret searchReturn
	if err := p.searchReturnOpts(&ret); err != nil {
		return err
	}
	start := p.pos
	if kw, _ := p.keyword(); kw == "CHARSET" {
		if err := p.sp(); err != nil {
			return err
		}
		if err := p.charset(); err != nil {
			return err
		}
	} else {
		p.pos = start
	}
	root, err := c.searchCriteria(p)
	if err != nil {
		return err
	}
	if err := c.checkUpdateTag(r, &ret); err != nil {
		return err
	}
	if err := c.resolveKeys(root); err != nil {
		if ret.save {
			c.sel.saved = nil
		}
		return err
	}
	matches, err := c.search(ctx, root)
	if err != nil {
		if ret.save {
			c.sel.saved = nil
		}
		return err
	}
	var modSeq uint64
	if hasKind(root, sModSeq) {
		c.enableCondstore()
		if modSeq, err = c.highestModSeq(ctx, &ret, matches); err != nil {
			return err
		}
	}
	c.startContext(r, &ret, root, nil, matches)
	c.writeSearchResult(r, &ret, matches, modSeq)
	return nil
}

// hasKind reports whether a key of kind occurs in k.
func hasKind(k *searchKey, kind searchKind) bool {
	if k.kind == kind {
		return true
	}
	return slices.ContainsFunc(k.kids, func(kid *searchKey) bool { return hasKind(kid, kind) })
}

// highestModSeq is the highest MODSEQ of the messages a SEARCH or SORT
// with a MODSEQ key returns (RFC 7162 §3.1.5): all matches, or those named
// by MIN, MAX and PARTIAL when only they are asked for. idx is the result in
// its order (mailbox order, or the requested order of a SORT).
func (c *conn) highestModSeq(ctx context.Context, ret *searchReturn, idx []int) (uint64, error) {
	if len(idx) == 0 {
		return 0, nil
	}
	s := c.sel
	var uids []uint32
	if ret.given && (ret.min || ret.max || ret.partial != nil) && !ret.all && !ret.count {
		if ret.min {
			uids = append(uids, s.uids[idx[0]])
		}
		if ret.max {
			uids = append(uids, s.uids[idx[len(idx)-1]])
		}
		if ret.partial != nil {
			for _, i := range ret.partial.window(idx) {
				uids = append(uids, s.uids[i])
			}
		}
	} else {
		for _, i := range idx {
			uids = append(uids, s.uids[i])
		}
	}
	if len(uids) == 0 {
		return 0, nil
	}
	var highest uint64
	err := s.folder.Messages(ctx, uidRanges(sortedUnique(uids)), 0, func(md *MessageData) error {
		highest = max(highest, md.ModSeq)
		return nil
	})
	return highest, err
}

// charset reads a search charset and the space after it; only UTF-8 and
// US-ASCII are known (RFC 9051 §6.4.4).
func (p *parser) charset() error {
	cs, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	switch strings.ToUpper(cs) {
	case "UTF-8", "US-ASCII":
		return nil
	}
	p.pos = len(p.line)
	return no("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
}

// searchCriteria reads the search keys to the end of the command, as one
// conjunction.
func (c *conn) searchCriteria(p *parser) (*searchKey, error) {
	keys, err := p.searchKeys(0)
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	all := &searchKey{kind: sAnd, kids: keys}
	if all.hasNotUTF8() {
		return nil, no("BADCHARSET (UTF-8 US-ASCII)", "Search string is not UTF-8")
	}
	return all, nil
}

// hasNotUTF8 reports a needle that was not UTF-8 anywhere in k, OR and NOT
// included.
func (k *searchKey) hasNotUTF8() bool {
	if k.notUTF8 {
		return true
	}
	for _, kid := range k.kids {
		if kid.hasNotUTF8() {
			return true
		}
	}
	return false
}

// resolveKeys resolves the sequence sets in the keys once. A sequence
// number past the end is not an error in a search key: it selects no
// message, as UIDs past the end do (RFC 9051 §6.4.4 defines the key as the
// messages whose numbers are in the set; Dovecot answers OK with the part
// that exists), so "SEARCH RETURN (MIN) 1000" in a 6-message mailbox is an
// empty result, not BAD.
func (c *conn) resolveKeys(k *searchKey) error {
	switch k.kind {
	case sSeqSet:
		if k.set.saved {
			rs, err := c.resolve(k.set, true)
			if err != nil {
				return err
			}
			k.idx = rs
			break
		}
		k.idx = c.sel.clipSeqSet(k.set)
	case sUIDSet:
		rs, err := c.resolve(k.set, true)
		if err != nil {
			return err
		}
		k.idx = rs
	}
	for _, kid := range k.kids {
		if err := c.resolveKeys(kid); err != nil {
			return err
		}
	}
	return nil
}

// search returns the indexes of the matching messages, ascending.
func (c *conn) search(ctx context.Context, root *searchKey) ([]int, error) {
	s := c.sel
	var out []int
	level := root.level()
	if level == levelSession {
		for i := range s.uids {
			if c.match(ctx, root, i, nil, nil) {
				out = append(out, i)
			}
		}
		return out, nil
	}
	// Narrow by what the session knows before asking the store.
	cand := make([]int, 0, len(s.uids))
	for i := range s.uids {
		if c.maybe(root, i) {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return nil, nil
	}
	cand, rest, err := c.summaryPrefilter(ctx, root, cand)
	if err != nil || len(cand) == 0 {
		return nil, err
	}
	if rest != root && rest.level() == levelSession {
		// The backend answered every key that needs metadata.
		var out []int
		for _, i := range cand {
			if c.match(ctx, rest, i, nil, nil) {
				out = append(out, i)
			}
		}
		return out, nil
	}
	return c.searchCandidates(ctx, rest, rest.level(), cand)
}

// summaryPrefilter narrows the candidates by the SUBJECT, FROM, TO and CC
// keys of the top-level conjunction, asking the backend (SummarySearcher)
// when it can search its summary columns itself. It returns the remaining
// candidates and the keys still to evaluate (root when the backend could not
// help).
func (c *conn) summaryPrefilter(ctx context.Context, root *searchKey, cand []int) ([]int, *searchKey, error) {
	ss, ok := c.sel.folder.(SummarySearcher)
	if !ok {
		return cand, root, nil
	}
	s := c.sel
	var rest []*searchKey
	for _, k := range root.kids {
		var field string
		switch k.kind {
		case sSubject:
			field = "subject"
		}
		if field == "" || k.str == "" || !isASCII(k.str) || len(cand) == 0 {
			rest = append(rest, k)
			continue
		}
		var rs []idxRange
		for _, i := range cand {
			if n := len(rs); n > 0 && rs[n-1].hi == i {
				rs[n-1].hi++
			} else {
				rs = append(rs, idxRange{i, i + 1})
			}
		}
		uids, err := ss.SearchSummary(ctx, s.backendRanges(rs), field, k.str)
		if errors.Is(err, ErrUnsupported) {
			return cand, root, nil
		}
		if err != nil {
			return nil, nil, err
		}
		// Both are in UID order: one walk keeps the candidates the
		// backend found (a 1,000,000-message folder's SEARCH keeps a few).
		out := cand[:0]
		j := 0
		for _, i := range cand {
			u := s.uids[i]
			for j < len(uids) && uids[j] < u {
				j++
			}
			if j == len(uids) {
				break
			}
			if uids[j] == u {
				out = append(out, i)
			}
		}
		cand = out
	}
	if len(rest) == 0 {
		rest = []*searchKey{{kind: sAll}}
	}
	return cand, &searchKey{kind: sAnd, kids: rest}, nil
}

// searchCandidates evaluates root for the candidate messages, reading what
// the keys need from the backend.
func (c *conn) searchCandidates(ctx context.Context, root *searchKey, level searchLevel, cand []int) ([]int, error) {
	s := c.sel
	var out []int
	var want Want
	if level >= levelSummary {
		want |= WantSummary
	}
	if level >= levelStructure {
		want |= WantStructure
	}
	if hasKind(root, sEmailID) {
		want |= WantObjectID
	}
	var rs []idxRange
	for _, i := range cand {
		if n := len(rs); n > 0 && rs[n-1].hi == i {
			rs[n-1].hi++
		} else {
			rs = append(rs, idxRange{i, i + 1})
		}
	}
	if level < levelStructure {
		// Summary and metadata only: evaluate while the store iterates
		// (no network and no other store call happens meanwhile).
		err := s.folder.Messages(ctx, s.backendRanges(rs), want, func(md *MessageData) error {
			seq := s.seqOf(md.UID)
			if seq != 0 && c.match(ctx, root, int(seq-1), md, nil) {
				out = append(out, int(seq-1))
			}
			return ctx.Err()
		})
		slices.Sort(out)
		return out, err
	}
	// Headers and bodies are read between store calls, batch by batch.
	for _, chunk := range splitRanges(rs, fetchBatch) {
		// Not from the backend's memory: a criterion may need MODSEQ.
		batch, err := fetchMeta(ctx, s, nil, chunk, want, nil)
		if err != nil {
			return nil, err
		}
		for j := range batch {
			md := &batch[j]
			seq := s.seqOf(md.UID)
			if seq == 0 {
				continue
			}
			sc := &searchCache{}
			if c.match(ctx, root, int(seq-1), md, sc) {
				out = append(out, int(seq-1))
			}
			if sc.err != nil {
				return nil, sc.err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// maybe reports whether message i may match, judging only by session data
// (keys needing more are assumed to match).
func (c *conn) maybe(k *searchKey, i int) bool {
	switch k.kind {
	case sAnd:
		for _, kid := range k.kids {
			if !c.maybe(kid, i) {
				return false
			}
		}
		return true
	case sOr, sNot:
		if k.level() > levelSession {
			return true
		}
	}
	if k.level() > levelSession {
		return true
	}
	return c.match(context.Background(), k, i, nil, nil)
}

// searchCache holds what one message's evaluation read, so that several
// keys share it.
type searchCache struct {
	msg    *message.Message
	header []byte
	text   *string
	err    error
}

// match evaluates k for the message at index i. md is nil for session-only
// keys; sc is nil unless structure-level keys are evaluated.
func (c *conn) match(ctx context.Context, k *searchKey, i int, md *MessageData, sc *searchCache) bool {
	s := c.sel
	switch k.kind {
	case sAll:
		return true
	case sAnd:
		for _, kid := range k.kids {
			if !c.match(ctx, kid, i, md, sc) {
				return false
			}
		}
		return true
	case sOr:
		return c.match(ctx, k.kids[0], i, md, sc) || c.match(ctx, k.kids[1], i, md, sc)
	case sNot:
		return !c.match(ctx, k.kids[0], i, md, sc)
	case sSeqSet, sUIDSet:
		for _, r := range k.idx {
			if i >= r.lo && i < r.hi {
				return true
			}
		}
		return false
	case sFlag:
		return s.flags[i]&k.flag != 0
	case sNoFlag:
		return s.flags[i]&k.flag == 0
	case sKeyword, sUnkeyword:
		has := slices.ContainsFunc(s.keywords[s.uids[i]], func(x string) bool { return strings.EqualFold(x, k.str) })
		return has == (k.kind == sKeyword)
	case sNew:
		return s.flags[i]&flagRecent != 0 && s.flags[i]&FlagSeen == 0
	case sOld:
		return s.flags[i]&flagRecent == 0
	case sRecent:
		return s.flags[i]&flagRecent != 0
	}
	if md == nil {
		return false
	}
	switch k.kind {
	case sModSeq:
		return md.ModSeq >= uint64(k.num)
	case sLarger:
		return md.Size > k.num
	case sSmaller:
		return md.Size < k.num
	case sBefore, sOn, sSince:
		// The internal date is kept as an instant and shown in UTC
		// (FETCH INTERNALDATE), so its date is taken in UTC: the day the
		// client sees.
		return compareDate(k.kind-sBefore, md.InternalDate.UTC(), k.date)
	case sOlder:
		// RFC 5032 §2: OLDER is older than the interval, YOUNGER within
		// it; the two are complements.
		return md.InternalDate.Before(k.date)
	case sYounger:
		return !md.InternalDate.Before(k.date)
	case sSavedBefore, sSavedOn, sSavedSince:
		// As BEFORE, ON and SINCE: the day in UTC, as FETCH SAVEDATE
		// shows it. A message without a save date matches none.
		return !md.SaveDate.IsZero() && compareDate(k.kind-sSavedBefore, md.SaveDate.UTC(), k.date)
	case sEmailID:
		// Object ids are case-sensitive (RFC 8474).
		return md.EmailID == k.str
	case sSubject:
		return containsFold(md.Subject, k.str)
	}
	if sc == nil {
		return false
	}
	switch k.kind {
	case sSentBefore, sSentOn, sSentSince:
		m := c.searchMessage(ctx, md, sc)
		return m != nil && compareDate(k.kind-sSentBefore, sentDate(m), k.date)
	case sFrom, sTo, sCc, sBcc:
		m := c.searchMessage(ctx, md, sc)
		if m == nil {
			return false
		}
		list := map[searchKind][]message.Address{sFrom: m.Envelope.From, sTo: m.Envelope.To,
			sCc: m.Envelope.Cc, sBcc: m.Envelope.Bcc}[k.kind]
		return containsFold(addressText(list), k.str)
	case sHeader:
		return headerMatch(c.searchHeader(ctx, md, sc), k.field, k.str)
	case sBody:
		return containsFold(c.searchText(ctx, md, sc), k.str)
	case sText:
		h := c.searchHeader(ctx, md, sc)
		return containsFold(message.DecodeText(string(h)), k.str) || containsFold(c.searchText(ctx, md, sc), k.str)
	}
	return false
}

// sentDate is the date a SENTBEFORE, SENTON or SENTSINCE key compares: the
// Date: field as written, in its own zone (RFC 3501 §6.4.4 and RFC 9051
// §6.4.4: "disregarding time and timezone", so "Mon, 1 Jan 2024 23:30
// -0500" was sent ON 1-Jan-2024, although it is 2 January in UTC). A
// message without a Date: field, or with one that cannot be parsed, counts
// as sent on 1-Jan-1970, as Dovecot counts it: SENTBEFORE any later date
// finds it, SENTSINCE never does.
func sentDate(m *message.Message) time.Time {
	t := message.ParseDate(m.Envelope.Date)
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// addressText renders an address list as FROM, TO, CC and BCC search it:
// every part of every address, decoded: "Name <mailbox@host>" (or
// "mailbox@host" without a name, "<@route:mailbox@host>" with a source
// route), and group syntax kept as "group: a@b, c@d;", so that the display
// name, the mailbox, the host and a group's name all match (RFC 9051
// §6.4.4: the key matches the field's text; the form is Dovecot's).
func addressText(list []message.Address) string {
	var b strings.Builder
	sep := ""
	for _, a := range list {
		switch a.Kind {
		case message.AddrGroupStart:
			b.WriteString(sep)
			b.WriteString(message.DecodeText(a.Mailbox))
			b.WriteString(": ")
			sep = ""
			continue
		case message.AddrGroupEnd:
			if strings.HasSuffix(b.String(), ": ") {
				// An empty group: "undisclosed-recipients:;".
				t := strings.TrimSuffix(b.String(), " ")
				b.Reset()
				b.WriteString(t)
			}
			b.WriteString(";")
			sep = ", "
			continue
		}
		b.WriteString(sep)
		sep = ", "
		name := message.DecodeText(a.Name)
		if name == "" && a.Adl == "" {
			b.WriteString(a.Mailbox + "@" + a.Host)
			continue
		}
		if name != "" {
			b.WriteString(name)
			b.WriteByte(' ')
		}
		b.WriteByte('<')
		if a.Adl != "" {
			b.WriteString(a.Adl + ":")
		}
		b.WriteString(a.Mailbox + "@" + a.Host + ">")
	}
	return b.String()
}

// compareDate applies BEFORE (0), ON (1) or SINCE (2) to the date of t in
// its own zone, disregarding time (RFC 9051 §6.4.4).
func compareDate(op searchKind, t, d time.Time) bool {
	y, m, dd := t.Date()
	day := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	switch op {
	case 0:
		return day.Before(d)
	case 1:
		return day.Equal(d)
	}
	return !day.Before(d)
}

func (c *conn) searchMessage(ctx context.Context, md *MessageData, sc *searchCache) *message.Message {
	if sc.msg == nil && sc.err == nil {
		sc.msg, sc.err = c.structure(ctx, md)
	}
	return sc.msg
}

func (c *conn) searchHeader(ctx context.Context, md *MessageData, sc *searchCache) []byte {
	if sc.header == nil {
		m := c.searchMessage(ctx, md, sc)
		if m == nil {
			return nil
		}
		n := min(m.Root.BodyStart, maxHeaderRead, md.Size)
		sc.header = make([]byte, n)
		if err := c.readBody(ctx, md, 0, sc.header); err != nil {
			sc.err = err
		}
	}
	return sc.header
}

// maxSearchPart bounds how much of one text part a BODY search reads.
const maxSearchPart = 8 << 20

// searchText returns the decoded text of the message's text parts.
func (c *conn) searchText(ctx context.Context, md *MessageData, sc *searchCache) string {
	if sc.text != nil {
		return *sc.text
	}
	m := c.searchMessage(ctx, md, sc)
	var b strings.Builder
	if m != nil {
		var walk func(p *message.Part)
		walk = func(p *message.Part) {
			switch {
			case p.IsMultipart():
				for i := range p.Parts {
					walk(&p.Parts[i])
				}
			case p.IsMessage():
				// The encapsulated header is text of the outer body.
				n := min(p.Inner.BodyStart-p.Inner.HeaderStart, maxHeaderRead)
				if n > 0 && p.Inner.HeaderStart+n <= md.Size {
					hdr := make([]byte, n)
					if err := c.readBody(ctx, md, p.Inner.HeaderStart, hdr); err != nil {
						sc.err = err
						return
					}
					b.WriteString(message.DecodeText(string(hdr)))
					b.WriteByte('\n')
				}
				walk(p.Inner)
			case p.Type == "text":
				n := min(p.End-p.BodyStart, maxSearchPart)
				if n <= 0 || p.BodyStart+n > md.Size {
					return
				}
				body := make([]byte, n)
				if err := c.readBody(ctx, md, p.BodyStart, body); err != nil {
					sc.err = err
					return
				}
				b.WriteString(p.Text(body))
				b.WriteByte('\n')
			}
		}
		walk(&m.Root)
	}
	t := b.String()
	sc.text = &t
	return t
}

// headerMatch reports whether a field called name contains needle (an
// empty needle matches any message with the field, RFC 9051 §6.4.4).
func headerMatch(hdr []byte, name, needle string) bool {
	if len(hdr) == 0 {
		return false
	}
	for _, line := range strings.Split(string(message.FilterHeader(hdr, []string{name}, false)), "\r\n") {
		if line == "" {
			continue
		}
		if needle == "" {
			return true
		}
		v := line
		if i := strings.IndexByte(line, ':'); i >= 0 && (line[0] != ' ' && line[0] != '\t') {
			v = line[i+1:]
		}
		if containsFold(message.DecodeText(strings.TrimSpace(v)), needle) {
			return true
		}
	}
	return false
}

// containsFold reports whether hay contains needle (already lower case),
// ignoring case.
func containsFold(hay, needle string) bool {
	if needle == "" {
		return true
	}
	if isASCII(hay) && isASCII(needle) {
		n := len(needle)
		for i := 0; i+n <= len(hay); i++ {
			j := 0
			for ; j < n; j++ {
				c := hay[i+j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c != needle[j] {
					break
				}
			}
			if j == n {
				return true
			}
		}
		return false
	}
	return strings.Contains(strings.ToLower(hay), needle)
}

// writeSearchResult writes SEARCH or ESEARCH and saves the result for "$".
// idx is the result in mailbox order, or in the requested order when sorted
// (ESORT, RFC 5267 §3.1: MIN and MAX are the first and last in that order,
// ALL and PARTIAL list it in that order).
func (c *conn) writeSearchResult(r *request, ret *searchReturn, idx []int, modSeq uint64) {
	s := c.sel
	w := &c.w
	num := func(i int) uint32 {
		if r.uid {
			return s.uids[i]
		}
		return uint32(i + 1)
	}
	nums := func(idx []int) string {
		ns := make([]uint32, len(idx))
		for j, i := range idx {
			ns[j] = num(i)
		}
		// formatSet keeps the order and joins only ascending runs, as
		// sorted results need (RFC 5267 §3.2).
		return formatSet(ns)
	}
	var window []int
	if ret.partial != nil {
		window = ret.partial.window(idx)
	}
	if ret.save {
		// RFC 5182 §2.1 and RFC 9394 §3.2: with MIN, MAX or PARTIAL (and
		// neither COUNT nor ALL) only what they return is saved.
		var keep []int
		switch {
		case len(idx) == 0:
		case (ret.min || ret.max || ret.partial != nil) && !ret.all && !ret.count:
			keep = append(keep, window...)
			if ret.min {
				keep = append(keep, idx[0])
			}
			if ret.max {
				keep = append(keep, idx[len(idx)-1])
			}
		default:
			keep = idx
		}
		s.saved = make([]uint32, 0, len(keep))
		for _, i := range keep {
			s.saved = append(s.saved, s.uids[i])
		}
		s.saved = sortedUnique(s.saved)
	}
	if !ret.given && !c.rev2 {
		w.raw("* SEARCH")
		for _, i := range idx {
			w.sp()
			w.num(num(i))
		}
		if modSeq > 0 {
			w.raw(" (MODSEQ ")
			w.raw(strconv.FormatUint(modSeq, 10))
			w.byte(')')
		}
		w.crlf()
		return
	}
	if ret.given && ret.save && !ret.min && !ret.max && !ret.all && !ret.count && ret.partial == nil {
		return // SAVE alone: no ESEARCH (RFC 5182 §2.1)
	}
	if !ret.given {
		ret.all = true
	}
	w.raw(`* ESEARCH (TAG `)
	w.str(r.tag)
	w.byte(')')
	if r.uid {
		w.raw(" UID")
	}
	if len(idx) > 0 {
		if ret.min {
			w.raw(" MIN ")
			w.num(num(idx[0]))
		}
		if ret.max {
			w.raw(" MAX ")
			w.num(num(idx[len(idx)-1]))
		}
	}
	if ret.count {
		w.raw(" COUNT ")
		w.num(uint32(len(idx)))
	}
	if ret.all && len(idx) > 0 {
		w.raw(" ALL ")
		w.raw(nums(idx))
	}
	if ret.partial != nil {
		// RFC 9394 §3.1: the range as given, and NIL when no result is in it.
		w.raw(" PARTIAL (")
		w.raw(ret.partial.String())
		w.sp()
		if len(window) == 0 {
			w.raw("NIL")
		} else {
			w.raw(nums(window))
		}
		w.byte(')')
	}
	if modSeq > 0 {
		w.raw(" MODSEQ ")
		w.raw(strconv.FormatUint(modSeq, 10))
	}
	w.crlf()
}
