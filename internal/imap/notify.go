package imap

import (
	"cmp"
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"
)

// NOTIFY (RFC 5465): the client names the events it wants to hear of and
// for which mailboxes; the server then sends them unasked, between
// commands as well as in IDLE.
//
// A session that never sends NOTIFY pays one pointer (conn.notif) and
// nothing else: no hub subscription, no goroutine, no queue. A NOTIFY
// session holds one subscription to its mailbox's changes (Watcher) and a
// small state: the folder names by ID, its subscriptions, the last counters
// reported per watched mailbox, and a bounded set of signalled folders.
// More signalled folders than that set holds before the session can send
// them means it cannot keep up: it gets "* OK [NOTIFICATIONOVERFLOW]" and
// notifications stop, as after NOTIFY NONE (§5.8).

// notifyEvents is a set of RFC 5465 events.
type notifyEvents uint8

const (
	evMessageNew notifyEvents = 1 << iota
	evMessageExpunge
	evFlagChange
	evMailboxName
	evSubscriptionChange

	evMessage = evMessageNew | evMessageExpunge | evFlagChange
)

// supportedEvents is the BADEVENT list (§3.1: all the events the server
// supports). AnnotationChange needs ANNOTATE, the metadata events METADATA
// (§5.6, §5.7); the server has neither.
const supportedEvents = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

// filterKind is a mailbox specifier (§6).
type filterKind uint8

const (
	filterSelected filterKind = iota
	filterSelectedDelayed
	filterInboxes
	filterPersonal
	filterSubscribed
	filterSubtree
	filterMailboxes
)

// notifyGroup is one event group of NOTIFY SET.
type notifyGroup struct {
	kind   filterKind
	names  []string // subtree, mailboxes
	events notifyEvents
}

// Limits of one NOTIFY session.
const (
	// maxNotifyPending bounds the folders signalled and not yet sent.
	maxNotifyPending = 64
	// maxNotifyMailboxes bounds the mailboxes one NOTIFY SET watches for
	// message events; more is refused with NO [NOTIFICATIONOVERFLOW].
	maxNotifyMailboxes = 1000
)

// notifyState is a session's NOTIFY SET.
type notifyState struct {
	// Set by NOTIFY SET, then only read.
	sel     *notifyGroup // selected or selected-delayed; nil: none
	delayed bool         // selected-delayed (§6.1.2)
	groups  []notifyGroup
	fetch   []fetchItem // MessageNew attributes of the selected group
	cancel  func()

	// Signals, from any goroutine.
	mu       sync.Mutex
	dirty    map[int64]struct{} // folders whose messages changed
	lists    bool               // folders or subscriptions changed
	overflow bool

	// The session's view; owned by the connection's goroutine, or by a
	// push holding conn.mu while no command runs. Sorted slices rather
	// than maps: a few hundred bytes less per session.
	ids   []folderID  // every folder, by ID
	subs  []string    // subscribed names, sorted
	boxes []boxStatus // last counters of watched mailboxes, by name
	// selRef is the selected folder whose new messages newMax covers.
	selRef weak.Pointer[selected]
	newMax uint32
}

// folderID names a folder by its Watcher ID.
type folderID struct {
	id   int64
	name string
}

// boxStatus is what NOTIFY compares of a watched mailbox.
type boxStatus struct {
	name                                   string
	messages, uidNext, uidValidity, unseen uint32
	modSeq                                 uint64
}

func newBoxStatus(name string, st FolderStatus) boxStatus {
	return boxStatus{name: name, messages: st.Messages, uidNext: st.UIDNext, uidValidity: st.UIDValidity,
		unseen: st.Unseen, modSeq: st.HighestModSeq}
}

// nameOf returns the name of folder id.
func (n *notifyState) nameOf(id int64) (string, bool) {
	i, ok := slices.BinarySearchFunc(n.ids, id, func(f folderID, id int64) int { return cmp.Compare(f.id, id) })
	if !ok {
		return "", false
	}
	return n.ids[i].name, true
}

