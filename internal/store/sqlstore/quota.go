package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Quotas. A mailbox's size is the sum of its folders' size counters, which
// every write keeps exact in the transaction that changes the rows (see
// mail.go). A write that adds mail to a mailbox with a
// ProhibitSendReceiveQuota first takes the mailbox's row lock
// (Dialect.LockMailboxes; SQLite has one writer), then sums and compares,
// then adds: two writes racing for the last room are serialized by the
// lock, and the second one sees the first one's size once it has the lock
// (mail writes run at READ COMMITTED, where each statement reads what was
// committed before it began). The mailbox lock is always taken before any
// folder lock, so quota checks add no deadlock. A mailbox without a quota
// costs one indexed read and takes no lock.

// quotaValue is the stored form of a limit: NULL for Unlimited.
func quotaValue(v int64) any {
	if v <= 0 {
		return nil
	}
	return v
}

// lockMailboxes row-locks the mailboxes in id order (PostgreSQL).
func lockMailboxes(ctx context.Context, c conn, ids []int64) error {
	if c.db.d.LockMailboxes == "" || len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := c.execDynamic(ctx, fmt.Sprintf(c.db.d.LockMailboxes, placeholders(len(ids))), args...)
	return err
}

// limitedMailboxes returns those of the mailboxes that have a
// ProhibitSendReceiveQuota, without locking.
func limitedMailboxes(ctx context.Context, c conn, ids []int64) ([]int64, error) {
	if len(ids) == 1 {
		return int64Column(ctx, c, `SELECT id FROM mailboxes WHERE id = ? AND prohibit_send_receive_quota IS NOT NULL`, ids[0])
	}
	var out []int64
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		part, err := scanColumn[int64](c.queryDynamic(ctx, `SELECT id FROM mailboxes WHERE id IN (`+placeholders(n)+`)
			AND prohibit_send_receive_quota IS NOT NULL`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
		ids = ids[n:]
	}
	return out, nil
}

// reserveQuota checks that adding add octets to each of the mailboxes
// keeps it within its ProhibitSendReceiveQuota, and holds the locks of
// those that have one until the transaction ends; the caller then adds the
// mail in the same transaction. A mailbox that would go beyond is
// store.ErrOverQuota (naming the first such mailbox); nothing is written.
func reserveQuota(ctx context.Context, c conn, ids []int64, add int64) error {
	limited, err := limitedMailboxes(ctx, c, ids)
	if err != nil || len(limited) == 0 {
		return err
	}
	if err := lockMailboxes(ctx, c, limited); err != nil {
		return err
	}
	for _, id := range limited {
		// Read again under the lock: the limit may have changed.
		var limit sql.NullInt64
		var used int64
		err := c.queryRow(ctx, `SELECT prohibit_send_receive_quota, (SELECT coalesce(sum(size), 0) FROM folders WHERE mailbox_id = ?)
			FROM mailboxes WHERE id = ?`, id, id).Scan(&limit, &used)
		if errors.Is(err, sql.ErrNoRows) {
			continue // removed meanwhile: the write itself fails on it
		}
		if err != nil {
			return err
		}
		if limit.Valid && used+add > limit.Int64 {
			return &OverQuotaError{MailboxID: id, Used: used, Add: add, Limit: limit.Int64}
		}
	}
	return nil
}

// OverQuotaError says which mailbox a write would take beyond its quota;
// it matches store.ErrOverQuota.
type OverQuotaError struct {
	MailboxID        int64
	Used, Add, Limit int64
}

func (e *OverQuotaError) Error() string {
	return fmt.Sprintf("mailbox %d: %v (%d + %d octets > %d)", e.MailboxID, store.ErrOverQuota, e.Used, e.Add, e.Limit)
}

// Is makes errors.Is(err, store.ErrOverQuota) true.
func (e *OverQuotaError) Is(target error) bool { return target == store.ErrOverQuota }

// folderQuotaMailbox returns the mailbox of the folder when that mailbox
// has a ProhibitSendReceiveQuota, 0 otherwise (also for a missing folder:
// the write itself reports that).
func folderQuotaMailbox(ctx context.Context, c conn, folderID int64) (int64, error) {
	var mb int64
	err := c.queryRow(ctx, `SELECT f.mailbox_id FROM folders f JOIN mailboxes m ON m.id = f.mailbox_id
		WHERE f.id = ? AND m.prohibit_send_receive_quota IS NOT NULL`, folderID).Scan(&mb)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return mb, err
}

// reserveFolderQuota is reserveQuota for a write into one folder.
func reserveFolderQuota(ctx context.Context, c conn, folderID, add int64) error {
	mb, err := folderQuotaMailbox(ctx, c, folderID)
	if err != nil || mb == 0 {
		return err
	}
	return reserveQuota(ctx, c, []int64{mb}, add)
}

// usageColumns are a mailbox's usage, read from its row m: the quotas
// (scanned by usageRow), its size and its message count (the sums of its
// folders' counters).
const usageColumns = `m.issue_warning_quota, m.prohibit_send_quota, m.prohibit_send_receive_quota,
	(SELECT coalesce(sum(size), 0) FROM folders WHERE mailbox_id = m.id), (SELECT coalesce(sum(messages), 0) FROM folders WHERE mailbox_id = m.id)`

// usageRow receives usageColumns.
type usageRow struct {
	warn, send, sendReceive sql.NullInt64
	size, messages          int64
}

func (r *usageRow) dest() []any {
	return []any{&r.warn, &r.send, &r.sendReceive, &r.size, &r.messages}
}

// usage is what was read, the sums clamped at 0.
func (r *usageRow) usage() store.MailboxUsage {
	return store.MailboxUsage{Size: max(r.size, 0), Messages: max(r.messages, 0),
		Quota: store.MailboxQuota{IssueWarning: r.warn.Int64, ProhibitSend: r.send.Int64, ProhibitSendReceive: r.sendReceive.Int64}}
}

// MailboxUsage implements store.Mail.
func (db *DB) MailboxUsage(ctx context.Context, mailboxID int64) (store.MailboxUsage, error) {
	var r usageRow
	err := conn{db: db}.queryRow(ctx, `SELECT `+usageColumns+` FROM mailboxes m WHERE m.id = ?`, mailboxID).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.MailboxUsage{}, fmt.Errorf("mailbox %d: %w", mailboxID, store.ErrNotFound)
	}
	return r.usage(), err
}

