package imap

import (
	"context"
	"slices"
	"strings"
	"time"
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
	if p.peek() == '(' {
		// store-modifier (RFC 4466), e.g. UNCHANGEDSINCE: CONDSTORE is not
		// offered yet.
		return p.errorf("STORE modifiers are not supported")
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
	changed, err := s.folder.StoreFlags(ctx, &FlagUpdate{UIDs: s.backendRanges(rs), Op: op, Flags: flags, Keywords: kws})
	if err != nil {
		return err
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
	if silent {
		return nil
	}
	// The new flags of every message of the set (RFC 9051 §6.4.6).
	w := &c.w
	for _, rg := range rs {
		for i := rg.lo; i < rg.hi; i++ {
			w.raw("* ")
			w.num(uint32(i + 1))
			w.raw(" FETCH (")
			if r.uid {
				w.raw("UID ")
				w.num(s.uids[i])
				w.sp()
			}
			w.raw("FLAGS ")
			c.writeFlagList(s.flags[i], s.keywords[s.uids[i]])
			w.raw(")\r\n")
		}
		if w.err != nil {
			return &netError{w.err}
		}
	}
	return nil
}

// APPEND (RFC 9051 §6.3.12), with APPENDUID (RFC 4315), literal8 (RFC 3516)
// and APPENDLIMIT (RFC 7889).
func cmdAppend(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	name, err := p.mailbox()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	var msg AppendMessage
	if p.peek() == '(' {
		list, err := p.flagList()
		if err != nil {
			return err
		}
		if msg.Flags, msg.Keywords, err = parseFlags(list); err != nil {
			p.pos = len(p.line)
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
	if p.peek() == '"' {
		if msg.InternalDate, err = p.dateTime(); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
	tooBig := &Error{Code: CodeTooBig, Text: "Message too large"}
	data, _, err := p.literal(c.srv.opts.AppendLimit, true, tooBig)
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	if len(data) == 0 {
		return no("", "Empty message")
	}
	if msg.InternalDate.IsZero() {
		msg.InternalDate = time.Now()
	}
	msg.Raw = data
	uidValidity, uid, err := c.user.Append(ctx, name, &msg)
	if err != nil {
		if errorCode(err) == CodeNonExistent {
			return no(CodeTryCreate, "Mailbox does not exist")
		}
		return err
	}
	return &okResult{code: "APPENDUID " + itoa(uidValidity) + " " + itoa(uid), text: "APPEND completed"}
}