// exists reports whether a folder is named name.
func (n *notifyState) exists(name string) bool {
	return slices.ContainsFunc(n.ids, func(f folderID) bool { return f.name == name })
}

func (n *notifyState) subscribed(name string) bool {
	_, ok := slices.BinarySearch(n.subs, name)
	return ok
}

// box returns the last counters of a watched mailbox.
func (n *notifyState) box(name string) (boxStatus, bool) {
	i, ok := slices.BinarySearchFunc(n.boxes, name, func(b boxStatus, name string) int { return strings.Compare(b.name, name) })
	if !ok {
		return boxStatus{}, false
	}
	return n.boxes[i], true
}

// setBox records the counters of a watched mailbox.
func (n *notifyState) setBox(b boxStatus) {
	i, ok := slices.BinarySearchFunc(n.boxes, b.name, func(b boxStatus, name string) int { return strings.Compare(b.name, name) })
	if ok {
		n.boxes[i] = b
		return
	}
	n.boxes = slices.Insert(n.boxes, i, b)
}

func (n *notifyState) deleteBox(name string) {
	i, ok := slices.BinarySearchFunc(n.boxes, name, func(b boxStatus, name string) int { return strings.Compare(b.name, name) })
	if ok {
		n.boxes = slices.Delete(n.boxes, i, i+1)
	}
}

// signal records that folder id changed (0: folders or subscriptions).
func (n *notifyState) signal(id int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id == 0 {
		n.lists = true
		return
	}
	if n.overflow {
		return
	}
	if _, ok := n.dirty[id]; ok {
		return
	}
	if len(n.dirty) >= maxNotifyPending {
		n.overflow = true
		n.dirty = nil
		return
	}
	if n.dirty == nil {
		n.dirty = map[int64]struct{}{}
	}
	n.dirty[id] = struct{}{}
}

// take returns and clears what was signalled.
func (n *notifyState) take() (dirty map[int64]struct{}, lists, overflow bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dirty, lists, overflow = n.dirty, n.lists, n.overflow
	n.dirty, n.lists, n.overflow = nil, false, false
	return
}

func (n *notifyState) pending() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.dirty) > 0 || n.lists || n.overflow
}

// matches reports whether the group covers name (§6.2-§6.6); INBOX is the
// one mailbox new mail is delivered to.
func (g *notifyGroup) matches(name string, n *notifyState) bool {
	switch g.kind {
	case filterInboxes:
		return name == "INBOX"
	case filterPersonal:
		return true
	case filterSubscribed:
		return n.subscribed(name)
	case filterSubtree:
		for _, x := range g.names {
			if name == x || strings.HasPrefix(name, x+string(delimiter)) {
				return true
			}
		}
	case filterMailboxes:
		return slices.Contains(g.names, name)
	}
	return false
}

// eventsFor returns the events wanted for a mailbox other than the selected
// one: those of the first group that covers it.
func (n *notifyState) eventsFor(name string) notifyEvents {
	for i := range n.groups {
		if n.groups[i].matches(name, n) {
			return n.groups[i].events
		}
	}
	return 0
}

