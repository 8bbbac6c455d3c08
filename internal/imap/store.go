package imap

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// parseFlags splits flags into system flags and keywords. \Recent cannot be
// set by clients and is ignored (RFC 9051 §2.3.2); other unknown system
// flags are an error.
func parseFlags(flags []string) (Flags, []string, error) {
	var f Flags
	var kws []string
	for _, fl := range flags {
		if strings.HasPrefix(fl, `\`) {
			switch strings.ToLower(fl) {
			case `\seen`:
				f |= FlagSeen
			case `\answered`:
				f |= FlagAnswered
			case `\flagged`:
				f |= FlagFlagged
			case `\deleted`:
				f |= FlagDeleted
			case `\draft`:
				f |= FlagDraft
			case `\recent`:
			default:
				return 0, nil, bad("Unknown system flag %s", truncate(fl, 40))
			}
			continue
		}
		if len(fl) > 100 {
			return 0, nil, bad("Keyword too long")
		}
		if !slices.ContainsFunc(kws, func(k string) bool { return strings.EqualFold(k, fl) }) {
			kws = append(kws, fl)
		}
	}
	slices.Sort(kws)
	return f, kws, nil
}

// STORE and UID STORE (RFC 9051 §6.4.6).
func cmdStore(ctx context.Context, c *conn, r *request) error {
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
	var unchangedSince uint64
	conditional := false
	if p.consume('(') {
		// store-modifiers (RFC 4466): only UNCHANGEDSINCE (RFC 7162 §3.1.3).
		start := p.pos
		mod, err := p.keyword()
		if err != nil {
			return err
		}
		if mod != "UNCHANGEDSINCE" {
			p.pos = start
			return p.errorf("unsupported STORE modifier %s", truncate(mod, 30))
		}
		if err := p.sp(); err != nil {
			return err
		}
		if unchangedSince, err = p.modSeq(); err != nil {
			return err
		}
		if err := p.expect(')'); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		conditional = true
		c.enableCondstore()
	}
	op := FlagsReplace
	if p.consume('+') {
		op = FlagsAdd
	} else if p.consume('-') {
		op = FlagsRemove
	}
	item, err := p.keyword()
	if err != nil {
		return err
	}
	silent := false
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		silent = true
	default:
		return p.errorf("expected FLAGS")
	}
	if err := p.sp(); err != nil {
		return err
	}
	list, err := p.flagsOrList()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	flags, kws, err := parseFlags(list)
	if err != nil {
		return err
	}
	s := c.sel
	if s.readOnly {
		return errReadOnly
	}
	rs, err := c.resolve(set, r.uid)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	var changed []MessageFlags
	var modified []uint32
	if conditional && unchangedSince == 0 {
		// UNCHANGEDSINCE 0 fails every message (RFC 7162 §3.1.3); the store
		// reads 0 as "no condition", so it is not asked at all.
		for _, rg := range rs {
			modified = append(modified, s.uids[rg.lo:rg.hi]...)
		}
	} else {
		up := &FlagUpdate{UIDs: s.backendRanges(rs), Op: op, Flags: flags, Keywords: kws, UnchangedSince: unchangedSince,
			SeenModSeq: s.modSeq}
		if changed, modified, err = s.folder.StoreFlags(ctx, up); err != nil {
			return err
		}
		// This STORE's change was the folder's next one: with it applied
		// below, the session is up to date at its MODSEQ, and the backend
		// does not signal it back (FlagUpdate.OwnModSeq). Otherwise the
		// signal comes, and the next sendUpdates asks for what came in
		// between.
		if m := up.OwnModSeq(changed); m != 0 {
			s.modSeq = m
		}
	}
	var newKw bool
	for i := range changed {
		m := &changed[i]
		if seq := s.seqOf(m.UID); seq != 0 {
			s.setFlags(int(seq-1), m)
		}
		if len(m.Keywords) > 0 && s.addKeywords(m.Keywords) {
			newKw = true
		}
	}
	if newKw {
		c.writeFlagsResponses()
	}
	// With CONDSTORE the responses carry each message's MODSEQ (RFC 7162
	// §3.1.3); the session does not keep them, so they are read once.
	var modSeqs map[uint32]uint64
	if c.condstore {
		modSeqs = make(map[uint32]uint64, len(changed))
		for _, m := range changed {
			modSeqs[m.UID] = m.ModSeq
		}
		if !silent {
			err := s.folder.Messages(ctx, s.backendRanges(rs), 0, func(md *MessageData) error {
				modSeqs[md.UID] = md.ModSeq
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	refused := map[uint32]bool{}
	for _, u := range modified {
		refused[u] = true
	}
	// The new flags of every message of the set (RFC 9051 §6.4.6); with
	// .SILENT and CONDSTORE, the new MODSEQ of those changed.
	w := &c.w
	for _, rg := range rs {
		for i := rg.lo; i < rg.hi; i++ {
			u := s.uids[i]
			ms, known := modSeqs[u]
			if refused[u] || (silent && !known) || (!silent && c.condstore && !known) {
				continue
			}
			w.raw("* ")
			w.num(uint32(i + 1))
			w.raw(" FETCH (")
			if r.uid {
				w.raw("UID ")
				w.num(u)
				w.sp()
			}
			if !silent {
				w.raw("FLAGS ")
				c.writeFlagList(s.flags[i], s.keywords[u])
			}
			if c.condstore {
				if !silent {
					w.sp()
				}
				w.raw("MODSEQ (")
				w.raw(strconv.FormatUint(ms, 10))
				w.byte(')')
			}
			w.raw(")\r\n")
		}
		if w.err != nil {
			return &netError{w.err}
		}
	}
	if len(modified) > 0 {
		// RFC 7162 §3.1.3: the messages that failed the condition, as UIDs
		// for UID STORE and as sequence numbers otherwise.
		var set []uint32
		for _, u := range modified {
			if r.uid {
				set = append(set, u)
			} else if seq := s.seqOf(u); seq != 0 {
				set = append(set, seq)
			}
		}
		return &okResult{code: "MODIFIED " + formatSet(set), text: "Conditional STORE failed"}
	}
	return nil
}
