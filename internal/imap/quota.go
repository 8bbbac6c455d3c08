package imap

import (
	"context"
)

// QuotaUser may be implemented by a User whose mailbox has a storage limit
// (RFC 9208). A mailbox has at most one quota root, named "", holding the
// STORAGE resource (the sum of its messages' sizes) over all its folders.
type QuotaUser interface {
	// StorageQuota returns the mailbox's size and its limit in octets;
	// limit 0 means none, and then the mailbox has no quota root.
	StorageQuota(ctx context.Context) (used, limit int64, err error)
}

// QuotaWarner may be implemented by a User whose mailbox has a warning
// (soft) storage limit, Exchange's IssueWarningQuota.
type QuotaWarner interface {
	// StorageWarning returns the mailbox's size and its warning limit in
	// octets; limit 0 means none.
	StorageWarning(ctx context.Context) (used, warn int64, err error)
}

// QuotaReader may be implemented by a User that is a QuotaUser and a
// QuotaWarner, to give both answers from one read: an APPEND then reads the
// usage once, before its literal, and again after it only when the
// mailbox may have reached its warning limit.
type QuotaReader interface {
	StorageUsage(ctx context.Context) (used, limit, warn int64, err error)
}

// AppendUsageReader may be implemented by a User that is a QuotaReader, to
// read the usage before an APPEND's literal together with what the APPEND
// needs of its target mailbox (by name), and to use that in the Append or
// AppendMany of name that follows, rather than read it again after the
// literal: the target is then the mailbox that had that name when the
// command began, as when a server opens it before reading the message.
type AppendUsageReader interface {
	AppendUsage(ctx context.Context, name string) (used, limit, warn int64, err error)
}

// warnSoftQuota writes "* NO [OVERQUOTA] ..." when a write that succeeded
// (APPEND, COPY, MOVE) leaves the mailbox at or over its warning limit.
// RFC 9208 §4.3.3 keeps the tagged NO [OVERQUOTA] for the hard limit,
// where nothing is stored, and lets a server send OVERQUOTA in an untagged
// NO when a mailbox exceeds a soft quota; the tagged OK keeps its own code
// (APPENDUID, COPYUID). Exchange warns when the size "reaches or exceeds"
// IssueWarningQuota, so reaching it is enough here too. A failure to read
// the usage only loses the warning: the write is done.
func (c *conn) warnSoftQuota(ctx context.Context) {
	qw, ok := c.user.(QuotaWarner)
	if !ok {
		return
	}
	used, warn, err := qw.StorageWarning(ctx)
	if err != nil || warn <= 0 || used < warn {
		return
	}
	w := &c.w
	w.raw("* NO [OVERQUOTA] Mailbox is over its warning quota (")
	w.num64(used)
	w.raw(" of ")
	w.num64(warn)
	w.raw(" octets used); delete mail to make room\r\n")
}

// quotaRoot is the name of the one quota root a limited mailbox has.
const quotaRoot = ""

// storageQuota returns the STORAGE usage and limit of the session's
// mailbox; ok is false when it has none.
func (c *conn) storageQuota(ctx context.Context) (used, limit int64, ok bool, err error) {
	qu, isQuota := c.user.(QuotaUser)
	if !isQuota {
		return 0, 0, false, nil
	}
	used, limit, err = qu.StorageQuota(ctx)
	return used, limit, err == nil && limit > 0, err
}

// writeQuota writes "* QUOTA "" (STORAGE used limit)". STORAGE counts
// units of 1024 octets (RFC 9208 §5.1): the usage is rounded up, so that a
// mailbox with anything in it never shows 0, and the limit down, so that a
// client never believes in room the server will refuse.
func (c *conn) writeQuota(used, limit int64) {
	w := &c.w
	w.raw("* QUOTA ")
	w.str(quotaRoot)
	w.raw(" (STORAGE ")
	w.num64((used + 1023) / 1024)
	w.sp()
	w.num64(limit / 1024)
	w.raw(")\r\n")
}

var errNoQuotaRoot = &Error{Code: CodeNonExistent, Text: "No such quota root"}

// GETQUOTA quota-root (RFC 9208 §4.1.1).
func cmdGetQuota(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	root, err := p.astring()
	if err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	if root != quotaRoot {
		return errNoQuotaRoot
	}
	used, limit, ok, err := c.storageQuota(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errNoQuotaRoot
	}
	c.writeQuota(used, limit)
	return nil
}

// GETQUOTAROOT mailbox (RFC 9208 §4.1.2): the mailbox's quota roots (none
// or "") and, for each, its QUOTA response.
func cmdGetQuotaRoot(ctx context.Context, c *conn, r *request) error {
	name, err := r.p.onlyMailbox()
	if err != nil {
		return err
	}
	// The mailbox must exist (NO [NONEXISTENT] otherwise).
	if _, err := c.user.Status(ctx, name, 0); err != nil {
		return err
	}
	used, limit, ok, err := c.storageQuota(ctx)
	if err != nil {
		return err
	}
	w := &c.w
	w.raw("* QUOTAROOT ")
	c.writeMailbox(name)
	if ok {
		w.sp()
		w.str(quotaRoot)
	}
	w.raw("\r\n")
	if ok {
		c.writeQuota(used, limit)
	}
	return nil
}

// SETQUOTA quota-root (resource limit ...) (RFC 9208 §4.1.3). Limits are
// set by administrators (Set-Mailbox, the admin center, the REST API), so
// the server does not advertise QUOTASET and refuses the command once it
// has checked its syntax.
func cmdSetQuota(ctx context.Context, c *conn, r *request) error {
	p := r.p
	if err := p.sp(); err != nil {
		return err
	}
	if _, err := p.astring(); err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if err := p.expect('('); err != nil {
		return err
	}
	for n := 0; !p.consume(')'); n++ {
		if n > 0 {
			if err := p.sp(); err != nil {
				return err
			}
		}
		if _, err := p.atom(); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
		if _, err := p.number64(); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	return &Error{Code: CodeNoPerm, Text: "Quotas are set by your administrator"}
}