// NOTIFY (RFC 5465 §3.1).
func cmdNotify(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	verb, err := p.keyword()
	if err != nil {
		return err
	}
	switch verb {
	case "NONE":
		if err := p.end(); err != nil {
			return err
		}
		c.notifyOff()
		return nil
	case "SET":
	default:
		return p.errorf("expected SET or NONE")
	}
	n := &notifyState{}
	status := false
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() != '(' {
		start := p.pos
		kw, err := p.keyword()
		if err != nil {
			return err
		}
		if kw != "STATUS" {
			p.pos = start
			return p.errorf("expected STATUS or an event group")
		}
		status = true
		if err := p.sp(); err != nil {
			return err
		}
	}
	unsupported := false
	for first := true; first || p.consume(' '); first = false {
		g, fetch, unsup, err := p.notifyGroup()
		if err != nil {
			return err
		}
		unsupported = unsupported || unsup
		if g.kind == filterSelected || g.kind == filterSelectedDelayed {
			if n.sel != nil {
				return bad("Only one of SELECTED and SELECTED-DELAYED may be given")
			}
			n.sel = &g
			n.delayed = g.kind == filterSelectedDelayed
			n.fetch = fetch
			continue
		}
		n.groups = append(n.groups, g)
	}
	if err := p.end(); err != nil {
		return err
	}
	if unsupported {
		return no("BADEVENT ("+supportedEvents+")", "Unsupported event")
	}
	w, ok := c.user.(Watcher)
	if !ok {
		return no(CodeCannot, "Notifications are not available")
	}
	if err := n.load(ctx, c.user); err != nil {
		return err
	}
	// The mailboxes whose messages are watched, and their counters now.
	var watched []string
	for _, name := range n.names() {
		if n.eventsFor(name)&evMessage != 0 {
			watched = append(watched, name)
		}
	}
	if len(watched) > maxNotifyMailboxes {
		return no("NOTIFICATIONOVERFLOW", "Too many mailboxes to watch; name fewer")
	}
	for _, name := range watched {
		st, err := c.user.Status(ctx, name, 0)
		if err != nil {
			if errorCode(err) == CodeNonExistent {
				continue // deleted meanwhile
			}
			return err
		}
		n.boxes = append(n.boxes, newBoxStatus(name, st)) // names() is sorted
		if status && (c.sel == nil || name != c.sel.name) {
			// §3.1: the STATUS indicator reports every watched mailbox
			// other than the selected one before the tagged OK.
			c.writeNotifyStatus(name, st, n.eventsFor(name))
		}
	}
	if s := c.sel; s != nil {
		n.selRef = weak.Make(s)
		n.newMax = s.maxUID()
	}
	c.notifyOff() // the previous NOTIFY SET, if any
	n.cancel = w.Watch(func(folderID int64) {
		n.signal(folderID)
		c.schedulePush()
	})
	c.notif.Store(n)
	// A NOTIFY SET is an implicit NOOP (§3.1): the command table asks for
	// the selected mailbox's changes.
	return nil
}