// appendTarget is AppendTarget's query: the folder's columns
// (folderColumns; zeros and empty strings when the mailbox has no folder
// of that name), then the usage (usageColumns).
const appendTarget = `SELECT coalesce(f.id, 0), coalesce(f.mailbox_id, 0), coalesce(f.name, ''), coalesce(f.special_use, ''),
	coalesce(f.uid_validity, 0), coalesce(f.uid_next, 0), coalesce(f.highest_modseq, 0), coalesce(f.messages, 0),
	coalesce(f.unseen, 0), coalesce(f.size, 0), ` + usageColumns + `
	FROM mailboxes m LEFT JOIN folders f ON f.mailbox_id = m.id AND f.name = ?
	WHERE m.id = ?`

// AppendTarget implements store.Mail.
func (db *DB) AppendTarget(ctx context.Context, mailboxID int64, name string) (store.Folder, bool, store.MailboxUsage, error) {
	var r usageRow
	f, err := scanFolder(scanWith{conn{db: db}.queryRow(ctx, appendTarget, name, mailboxID), r.dest()})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Folder{}, false, store.MailboxUsage{}, fmt.Errorf("mailbox %d: %w", mailboxID, store.ErrNotFound)
	}
	if err != nil {
		return store.Folder{}, false, store.MailboxUsage{}, err
	}
	return f, f.ID != 0, r.usage(), nil
}

// Recipient implements store.Mail.
func (db *DB) Recipient(ctx context.Context, address string) (store.Recipient, error) {
	var r store.Recipient
	var limit sql.NullInt64
	err := conn{db: db}.queryRow(ctx, recipientQuery, strings.ToLower(address)).Scan(&r.MailboxID, &limit, &r.Used)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("address %s: %w", address, store.ErrNotFound)
	}
	r.ProhibitSendReceive, r.Used = limit.Int64, max(r.Used, 0)
	return r, err
}

// recipientQuery is Recipient's: the mailbox's ID and quota, and its size
// only when it has one (the sum reads every folder of the mailbox).
const recipientQuery = `SELECT m.id, m.prohibit_send_receive_quota,
	CASE WHEN m.prohibit_send_receive_quota IS NULL THEN 0
		ELSE (SELECT coalesce(sum(size), 0) FROM folders WHERE mailbox_id = m.id) END
	FROM mailboxes m WHERE m.id = (SELECT mailbox_id FROM mailbox_addresses WHERE address_lc = ?)`

// FindMailboxes implements store.Mail.
func (db *DB) FindMailboxes(ctx context.Context, identity string, limit int) ([]store.Mailbox, error) {
	return dirTx{conn{db: db}}.FindMailboxes(ctx, identity, limit)
}

// signInState is SignInState's query, made once (mailboxColumnsM is
// computed at start).
var signInState = `SELECT ` + mailboxColumnsM + `,
	o.name, o.domain, o.security_defaults_enabled, o.smtp_client_auth_disabled, o.when_changed, o.default_auth_policy_lc
	FROM mailboxes m CROSS JOIN org_config o WHERE m.id = ? AND o.id = 1`

// SignInState implements store.Mail.
func (db *DB) SignInState(ctx context.Context, mailboxID int64) (store.OrgConfig, store.Mailbox, error) {
	var o store.OrgConfig
	var changed int64
	m, err := scanMailbox(scanWith{conn{db: db}.queryRow(ctx, signInState, mailboxID),
		[]any{&o.Name, &o.Domain, &o.SecurityDefaultsEnabled, &o.SmtpClientAuthenticationDisabled, &changed, &o.DefaultAuthenticationPolicy}})
	if errors.Is(err, sql.ErrNoRows) {
		return o, m, fmt.Errorf("mailbox %d or the organization's configuration: %w", mailboxID, store.ErrNotFound)
	}
	o.WhenChanged = fromMicros(changed)
	return o, m, err
}

// scanWith scans a row whose first columns are what a scan function reads
// and whose last are extra.
type scanWith struct {
	row interface{ Scan(...any) error }
	// extra are the destinations of the columns after those.
	extra []any
}

func (s scanWith) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }
