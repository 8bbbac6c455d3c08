package imap

import (
	"context"
	"slices"
	"sort"
	"strings"
)

// listOptions are the LIST-EXTENDED selection and return options (RFC 5258,
// RFC 6154, RFC 5819).
type listOptions struct {
	subscribed     bool // selection SUBSCRIBED
	recursiveMatch bool
	specialUseSel  bool
	retSubscribed  bool
	retChildren    bool
	retSpecialUse  bool
	statusItems    []string
	extended       bool // any option given: extended LIST rules
}

// LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED).
func cmdList(ctx context.Context, c *conn, r *request) error {
	p := r.p
	var o listOptions
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		o.extended = true
		p.pos++
		for !p.consume(')') {
			if p.peek() == ' ' {
				p.pos++
			}
			kw, err := p.keyword()
			if err != nil {
				return err
			}
			switch kw {
			case "SUBSCRIBED":
				o.subscribed = true
			case "REMOTE":
			case "RECURSIVEMATCH":
				o.recursiveMatch = true
			case "SPECIAL-USE":
				o.specialUseSel = true
			default:
				return p.errorf("unknown LIST selection option %s", truncate(kw, 30))
			}
		}
		if o.recursiveMatch && !o.subscribed && !o.specialUseSel {
			return bad("RECURSIVEMATCH needs another selection option")
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
	ref, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	var patterns []string
	if p.consume('(') {
		o.extended = true
		for !p.consume(')') {
			if len(patterns) > 0 {
				if err := p.sp(); err != nil {
					return err
				}
			}
			pat, err := p.listMailbox()
			if err != nil {
				return err
			}
			patterns = append(patterns, pat)
		}
	} else {
		pat, err := p.listMailbox()
		if err != nil {
			return err
		}
		patterns = append(patterns, pat)
	}
	if p.consume(' ') {
		kw, err := p.keyword()
		if err != nil {
			return err
		}
		if kw != "RETURN" {
			return p.errorf("expected RETURN")
		}
		if err := p.sp(); err != nil {
			return err
		}
		if err := p.expect('('); err != nil {
			return err
		}
		o.extended = true
		for !p.consume(')') {
			if p.peek() == ' ' {
				p.pos++
			}
			kw, err := p.keyword()
			if err != nil {
				return err
			}
			switch kw {
			case "SUBSCRIBED":
				o.retSubscribed = true
			case "CHILDREN":
				o.retChildren = true
			case "SPECIAL-USE":
				o.retSpecialUse = true
			case "STATUS":
				if err := p.sp(); err != nil {
					return err
				}
				if o.statusItems, err = p.statusItems(); err != nil {
					return err
				}
			default:
				return p.errorf("unknown LIST return option %s", truncate(kw, 30))
			}
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if len(patterns) == 1 && patterns[0] == "" && !o.extended {
		// RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
		c.w.raw(`* LIST (\Noselect) "/" ""` + "\r\n")
		return nil
	}
	return c.list(ctx, ref, patterns, &o, false)
}

// LSUB (RFC 3501 §6.3.9), kept for IMAP4rev1 clients.
func cmdLsub(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	ref, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	pat, err := p.listMailbox()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	return c.list(ctx, ref, []string{pat}, &listOptions{subscribed: true}, true)
}

// listEntry is one name LIST may return.
type listEntry struct {
	name        string
	exists      bool
	subscribed  bool
	specialUse  string
	hasChildren bool
	// childSubscribed: a descendant is subscribed (RECURSIVEMATCH CHILDINFO).
	childSubscribed bool
}

func (c *conn) list(ctx context.Context, ref string, patterns []string, o *listOptions, lsub bool) error {
	folders, err := c.user.Folders(ctx)
	if err != nil {
		return err
	}
	var subs []string
	if o.subscribed || o.retSubscribed || lsub {
		if subs, err = c.user.Subscriptions(ctx); err != nil {
			return err
		}
	}
	// Every name: folders, their ancestors, and subscriptions.
	entries := map[string]*listEntry{}
	get := func(name string) *listEntry {
		e := entries[name]
		if e == nil {
			e = &listEntry{name: name}
			entries[name] = e
		}
		return e
	}
	for _, f := range folders {
		e := get(f.Name)
		e.exists = true
		e.specialUse = f.SpecialUse
	}
	for _, s := range subs {
		get(normalizeInbox(s)).subscribed = true
	}
	for name, e := range entries {
		for i := len(name) - 1; i > 0; i-- {
			if name[i] != delimiter {
				continue
			}
			parent := get(name[:i])
			if e.exists {
				parent.hasChildren = true
			}
			if e.subscribed {
				parent.childSubscribed = true
			}
		}
	}
	// Decode the patterns (IMAP4rev1: modified UTF-7).
	var pats []string
	for _, pat := range patterns {
		d, ok := c.decodeMailbox(ref + pat)
		if !ok {
			continue
		}
		pats = append(pats, d)
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := entries[name]
		matched := false
		for _, pat := range pats {
			if matchPattern(pat, name) {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		var attrs []string
		extra := ""
		switch {
		case lsub:
			if !e.subscribed {
				// RFC 3501 §6.3.9: a "%" match of an unsubscribed parent
				// of subscribed names is shown \Noselect.
				if !e.childSubscribed || !strings.Contains(patternsJoined(pats), "%") {
					continue
				}
				attrs = append(attrs, `\Noselect`)
			}
		case o.subscribed:
			if !e.subscribed {
				// RFC 5258 §3: with RECURSIVEMATCH a parent that is not
				// subscribed is returned, with CHILDINFO, for a subscribed
				// descendant the patterns do not return themselves; one
				// that another pattern (or the same) returns needs no
				// parent line.
				if !(o.recursiveMatch && e.childSubscribed && hiddenSubscribedChild(entries, name, pats)) {
					continue
				}
				extra = ` ("CHILDINFO" ("SUBSCRIBED"))`
			}
			if !e.exists && e.subscribed {
				attrs = append(attrs, `\NonExistent`)
			}
			if e.subscribed {
				attrs = append(attrs, `\Subscribed`)
			}
		case o.specialUseSel:
			if e.specialUse == "" || !e.exists {
				continue
			}
		default:
			if !e.exists {
				if !e.hasChildren {
					continue // a subscription without a folder
				}
				if c.rev2 || o.extended {
					attrs = append(attrs, `\NonExistent`)
				} else {
					attrs = append(attrs, `\Noselect`)
				}
			}
			if o.retSubscribed && e.subscribed {
				attrs = append(attrs, `\Subscribed`)
			}
		}
		// RFC 5258 §4: with the SUBSCRIBED selection, child flags come
		// only when RETURN (CHILDREN) asks for them; a plain LIST always
		// has them (RFC 9051 §6.3.9.5 and RFC 3348 CHILDREN).
		if !lsub && (!o.subscribed || o.retChildren) {
			if e.hasChildren {
				attrs = append(attrs, `\HasChildren`)
			} else if e.exists {
				attrs = append(attrs, `\HasNoChildren`)
			}
		}
		if !lsub {
			if e.specialUse != "" {
				attrs = append(attrs, e.specialUse)
			}
		}
		w := &c.w
		if lsub {
			w.raw("* LSUB (")
		} else {
			w.raw("* LIST (")
		}
		w.raw(strings.Join(attrs, " "))
		w.raw(`) "/" `)
		c.writeMailbox(name)
		w.raw(extra)
		w.crlf()
		if len(o.statusItems) > 0 && e.exists {
			// RFC 5819: STATUS follows its LIST line; a failure for one
			// mailbox does not fail the LIST.
			if err := c.writeStatus(ctx, name, o.statusItems); err != nil && errorCode(err) == "" {
				return err
			}
		}
	}
	return nil
}

func patternsJoined(p []string) string { return strings.Join(p, "\x00") }

// hiddenSubscribedChild reports whether name has a subscribed descendant
// that matches none of the patterns.
func hiddenSubscribedChild(entries map[string]*listEntry, name string, pats []string) bool {
	prefix := name + string(delimiter)
	for n, e := range entries {
		if !e.subscribed || !strings.HasPrefix(n, prefix) {
			continue
		}
		if !slices.ContainsFunc(pats, func(p string) bool { return matchPattern(p, n) }) {
			return true
		}
	}
	return false
}

// matchPattern matches a LIST pattern against a name: "*" matches anything,
// "%" anything but the delimiter (RFC 9051 §6.3.9). It runs in
// O(len(pattern)·len(name)).
func matchPattern(pattern, name string) bool {
	pattern = normalizeInbox(pattern)
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		pc := pattern[i]
		cur[0] = prev[0] && (pc == '*' || pc == '%')
		for j := 1; j <= len(name); j++ {
			switch pc {
			case '*':
				cur[j] = prev[j] || cur[j-1]
			case '%':
				cur[j] = prev[j] || (cur[j-1] && name[j-1] != delimiter)
			default:
				cur[j] = prev[j-1] && name[j-1] == pc
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