// notifyGroup reads one event group: "(" filter SP events ")". It reports
// the MessageNew attributes of a selected group and whether an event the
// server does not support was named.
func (p *parser) notifyGroup() (g notifyGroup, fetch []fetchItem, unsupported bool, err error) {
	if err = p.expect('('); err != nil {
		return
	}
	start := p.pos
	kw, err := p.keyword()
	if err != nil {
		return
	}
	switch kw {
	case "SELECTED":
		g.kind = filterSelected
	case "SELECTED-DELAYED":
		g.kind = filterSelectedDelayed
	case "INBOXES":
		g.kind = filterInboxes
	case "PERSONAL":
		g.kind = filterPersonal
	case "SUBSCRIBED":
		g.kind = filterSubscribed
	case "SUBTREE", "MAILBOXES":
		g.kind = filterSubtree
		if kw == "MAILBOXES" {
			g.kind = filterMailboxes
		}
		if err = p.sp(); err != nil {
			return
		}
		if g.names, err = p.mailboxList(); err != nil {
			return
		}
	default:
		p.pos = start
		err = p.errorf("unknown mailbox specifier %s", truncate(kw, 30))
		return
	}
	if err = p.sp(); err != nil {
		return
	}
	selected := g.kind == filterSelected || g.kind == filterSelectedDelayed
	if p.peek() != '(' {
		start := p.pos
		kw, err = p.keyword()
		if err != nil {
			return
		}
		if kw != "NONE" {
			p.pos = start
			err = p.errorf("expected an event list or NONE")
			return
		}
	} else {
		p.pos++
		if p.peek() == ')' {
			err = p.errorf("expected an event")
			return
		}
		var annotation bool
		for first := true; !p.consume(')'); first = false {
			if !first {
				if err = p.sp(); err != nil {
					return
				}
			}
			start := p.pos
			var name string
			if name, err = p.atom(); err != nil {
				return
			}
			var ev notifyEvents
			switch strings.ToUpper(name) {
			case "MESSAGENEW":
				ev = evMessageNew
				if p.pos+1 < len(p.line) && p.line[p.pos] == ' ' && p.line[p.pos+1] == '(' {
					p.pos += 2
					var items []fetchItem
					for !p.consume(')') {
						if len(items) > 0 {
							if err = p.sp(); err != nil {
								return
							}
						}
						var it fetchItem
						if it, err = p.fetchItem(); err != nil {
							return
						}
						// A notification never sets \Seen (§5.2).
						it.peek = true
						items = append(items, it)
					}
					if len(items) == 0 {
						err = p.errorf("empty fetch attribute list")
						return
					}
					if selected {
						fetch = items
					}
				}
			case "MESSAGEEXPUNGE":
				ev = evMessageExpunge
			case "FLAGCHANGE":
				ev = evFlagChange
			case "ANNOTATIONCHANGE":
				annotation = true
				unsupported = true
			case "MAILBOXNAME":
				ev = evMailboxName
			case "SUBSCRIPTIONCHANGE":
				ev = evSubscriptionChange
			case "MAILBOXMETADATACHANGE", "SERVERMETADATACHANGE":
				if selected {
					p.pos = start
					err = p.errorf("only message events may be given for the selected mailbox")
					return
				}
				unsupported = true
			default:
				unsupported = true
			}
			if selected && ev&(evMailboxName|evSubscriptionChange) != 0 {
				p.pos = start
				err = p.errorf("only message events may be given for the selected mailbox")
				return
			}
			g.events |= ev
		}
		// §5: MessageNew and MessageExpunge come together, and FlagChange
		// or AnnotationChange need both.
		both := evMessageNew | evMessageExpunge
		if g.events&both != 0 && g.events&both != both {
			err = bad("MessageNew and MessageExpunge must be given together")
			return
		}
		if (g.events&evFlagChange != 0 || annotation) && g.events&both != both {
			err = bad("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
			return
		}
	}
	err = p.expect(')')
	return
}

// mailboxList reads one-or-more-mailbox: a mailbox or "(" mailbox *(SP
// mailbox) ")".
func (p *parser) mailboxList() ([]string, error) {
	if !p.consume('(') {
		name, err := p.mailbox()
		if err != nil {
			return nil, err
		}
		return []string{name}, nil
	}
	var names []string
	for !p.consume(')') {
		if len(names) > 0 {
			if err := p.sp(); err != nil {
				return nil, err
			}
		}
		name, err := p.mailbox()
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, p.errorf("expected mailbox")
	}
	return names, nil
}

// load reads the folder list and subscriptions.
func (n *notifyState) load(ctx context.Context, u User) error {
	folders, err := u.Folders(ctx)
	if err != nil {
		return err
	}
	subs, err := u.Subscriptions(ctx)
	if err != nil {
		return err
	}
	n.ids = make([]folderID, len(folders))
	for i, f := range folders {
		n.ids[i] = folderID{f.ID, f.Name}
	}
	slices.SortFunc(n.ids, func(a, b folderID) int { return cmp.Compare(a.id, b.id) })
	n.subs = make([]string, len(subs))
	for i, s := range subs {
		n.subs[i] = normalizeInbox(s)
	}
	slices.Sort(n.subs)
	n.subs = slices.Compact(n.subs)
	return nil
}

// names returns every folder name, sorted.
func (n *notifyState) names() []string {
	out := make([]string, 0, len(n.ids))
	for _, f := range n.ids {
		out = append(out, f.name)
	}
	slices.Sort(out)
	return out
}

// notifyOff ends NOTIFY (NOTIFY NONE, an overflow, the end of the session).
func (c *conn) notifyOff() {
	if n := c.notif.Swap(nil); n != nil && n.cancel != nil {
		n.cancel()
	}
}

// notifyWantsSelected reports whether NOTIFY asks for the selected
// mailbox's message events, which then flow between commands too.
func (c *conn) notifyWantsSelected() bool {
	n := c.notif.Load()
	return n != nil && n.sel != nil && n.sel.events&evMessage != 0
}

// notifyPending reports whether a NOTIFY session has something to send.
func (c *conn) notifyPending() bool {
	n := c.notif.Load()
	return n != nil && n.pending()
}

// notifyCommands change folders or subscriptions: the session's own
// changes are not reported back to it (§5: the server SHOULD omit them).
var notifyCommands = map[string]bool{"CREATE": true, "DELETE": true, "RENAME": true, "SUBSCRIBE": true, "UNSUBSCRIBE": true}

// notifyBeforeCommand sends, before a command that changes folders or
// subscriptions, the notifications pending from other sessions: what the
// command's end takes in quietly is then only what changed while it ran.
func (c *conn) notifyBeforeCommand(ctx context.Context, name string) {
	if notifyCommands[name] && c.notifyPending() {
		c.notifyAfterCommand(ctx, "", false)
	}
}

// notifyAfterCommand sends what NOTIFY asks for at the end of a command,
// after the selected mailbox's updates.
func (c *conn) notifyAfterCommand(ctx context.Context, name string, allowExpunge bool) {
	n := c.notif.Load()
	if n == nil || c.state&(stateAuth|stateSelected) == 0 {
		return
	}
	if err := c.notifyUpdates(ctx, n, false, allowExpunge, notifyCommands[name]); err != nil {
		c.log.Warn("sending notifications failed", "err", err)
	}
}

// pushNotify sends a NOTIFY session's notifications while no command runs:
// waiting for a command or in IDLE (§4).
func (c *conn) pushNotify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy || c.closed || c.state&(stateAuth|stateSelected) == 0 {
		return
	}
	n := c.notif.Load()
	if n == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in notification", "panic", r, "stack", string(debug.Stack()))
			c.closed = true
			c.nc.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.acquireWriter()
	// §6.1.2: SELECTED-DELAYED keeps expunges for when they are allowed
	// (IDLE is such a time; between commands is not).
	err := c.notifyUpdates(ctx, n, true, c.idling || !n.delayed, false)
	c.releaseWriter()
	switch {
	case c.w.err != nil || err == errClose || isNetError(err):
		c.log.Debug("notification failed", "err", err, "write", c.w.err)
		c.closed = true
		c.nc.Close()
	case err != nil:
		// A store error: what was written is whole; the rest waits for
		// the next change or command.
		c.log.Warn("notification failed", "err", err)
	}
	c.w.err = nil
}

