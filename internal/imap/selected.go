package imap

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// selected is the session's view of the selected folder (RFC 9051 §5.5,
// §7.5.1): the sequence number to UID map and the flags last reported. It
// changes only when the session reports changes to the client.
type selected struct {
	name     string
	folder   Folder
	readOnly bool

	uidValidity uint32
	uidNext     uint32
	modSeq      uint64 // changes up to this MODSEQ are reflected

	// Per message, indexed by sequence number - 1: 5 bytes a message.
	// No per-message MODSEQ is kept: a change is reported when the flags
	// differ from what the session last reported.
	uids  []uint32
	flags []Flags
	// keywords of messages that have any, by UID.
	keywords map[uint32][]string
	// knownKeywords are the keywords announced in FLAGS.
	knownKeywords []string

	// pendingExpunge are UIDs expunged elsewhere and not yet reported
	// (ascending); they keep their sequence numbers until reported.
	pendingExpunge []uint32
	// saved is the SEARCHRES result (RFC 5182), as UIDs.
	saved []uint32
	// ctx holds the updating searches (RFC 5267 §4, context.go), nil
	// while there are none.
	ctx *contexts
	// claims are the ranges of UIDs this session's APPENDs claimed as
	// \Recent (RecentAppender), to mark once the messages are reported.
	claims []recentRange
	// polled is what the session's last APPEND or EXPUNGE read of the
	// folder's changes with its write (readWith), for the update after it.
	polled *polledChanges
}

// recentRange is a claim of \Recent: the UIDs in [first, next).
type recentRange struct{ first, next uint32 }

// polledChanges are the folder's changes since MODSEQ since.
type polledChanges struct {
	since uint64
	FolderChanges
}

// seqOf returns the sequence number of uid, or 0.
func (s *selected) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(s.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

func (s *selected) exists() uint32 { return uint32(len(s.uids)) }

func (s *selected) maxUID() uint32 {
	if len(s.uids) == 0 {
		return 0
	}
	return s.uids[len(s.uids)-1]
}

// setFlags records a message's state at index i.
func (s *selected) setFlags(i int, m *MessageFlags) {
	s.contextChanged(m.UID)
	s.flags[i] = s.flags[i]&flagRecent | m.Flags&^flagRecent
	if len(m.Keywords) > 0 {
		s.setKeywords(m.UID, m.Keywords)
	} else {
		delete(s.keywords, m.UID)
	}
}

// setKeywords records a message's keywords (the map is made on first use:
// most folders have none).
func (s *selected) setKeywords(uid uint32, kws []string) {
	if s.keywords == nil {
		s.keywords = map[uint32][]string{}
	}
	s.keywords[uid] = kws
}

// addKeywords adds keywords not yet announced; it reports whether any were new.
func (s *selected) addKeywords(kws []string) bool {
	added := false
	for _, k := range kws {
		if !slices.ContainsFunc(s.knownKeywords, func(x string) bool { return strings.EqualFold(x, k) }) {
			s.knownKeywords = append(s.knownKeywords, k)
			added = true
		}
	}
	if added {
		sort.Strings(s.knownKeywords)
	}
	return added
}

// remove drops the message at index i.
func (s *selected) remove(i int) {
	delete(s.keywords, s.uids[i])
	s.uids = slices.Delete(s.uids, i, i+1)
	s.flags = slices.Delete(s.flags, i, i+1)
}

var systemFlags = []struct {
	f    Flags
	name string
}{
	{FlagAnswered, `\Answered`},
	{FlagFlagged, `\Flagged`},
	{FlagDeleted, `\Deleted`},
	{FlagSeen, `\Seen`},
	{FlagDraft, `\Draft`},
}

// writeFlagList writes "(\Seen kw ...)" for a message.
func (c *conn) writeFlagList(f Flags, kws []string) {
	w := &c.w
	w.byte('(')
	first := true
	for _, sf := range systemFlags {
		if f&sf.f != 0 {
			if !first {
				w.sp()
			}
			w.raw(sf.name)
			first = false
		}
	}
	if f&flagRecent != 0 && !c.rev2 {
		if !first {
			w.sp()
		}
		w.raw(`\Recent`)
		first = false
	}
	for _, k := range kws {
		if !first {
			w.sp()
		}
		w.raw(k)
		first = false
	}
	w.byte(')')
}

// writeFlagsResponses writes FLAGS and PERMANENTFLAGS (RFC 9051 §7.3.5, §7.1).
func (c *conn) writeFlagsResponses() {
	s := c.sel
	w := &c.w
	w.raw(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
	for _, k := range s.knownKeywords {
		w.sp()
		w.raw(k)
	}
	w.raw(")\r\n")
	if s.readOnly {
		w.raw("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n")
		return
	}
	w.raw(`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
	for _, k := range s.knownKeywords {
		w.sp()
		w.raw(k)
	}
	w.raw(` \*)] Flags permitted` + "\r\n")
}

// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3).
func cmdSelect(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	name, err := p.mailbox()
	if err != nil {
		return err
	}
	var qr *qresyncParams
	if p.consume(' ') {
		// select-params (RFC 4466): CONDSTORE (RFC 7162 §3.1.8) and
		// QRESYNC (§3.2.5).
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
			param, err := p.keyword()
			if err != nil {
				return err
			}
			switch param {
			case "CONDSTORE":
				c.condstore = true
			case "QRESYNC":
				if !c.qresync {
					p.pos = start
					return p.errorf("QRESYNC must be enabled first (ENABLE QRESYNC)")
				}
				if err := p.sp(); err != nil {
					return err
				}
				if qr, err = p.qresyncParams(); err != nil {
					return err
				}
			default:
				p.pos = start
				return p.errorf("unsupported SELECT parameter %s", truncate(param, 30))
			}
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if c.sel != nil {
		c.closeSelected()
		if c.rev2 || c.qresync {
			// RFC 9051 §6.3.2, RFC 7162 §3.2.11: the previous mailbox is
			// closed first.
			c.w.raw("* OK [CLOSED] Previous mailbox closed\r\n")
		}
	}
	readOnly := r.name == "EXAMINE"
	c.changed.Store(false)
	f, err := c.user.Open(ctx, name, c.folderChanged)
	if err != nil {
		return err
	}
	st, s, firstUnseen, err := loadIndex(ctx, f)
	if err != nil {
		f.Close()
		return err
	}
	s.name, s.folder, s.readOnly = name, f, readOnly
	var recent uint32
	if !c.rev2 {
		// IMAP4rev1 \Recent (RFC 3501 §2.3.2): SELECT claims what no
		// session has seen; EXAMINE shows the same messages as recent but
		// claims nothing, so the next SELECT still gets them (§6.3.2).
		var first, next uint32
		var err error
		if readOnly {
			first, err = f.PeekRecent(ctx)
			next = noUID
		} else {
			first, next, err = f.ClaimRecent(ctx)
		}
		if err != nil {
			f.Close()
			return err
		}
		recent = s.markRecent(first, next)
	}
	c.sel = s
	c.state = stateSelected

	w := &c.w
	c.writeFlagsResponses()
	w.raw("* ")
	w.num(s.exists())
	w.raw(" EXISTS\r\n")
	if !c.rev2 {
		w.raw("* ")
		w.num(recent)
		w.raw(" RECENT\r\n")
		if firstUnseen > 0 {
			w.raw("* OK [UNSEEN ")
			w.num(firstUnseen)
			w.raw("] First unseen\r\n")
		}
	}
	w.raw("* OK [UIDVALIDITY ")
	w.num(s.uidValidity)
	w.raw("] UIDs valid\r\n")
	w.raw("* OK [UIDNEXT ")
	w.num(s.uidNext)
	w.raw("] Predicted next UID\r\n")
	// RFC 7162 §3.1.2.1: every SELECT/EXAMINE of a server with persistent
	// MODSEQs says the highest.
	w.raw("* OK [HIGHESTMODSEQ ")
	w.raw(strconv.FormatUint(s.modSeq, 10))
	w.raw("] Highest\r\n")
	if st.MailboxID != "" {
		// RFC 8474
		w.raw("* OK [MAILBOXID (")
		w.raw(st.MailboxID)
		w.raw(")] Ok\r\n")
	}
	if c.rev2 {
		// RFC 9051 §6.3.2: a LIST response with the mailbox name.
		w.raw(`* LIST () "/" `)
		c.writeMailbox(name)
		w.crlf()
	}
	if qr != nil && qr.uidValidity == s.uidValidity {
		if err := c.resynchronize(ctx, qr); err != nil {
			return err
		}
	}
	if readOnly {
		return &okResult{code: "READ-ONLY", text: r.name + " completed"}
	}
	return &okResult{code: "READ-WRITE", text: r.name + " completed"}
}

// loadIndex reads the folder's index into a new selected (without name,
// folder and mode) and returns the sequence number of the first unseen
// message, or 0.
func loadIndex(ctx context.Context, f Folder) (FolderStatus, *selected, uint32, error) {
	var (
		st       FolderStatus
		uids     []uint32
		flags    []Flags
		keywords map[uint32][]string
	)
	if si, ok := f.(SnapshotIndexer); ok {
		var snap *IndexSnapshot
		var err error
		if st, snap, err = si.IndexSnapshot(ctx); err != nil {
			return st, nil, 0, err
		}
		uids, flags, keywords = slices.Clone(snap.UIDs), slices.Clone(snap.Flags), snap.Keywords
	} else {
		var index []MessageFlags
		var err error
		if st, index, err = f.Index(ctx); err != nil {
			return st, nil, 0, err
		}
		uids, flags = make([]uint32, len(index)), make([]Flags, len(index))
		for i := range index {
			m := &index[i]
			uids[i], flags[i] = m.UID, m.Flags&^flagRecent
			if len(m.Keywords) > 0 {
				if keywords == nil {
					keywords = map[uint32][]string{}
				}
				keywords[m.UID] = m.Keywords
			}
		}
	}
	s := &selected{uidValidity: st.UIDValidity, uidNext: st.UIDNext, modSeq: st.HighestModSeq, uids: uids, flags: flags}
	for uid, kws := range keywords {
		s.setKeywords(uid, kws)
		s.addKeywords(kws)
	}
	var firstUnseen uint32
	if i := slices.IndexFunc(s.flags, func(f Flags) bool { return f&FlagSeen == 0 }); i >= 0 {
		firstUnseen = uint32(i + 1)
	}
	return st, s, firstUnseen, nil
}

// noUID is above every UID: markRecent(first, noUID) marks all from first.
const noUID = ^uint32(0)

// markRecent flags messages with first <= UID < next as recent and returns
// how many are recent in the session.
func (s *selected) markRecent(first, next uint32) uint32 {
	var n uint32
	for i, u := range s.uids {
		if u >= first && u < next {
			s.flags[i] |= flagRecent
		}
		if s.flags[i]&flagRecent != 0 {
			n++
		}
	}
	return n
}

// closeSelected leaves the selected state without expunging.
func (c *conn) closeSelected() {
	if c.sel != nil {
		c.sel.folder.Close()
		c.sel = nil
	}
	c.changed.Store(false)
	c.state = stateAuth
}

// CLOSE and UNSELECT (RFC 9051 §6.4.2, RFC 3691). CLOSE expunges silently
// unless the mailbox is read-only.
func cmdClose(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	if r.name == "CLOSE" && !c.sel.readOnly {
		if _, err := c.sel.folder.Expunge(ctx, nil); err != nil {
			return err
		}
	}
	c.closeSelected()
	return nil
}

// readWith runs a write of the session's to the selected folder that may
// read the folder's changes since the session's MODSEQ with it (write
// returns them, or nil), and keeps them for the update after the command
// (sendUpdates), which then asks nothing. The change signal is taken
// before the write: a change that the read may miss, committed after it
// began, signals again; and should the write read nothing, the signal is
// put back.
func (c *conn) readWith(write func(since uint64) (*FolderChanges, error)) error {
	s := c.sel
	signalled := c.changed.Swap(false)
	ch, err := write(s.modSeq)
	if err == nil && ch != nil {
		s.polled = &polledChanges{since: s.modSeq, FolderChanges: *ch}
	} else if signalled {
		c.changed.Store(true)
	}
	return err
}

// sendUpdates asks the backend what changed in the selected folder since the
// session last looked and reports it: EXPUNGE (when allowExpunge), EXISTS
// and RECENT, FLAGS for new keywords, FETCH FLAGS for changed messages (RFC
// 9051 §7.5.1). Unless force, it asks only after a change signal.
func (c *conn) sendUpdates(ctx context.Context, allowExpunge, force bool) error {
	s := c.sel
	if s == nil {
		return nil
	}
	// What the command's write read with it (readWith), if it is still
	// the answer to the question this update asks.
	polled := s.polled
	s.polled = nil
	if polled != nil && polled.since != s.modSeq {
		polled = nil
		c.changed.Store(true)
	}
	if polled == nil && !c.changed.Swap(false) && !force && (len(s.pendingExpunge) == 0 || !allowExpunge) {
		return c.updateContexts(ctx)
	}
	var st FolderStatus
	var changed []MessageFlags
	var expunged []uint32
	if polled != nil {
		st, changed, expunged = polled.Status, polled.Changed, polled.Expunged
	} else {
		var err error
		st, changed, expunged, err = s.folder.Changes(ctx, s.modSeq)
		if err != nil {
			c.changed.Store(true) // try again later
			return err
		}
	}
	w := &c.w
	for _, u := range expunged {
		if s.seqOf(u) != 0 {
			s.pendingExpunge = append(s.pendingExpunge, u)
		}
	}
	s.pendingExpunge = sortedUnique(s.pendingExpunge)
	if allowExpunge && len(s.pendingExpunge) > 0 {
		c.reportExpunged(slices.Clone(s.pendingExpunge))
		s.pendingExpunge = s.pendingExpunge[:0]
	}
	var newKeywords bool
	added := 0
	var flagChanged []MessageFlags // UID and MODSEQ of each
	for i := range changed {
		m := &changed[i]
		if len(m.Keywords) > 0 && s.addKeywords(m.Keywords) {
			newKeywords = true
		}
		if m.UID > s.maxUID() {
			if slices.Contains(expunged, m.UID) {
				continue
			}
			s.uids = append(s.uids, m.UID)
			s.flags = append(s.flags, m.Flags&^flagRecent)
			s.contextChanged(m.UID)
			if len(m.Keywords) > 0 {
				s.setKeywords(m.UID, m.Keywords)
			}
			added++
			continue
		}
		seq := s.seqOf(m.UID)
		if seq == 0 {
			continue
		}
		old, oldKw := s.flags[seq-1], s.keywords[m.UID]
		s.setFlags(int(seq-1), m)
		if s.flags[seq-1] != old || !slices.Equal(oldKw, m.Keywords) {
			flagChanged = append(flagChanged, MessageFlags{UID: m.UID, ModSeq: m.ModSeq})
		}
	}
	if st.HighestModSeq > s.modSeq {
		s.modSeq = st.HighestModSeq
	}
	if st.UIDNext > s.uidNext {
		s.uidNext = st.UIDNext
	}
	if newKeywords {
		c.writeFlagsResponses()
	}
	if added > 0 {
		var recent uint32
		if !c.rev2 {
			// New messages: claimed by a SELECTed session, shown
			// unclaimed to an EXAMINEd one (RFC 3501 §2.3.2, §6.3.2).
			var first, next uint32
			var err error
			if s.readOnly {
				first, err = s.folder.PeekRecent(ctx)
				next = noUID
			} else {
				// What this session's APPENDs claimed; a claim of its
				// own only for messages beyond the last of them.
				for _, r := range s.claims {
					s.markRecent(r.first, r.next)
				}
				if n := len(s.claims); n == 0 || s.maxUID() >= s.claims[n-1].next {
					first, next, err = s.folder.ClaimRecent(ctx)
				}
				s.claims = s.claims[:0]
			}
			if err != nil {
				first, next = 0, 0
			}
			recent = s.markRecent(first, next)
		}
		w.raw("* ")
		w.num(s.exists())
		w.raw(" EXISTS\r\n")
		if !c.rev2 {
			w.raw("* ")
			w.num(recent)
			w.raw(" RECENT\r\n")
		}
	}
	for _, m := range flagChanged {
		if seq := s.seqOf(m.UID); seq != 0 {
			// RFC 7162 §3.1.4.1: with CONDSTORE, unsolicited FETCH carries
			// MODSEQ.
			c.writeFlagsFetch(seq, m.UID, m.ModSeq, c.condstore)
		}
	}
	// Expunges not yet reported stop matching (context.go).
	for _, u := range s.pendingExpunge {
		s.contextChanged(u)
	}
	// ADDTO after EXISTS, so that its sequence numbers are valid (RFC 5267
	// §4.3.3).
	return c.updateContexts(ctx)
}

// qresyncParams are those of SELECT (QRESYNC (uidvalidity modseq
// [known-uids [seq-match-data]])) (RFC 7162 §3.2.5).
type qresyncParams struct {
	uidValidity uint32
	modSeq      uint64
	knownUIDs   *seqSet // nil: all
}

func (p *parser) qresyncParams() (*qresyncParams, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var q qresyncParams
	var err error
	if q.uidValidity, err = p.number(); err != nil {
		return nil, err
	}
	if err := p.sp(); err != nil {
		return nil, err
	}
	if q.modSeq, err = p.modSeq(); err != nil {
		return nil, err
	}
	if q.modSeq == 0 {
		return nil, p.errorf("mod-sequence must be at least 1")
	}
	if p.consume(' ') {
		if p.peek() != '(' {
			set, err := p.seqSet()
			if err != nil {
				return nil, err
			}
			if set.saved {
				return nil, p.errorf("expected known UIDs")
			}
			q.knownUIDs = &set
			p.consume(' ')
		}
		if p.peek() == '(' {
			// seq-match-data: (sequence numbers) (their UIDs). An
			// optimization for servers that cannot tell which UIDs are
			// gone; this one keeps every expunged UID, so it is checked
			// for syntax only.
			p.pos++
			if _, err := p.seqSet(); err != nil {
				return nil, err
			}
			if err := p.sp(); err != nil {
				return nil, err
			}
			if _, err := p.seqSet(); err != nil {
				return nil, err
			}
			if err := p.expect(')'); err != nil {
				return nil, err
			}
		}
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	return &q, nil
}

// resynchronize answers SELECT (QRESYNC ...) for a mailbox whose
// UIDVALIDITY the client knows (RFC 7162 §3.2.5.1): the UIDs expunged since
// its MODSEQ as VANISHED (EARLIER), then the flags of the messages changed
// since.
func (c *conn) resynchronize(ctx context.Context, q *qresyncParams) error {
	s := c.sel
	_, changed, expunged, err := s.folder.Changes(ctx, q.modSeq)
	if err != nil {
		return err
	}
	maxUID := s.uidNext - 1
	var vanished []uint32
	for _, u := range expunged {
		if s.seqOf(u) == 0 && (q.knownUIDs == nil || q.knownUIDs.containsUID(u, maxUID)) {
			vanished = append(vanished, u)
		}
	}
	c.writeVanished(vanished, true)
	for i := range changed {
		m := &changed[i]
		if seq := s.seqOf(m.UID); seq != 0 {
			c.writeFlagsFetch(seq, m.UID, m.ModSeq, true)
		}
	}
	return nil
}

// writeFlagsFetch writes "* seq FETCH (UID uid FLAGS (...) [MODSEQ (n)])"
// with the flags the session holds.
func (c *conn) writeFlagsFetch(seq, uid uint32, modSeq uint64, withModSeq bool) {
	s := c.sel
	w := &c.w
	w.raw("* ")
	w.num(seq)
	w.raw(" FETCH (UID ")
	w.num(uid)
	w.raw(" FLAGS ")
	c.writeFlagList(s.flags[seq-1], s.keywords[uid])
	if withModSeq {
		w.raw(" MODSEQ (")
		w.raw(strconv.FormatUint(modSeq, 10))
		w.byte(')')
	}
	w.raw(")\r\n")
}

// writeVanished writes "* VANISHED [(EARLIER)] uids" (RFC 7162 §3.2.10) when
// uids is not empty; it sorts uids.
func (c *conn) writeVanished(uids []uint32, earlier bool) {
	if len(uids) == 0 {
		return
	}
	slices.Sort(uids)
	c.w.raw("* VANISHED ")
	if earlier {
		c.w.raw("(EARLIER) ")
	}
	c.w.raw(formatSet(uids))
	c.w.crlf()
}

// enableCondstore records a CONDSTORE enabling command (RFC 7162 §3.1):
// FETCH with MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE UNCHANGEDSINCE,
// STATUS HIGHESTMODSEQ. When the first one comes while a mailbox is
// selected, the client has not yet been told the mailbox's HIGHESTMODSEQ
// as a CONDSTORE client, so "* OK [HIGHESTMODSEQ n]" goes out before the
// command's own responses (RFC 7162 §3.1.2.1; Dovecot does the same).
func (c *conn) enableCondstore() {
	if c.condstore {
		return
	}
	c.condstore = true
	if c.sel != nil {
		c.w.raw("* OK [HIGHESTMODSEQ ")
		c.w.raw(strconv.FormatUint(c.sel.modSeq, 10))
		c.w.raw("] Highest\r\n")
	}
}
