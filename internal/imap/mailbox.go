package imap

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// delimiter is the hierarchy delimiter of mailbox names.
const delimiter = '/'

// maxMailboxName bounds a mailbox name in bytes.
const maxMailboxName = 1000

// decodeMailbox turns a mailbox name as the client sent it into the
// engine's form: UTF-8 (IMAP4rev1 sessions send modified UTF-7, RFC 3501
// §5.1.3; raw UTF-8 is accepted from them too), "INBOX" in upper case,
// including as the first level of a hierarchy (RFC 9051 §5.1).
func (c *conn) decodeMailbox(s string) (string, bool) {
	if !utf8.ValidString(s) || len(s) > maxMailboxName {
		return "", false
	}
	name := s
	if !c.rev2 && !c.utf8Accept && isASCII(s) {
		d, ok := decodeMUTF7(s)
		if !ok {
			return "", false
		}
		name = d
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return "", false
		}
	}
	return normalizeInbox(name), true
}

func normalizeInbox(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == delimiter) {
		return "INBOX" + name[5:]
	}
	return name
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// encodeMailbox returns a name as this session sends it.
func (c *conn) encodeMailbox(name string) string {
	if c.rev2 || c.utf8Accept {
		return name
	}
	return encodeMUTF7(name)
}

// writeMailbox writes a mailbox name (RFC 9051 §9 mailbox).
func (c *conn) writeMailbox(name string) {
	c.w.astring(c.encodeMailbox(name))
}

// validNewName checks a name for CREATE and RENAME: no empty levels, no
// wildcards (RFC 9051 §5.1: they would be ambiguous in LIST).
func validNewName(name string) bool {
	if name == "" || strings.ContainsAny(name, "*%") {
		return false
	}
	for _, part := range strings.Split(name, string(delimiter)) {
		if part == "" {
			return false
		}
	}
	return true
}

// errorCode returns the response code of err when it is an *Error.
func errorCode(err error) string {
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// createParents creates the superior levels of name that do not exist (RFC
// 9051 §6.3.4: the server SHOULD create them).
func (c *conn) createParents(ctx context.Context, name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != delimiter {
			continue
		}
		parent := name[:i]
		if parent == "INBOX" {
			continue
		}
		if _, err := c.user.CreateFolder(ctx, parent, ""); err != nil && errorCode(err) != CodeAlreadyExists {
			return err
		}
	}
	return nil
}

// specialUses are the special-use attributes CREATE accepts (RFC 6154).
var specialUses = []string{`\All`, `\Archive`, `\Drafts`, `\Flagged`, `\Junk`, `\Sent`, `\Trash`}

// CREATE (RFC 9051 §6.3.4), with USE (RFC 6154 §3 CREATE-SPECIAL-USE).
func cmdCreate(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	name, err := p.mailbox()
	if err != nil {
		return err
	}
	var use string
	if p.consume(' ') {
		if err := p.expect('('); err != nil {
			return err
		}
		kw, err := p.keyword()
		if err != nil {
			return err
		}
		if kw != "USE" {
			return p.errorf("unknown CREATE parameter")
		}
		if err := p.sp(); err != nil {
			return err
		}
		flags, err := p.flagList()
		if err != nil {
			return err
		}
		if err := p.expect(')'); err != nil {
			return err
		}
		for _, f := range flags {
			ok := false
			for _, su := range specialUses {
				if strings.EqualFold(f, su) {
					ok = true
					f = su
				}
			}
			if !ok {
				return no("USEATTR", "Unsupported special-use attribute %s", truncate(f, 40))
			}
			if use != "" {
				return no("USEATTR", "Only one special-use attribute per mailbox")
			}
			use = f
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	name = strings.TrimSuffix(name, string(delimiter))
	if name == "INBOX" {
		return no(CodeAlreadyExists, "INBOX always exists")
	}
	if !validNewName(name) {
		return no(CodeCannot, "Invalid mailbox name")
	}
	if err := c.createParents(ctx, name); err != nil {
		return err
	}
	id, err := c.user.CreateFolder(ctx, name, use)
	if err != nil || id == "" {
		return err
	}
	// RFC 8474: the new mailbox's id in the tagged OK.
	return &okResult{code: "MAILBOXID (" + id + ")", text: r.name + " completed"}
}

// DELETE (RFC 9051 §6.3.5).
func cmdDelete(ctx context.Context, c *conn, r *request) error {
	name, err := r.p.onlyMailbox()
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return no(CodeCannot, "INBOX cannot be deleted")
	}
	return c.user.DeleteFolder(ctx, name)
}

// RENAME (RFC 9051 §6.3.6); renaming INBOX moves its messages.
func cmdRename(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	from, err := p.mailbox()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	to, err := p.mailbox()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	to = strings.TrimSuffix(to, string(delimiter))
	if to == "INBOX" {
		return no(CodeAlreadyExists, "INBOX always exists")
	}
	if !validNewName(to) {
		return no(CodeCannot, "Invalid mailbox name")
	}
	if from == to || strings.HasPrefix(to, from+string(delimiter)) && from != "INBOX" {
		return no(CodeCannot, "Cannot rename a mailbox into itself")
	}
	if err := c.createParents(ctx, to); err != nil {
		return err
	}
	return c.user.RenameFolder(ctx, from, to)
}

// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
func cmdSubscribe(ctx context.Context, c *conn, r *request) error {
	name, err := r.p.onlyMailbox()
	if err != nil {
		return err
	}
	return c.user.SetSubscribed(ctx, name, r.name == "SUBSCRIBE")
}

// NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal namespace.
func cmdNamespace(ctx context.Context, c *conn, r *request) error {
	if err := r.p.end(); err != nil {
		return err
	}
	c.w.raw(`* NAMESPACE (("" "/")) NIL NIL` + "\r\n")
	return nil
}

// statusItems are the STATUS data items (RFC 9051 §6.3.11, RFC 8438 SIZE,
// RFC 9208 §4.2.2 DELETED-STORAGE).
var statusItems = []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ",
	"MAILBOXID", // RFC 8474
	"DELETED-STORAGE"}

// parseStatusItems reads "(" item *(SP item) ")".
func (p *parser) statusItems() ([]string, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var items []string
	for !p.consume(')') {
		if len(items) > 0 {
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		start := p.pos
		it, err := p.keyword()
		if err != nil {
			return nil, err
		}
		known := false
		for _, s := range statusItems {
			known = known || s == it
		}
		if !known {
			p.pos = start
			return nil, p.errorf("unknown status item %s", truncate(it, 30))
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, p.errorf("expected status item")
	}
	return items, nil
}

// STATUS (RFC 9051 §6.3.11).
func cmdStatus(ctx context.Context, c *conn, r *request) error {
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
	items, err := p.statusItems()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	if slices.Contains(items, "HIGHESTMODSEQ") {
		c.enableCondstore()
	}
	return c.writeStatus(ctx, name, items)
}

// writeStatus writes one "* STATUS" response.
func (c *conn) writeStatus(ctx context.Context, name string, items []string) error {
	var want StatusWant
	for _, it := range items {
		switch it {
		case "DELETED", "DELETED-STORAGE":
			want |= StatusDeleted
		case "RECENT":
			want |= StatusRecent
		}
	}
	st, err := c.user.Status(ctx, name, want)
	if err != nil {
		return err
	}
	w := &c.w
	w.raw("* STATUS ")
	c.writeMailbox(name)
	w.raw(" (")
	for i, it := range items {
		if i > 0 {
			w.sp()
		}
		w.raw(it)
		w.sp()
		switch it {
		case "MESSAGES":
			w.num(st.Messages)
		case "UIDNEXT":
			w.num(st.UIDNext)
		case "UIDVALIDITY":
			w.num(st.UIDValidity)
		case "UNSEEN":
			w.num(st.Unseen)
		case "DELETED":
			w.num(st.Deleted)
		case "DELETED-STORAGE":
			// What an EXPUNGE would free: the sum of the RFC822.SIZEs of
			// the \Deleted messages (RFC 9208 §4.2.2), in octets.
			w.num64(st.DeletedStorage)
		case "SIZE":
			w.num64(st.Size)
		case "HIGHESTMODSEQ":
			w.raw(strconv.FormatUint(st.HighestModSeq, 10))
		case "RECENT":
			// The messages the next SELECT would claim (RFC 3501 §6.3.10);
			// STATUS claims none.
			w.num(st.Recent)
		case "MAILBOXID":
			c.writeObjectID(st.MailboxID)
		}
	}
	w.raw(")\r\n")
	return nil
}