// notifyUpdates writes what changed of what n watches. async: no command
// runs, so the selected mailbox is reported only when n asks for it.
// quiet: the folder list and subscriptions are taken in without telling
// (the session changed them itself).
func (c *conn) notifyUpdates(ctx context.Context, n *notifyState, async, allowExpunge, quiet bool) error {
	dirty, lists, overflow := n.take()
	if overflow {
		c.w.raw("* OK [NOTIFICATIONOVERFLOW] Too many changes to report; notifications are off\r\n")
		c.notifyOff()
		return nil
	}
	if s := c.sel; s != nil {
		if async && n.sel != nil && n.sel.events&evMessage != 0 {
			if err := c.sendUpdates(ctx, allowExpunge, false); err != nil {
				return err
			}
		}
		if err := c.notifyNewMessages(ctx, n); err != nil {
			return err
		}
	}
	if lists {
		if err := c.notifyLists(ctx, n, quiet); err != nil {
			return err
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		name, ok := n.nameOf(id)
		if !ok {
			// A folder this session has not heard of yet.
			if err := c.notifyLists(ctx, n, quiet); err != nil {
				return err
			}
			if name, ok = n.nameOf(id); !ok {
				continue
			}
		}
		if c.sel != nil && name == c.sel.name {
			continue // the selected mailbox reports itself
		}
		ev := n.eventsFor(name)
		if ev&evMessage == 0 {
			continue
		}
		st, err := c.user.Status(ctx, name, 0)
		if err != nil {
			if errorCode(err) == CodeNonExistent {
				continue
			}
			n.signal(id) // try again later
			return err
		}
		old, known := n.box(name)
		n.setBox(newBoxStatus(name, st))
		switch {
		case !known, old.uidValidity != st.UIDValidity, old.messages != st.Messages, old.uidNext != st.UIDNext:
		case ev&evFlagChange != 0 && (old.modSeq != st.HighestModSeq || old.unseen != st.Unseen):
		default:
			continue // nothing this session asked to hear of
		}
		c.writeNotifyStatus(name, st, ev)
	}
	return nil
}

// writeNotifyStatus writes the STATUS of a watched mailbox (§5.1-§5.3):
// MESSAGES, UIDNEXT, UIDVALIDITY and UNSEEN, with HIGHESTMODSEQ when the
// client uses CONDSTORE or asked for flag changes.
func (c *conn) writeNotifyStatus(name string, st FolderStatus, ev notifyEvents) {
	w := &c.w
	w.raw("* STATUS ")
	c.writeMailbox(name)
	w.raw(" (MESSAGES ")
	w.num(st.Messages)
	w.raw(" UIDNEXT ")
	w.num(st.UIDNext)
	w.raw(" UIDVALIDITY ")
	w.num(st.UIDValidity)
	w.raw(" UNSEEN ")
	w.num(st.Unseen)
	if c.condstore || ev&evFlagChange != 0 {
		w.raw(" HIGHESTMODSEQ ")
		w.raw(strconv.FormatUint(st.HighestModSeq, 10))
	}
	w.raw(")\r\n")
}

// notifyNewMessages sends the MessageNew attributes of the messages that
// arrived in the selected mailbox since the last call (§5.2), after their
// EXISTS.
func (c *conn) notifyNewMessages(ctx context.Context, n *notifyState) error {
	s := c.sel
	if n.selRef.Value() != s {
		// Another SELECT: what it reported is not new.
		n.selRef = weak.Make(s)
		n.newMax = s.maxUID()
		return nil
	}
	max := s.maxUID()
	if max <= n.newMax {
		n.newMax = max
		return nil
	}
	from := n.newMax
	n.newMax = max
	if n.sel == nil || n.sel.events&evMessageNew == 0 || len(n.fetch) == 0 {
		return nil
	}
	lo, _ := slices.BinarySearch(s.uids, from+1)
	f := newFetcher(c, n.fetch, nil)
	var want Want
	needMeta := false
	for i := range n.fetch {
		it := &n.fetch[i]
		if it.kind != fetchUID && it.kind != fetchFlags {
			needMeta = true
		}
		if it.needsStructure() || it.presentsContent() {
			want |= WantStructure
		}
	}
	if !needMeta {
		for i := lo; i < len(s.uids); i++ {
			if err := f.write(ctx, i, nil, nil); err != nil {
				return err
			}
		}
		return nil
	}
	var batch []MessageData
	err := s.folder.Messages(ctx, []UIDRange{{Start: s.uids[lo], Stop: max}}, want, func(md *MessageData) error {
		d := *md
		d.Keywords = slices.Clone(md.Keywords)
		d.Structure = slices.Clone(md.Structure)
		d.BodyPrefix = nil
		batch = append(batch, d)
		return nil
	})
	if err != nil {
		return err
	}
	for j := range batch {
		md := &batch[j]
		seq := s.seqOf(md.UID)
		if seq == 0 {
			continue
		}
		msg, err := f.load(ctx, md)
		if err != nil {
			if errors.Is(err, ErrExpunged) {
				continue
			}
			return err
		}
		if err := f.write(ctx, int(seq-1), md, msg); err != nil {
			return c.abortResponse(err)
		}
	}
	return nil
}

// notifyLists reloads the folder list and subscriptions and reports the
// differences (§5.4 MailboxName, §5.5 SubscriptionChange) unless quiet.
func (c *conn) notifyLists(ctx context.Context, n *notifyState, quiet bool) error {
	oldIDs, oldSubs := n.ids, n.subs
	if err := n.load(ctx, c.user); err != nil {
		return err
	}
	wants := func(name string, ev notifyEvents) bool {
		return !quiet && n.eventsFor(name)&ev != 0
	}
	w := &c.w
	// Renamed and deleted folders, then new ones, by name.
	var gone, added []string
	type rename struct{ from, to string }
	var renamed []rename
	for _, old := range oldIDs {
		name, ok := n.nameOf(old.id)
		switch {
		case !ok:
			gone = append(gone, old.name)
		case name != old.name:
			renamed = append(renamed, rename{old.name, name})
		}
	}
	for _, f := range n.ids {
		if _, ok := slices.BinarySearchFunc(oldIDs, f.id, func(f folderID, id int64) int { return cmp.Compare(f.id, id) }); !ok {
			added = append(added, f.name)
		}
	}
	slices.Sort(gone)
	slices.Sort(added)
	slices.SortFunc(renamed, func(a, b rename) int { return strings.Compare(a.from, b.from) })
	for _, r := range renamed {
		if b, ok := n.box(r.from); ok {
			n.deleteBox(r.from)
			b.name = r.to
			n.setBox(b)
		}
		if wants(r.to, evMailboxName) || wants(r.from, evMailboxName) {
			// RFC 5258 extended LIST with OLDNAME (§5.4).
			w.raw("* LIST (")
			w.raw(c.listAttrs(n, r.to))
			w.raw(`) "/" `)
			c.writeMailbox(r.to)
			w.raw(` ("OLDNAME" (`)
			c.writeMailbox(r.from)
			w.raw("))\r\n")
		}
	}
	for _, name := range gone {
		n.deleteBox(name)
		if wants(name, evMailboxName) {
			w.raw("* LIST (")
			w.raw(c.listAttrs(n, name))
			w.raw(`) "/" `)
			c.writeMailbox(name)
			w.crlf()
		}
	}
	for _, name := range added {
		if wants(name, evMailboxName) {
			w.raw("* LIST (")
			w.raw(c.listAttrs(n, name))
			w.raw(`) "/" `)
			c.writeMailbox(name)
			w.crlf()
		}
		if n.eventsFor(name)&evMessage != 0 && len(n.boxes) < maxNotifyMailboxes {
			if st, err := c.user.Status(ctx, name, 0); err == nil {
				n.setBox(newBoxStatus(name, st))
			}
		}
	}
	// Subscriptions (§5.5): \Subscribed when and only when subscribed now.
	var changed []string
	for _, name := range n.subs {
		if _, ok := slices.BinarySearch(oldSubs, name); !ok {
			changed = append(changed, name)
		}
	}
	for _, name := range oldSubs {
		if !n.subscribed(name) {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	for _, name := range changed {
		if wants(name, evSubscriptionChange) {
			w.raw("* LIST (")
			w.raw(c.listAttrs(n, name))
			w.raw(`) "/" `)
			c.writeMailbox(name)
			w.crlf()
		}
	}
	return nil
}

// listAttrs returns the attributes of a LIST notification: \NonExistent
// for a name that is no folder, \Subscribed for a subscribed one, and the
// child flags.
func (c *conn) listAttrs(n *notifyState, name string) string {
	var attrs []string
	exists := n.exists(name)
	if !exists {
		attrs = append(attrs, `\NonExistent`)
	}
	if n.subscribed(name) {
		attrs = append(attrs, `\Subscribed`)
	}
	// RFC 3348 child flags, as LIST gives them (§5.4: SHOULD).
	prefix := name + string(delimiter)
	switch {
	case slices.ContainsFunc(n.ids, func(f folderID) bool { return strings.HasPrefix(f.name, prefix) }):
		attrs = append(attrs, `\HasChildren`)
	case exists:
		attrs = append(attrs, `\HasNoChildren`)
	}
	return strings.Join(attrs, " ")
}
