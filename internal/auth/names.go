package auth

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest user name, in octets, that a login keeps
// anywhere: in login records, logs, throttle keys and error texts. RFC 5321
// §4.5.3.1 bounds a whole path to 256 octets, so no address, UPN or alias a
// mailbox can have is longer; a longer name names no mailbox.
const MaxNameLen = 256

// CapName returns name as it may be kept for people to read (login records,
// logs): at most MaxNameLen octets, cut at a character boundary, with
// invalid UTF-8 and control characters (NUL included, which PostgreSQL text
// refuses) replaced by U+FFFD.
func CapName(name string) string {
	clean := true
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		clean = false
	} else {
		for i := 0; i < len(name); i++ {
			if name[i] < 0x20 || name[i] == 0x7f {
				clean = false
				break
			}
		}
	}
	if clean {
		return name
	}
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > MaxNameLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CanonicalName returns the form in which the directory looks a user name up
// (store FindMailboxes: trimmed, lower-cased). ok is false for a name that
// can name no mailbox, so that it need not be looked up at all: empty, over
// MaxNameLen octets, invalid UTF-8, or holding a control character (a NUL,
// say, which PostgreSQL would refuse with an error rather than a miss).
func CanonicalName(name string) (canon string, ok bool) {
	if len(name) > MaxNameLen {
		return "", false
	}
	valid := utf8.ValidString(name)
	c := strings.ToLower(strings.TrimSpace(name))
	if c == "" || !valid {
		return c, false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 || c[i] == 0x7f {
			return c, false
		}
	}
	return c, true
}

// UserKey is the throttle's key for the user of a login attempt: the
// mailbox the name resolved to, whatever spelling named it (UPN, address,
// alias, display name, any case, stray spaces); or, for a name that
// resolved to nothing, its canonical form, capped. So every spelling that
// could ever succeed counts against one counter.
func UserKey(mailboxID int64, name string) string {
	if mailboxID != 0 {
		return "mailbox:" + strconv.FormatInt(mailboxID, 10)
	}
	c := strings.TrimSpace(name)
	if len(c) > MaxNameLen {
		c = c[:MaxNameLen]
	}
	return "name:" + CapName(strings.ToLower(c))
}

// AddrKey is the throttle's key for a client address, given as host or
// host:port: the IP address, and for IPv6 its /64, which one client
// usually holds whole.
func AddrKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return CapName(host)
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
