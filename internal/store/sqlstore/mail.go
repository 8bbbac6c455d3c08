package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// ChunkSize is how much of a body one row holds. Small bodies (almost all
// mail) take one row; a 35 MB attachment streams in pieces this size.
const ChunkSize = 256 << 10

// rangesPerStatement bounds how many UID ranges go into one statement, well
// below both engines' parameter limits.
const rangesPerStatement = 200

const folderColumns = `id, mailbox_id, name, special_use, uid_validity, uid_next, highest_modseq, messages, unseen, size`

// scanFolder reads a folder row. The counters are read as signed numbers
// and clamped, so that a counter that went wrong (the database constraints
// and Repair exist so that it does not) can never make the folder
// unreadable: a read path must not be bricked by a bad counter.
func scanFolder(s interface{ Scan(...any) error }) (store.Folder, error) {
	var f store.Folder
	var messages, unseen int64
	err := s.Scan(&f.ID, &f.MailboxID, &f.Name, &f.SpecialUse, &f.UIDValidity, &f.UIDNext, &f.HighestModSeq,
		&messages, &unseen, &f.Size)
	f.Messages = uint32(min(max(messages, 0), 1<<32-1))
	f.Unseen = uint32(min(max(unseen, 0), int64(f.Messages)))
	f.Size = max(f.Size, 0)
	return f, err
}

func folderNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("folder %s: %w", what, store.ErrNotFound)
	}
	return err
}

func getFolder(ctx context.Context, c conn, folderID int64) (store.Folder, error) {
	f, err := scanFolder(c.queryRow(ctx, `SELECT `+folderColumns+` FROM folders WHERE id = ?`, folderID))
	return f, folderNotFound(err, fmt.Sprint(folderID))
}

// Folders implements store.Mail.
func (db *DB) Folders(ctx context.Context, mailboxID int64) ([]store.Folder, error) {
	rows, err := conn{db: db}.query(ctx, `SELECT `+folderColumns+` FROM folders WHERE mailbox_id = ? ORDER BY name`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Folder
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FolderByName implements store.Mail.
func (db *DB) FolderByName(ctx context.Context, mailboxID int64, name string) (store.Folder, error) {
	f, err := scanFolder(conn{db: db}.queryRow(ctx, `SELECT `+folderColumns+` FROM folders WHERE mailbox_id = ? AND name = ?`, mailboxID, name))
	return f, folderNotFound(err, name)
}

// FolderByID implements store.Mail.
func (db *DB) FolderByID(ctx context.Context, folderID int64) (store.Folder, error) {
	return getFolder(ctx, conn{db: db}, folderID)
}

func createFolder(ctx context.Context, c conn, mailboxID int64, name, specialUse string) (store.Folder, error) {
	// UIDVALIDITY is the time of creation, kept strictly increasing across
	// the store, so a folder deleted and created again in the same second
	// still gets a new value (RFC 9051 §2.3.1.1).
	var uv int64
	now := time.Now().Unix()
	if err := c.queryRow(ctx, `UPDATE uidvalidity_seq SET last = CASE WHEN last + 1 > ? THEN last + 1 ELSE ? END WHERE id = 1 RETURNING last`,
		now, now).Scan(&uv); err != nil {
		return store.Folder{}, fmt.Errorf("uidvalidity: %w", err)
	}
	f, err := scanFolder(c.queryRow(ctx, `INSERT INTO folders (mailbox_id, name, special_use, uid_validity) VALUES (?, ?, ?, ?)
		RETURNING `+folderColumns, mailboxID, name, specialUse, uint32(uv)))
	if err != nil {
		return f, c.db.uniqueErr(err, "folder "+name)
	}
	return f, nil
}

// CreateFolder implements store.Mail.
func (db *DB) CreateFolder(ctx context.Context, mailboxID int64, name, specialUse string) (store.Folder, error) {
	var f store.Folder
	err := db.write(ctx, nil, func(c conn) error {
		var err error
		f, err = createFolder(ctx, c, mailboxID, name, specialUse)
		return err
	})
	return f, err
}

// DeleteFolder implements store.Mail.
func (db *DB) DeleteFolder(ctx context.Context, folderID int64) error {
	return db.write(ctx, nil, func(c conn) error {
		if err := lockFolder(ctx, c, folderID); err != nil {
			return err
		}
		f, err := getFolder(ctx, c, folderID)
		if err != nil {
			return err
		}
		if f.Name == "INBOX" {
			return fmt.Errorf("delete INBOX: %w", store.ErrInvalid)
		}
		bodies, err := int64Column(ctx, c, `SELECT DISTINCT body_id FROM messages WHERE folder_id = ?`, folderID)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM messages WHERE folder_id = ?`, `DELETE FROM expunged WHERE folder_id = ?`, `DELETE FROM folders WHERE id = ?`} {
			if _, err := c.exec(ctx, q, folderID); err != nil {
				return err
			}
		}
		return markOrphanBodies(ctx, c, bodies)
	})
}

func int64Column(ctx context.Context, c conn, q string, args ...any) ([]int64, error) {
	return scanColumn[int64](c.query(ctx, q, args...))
}

// scanColumn returns the values of a one-column result.
func scanColumn[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// markOrphanBodies marks the given bodies as possibly unreferenced. They are
// not deleted here: a session that has not yet been told of an expunge may
// still be reading one (a FETCH streams bodies after it read the metadata,
// without a transaction), so SweepBodies deletes them only after a grace
// period, and only those that no message references by then. The marks
// live in body_orphans, not in the bodies' rows: writing a body's row
// writes the message again (migration 0019).
func markOrphanBodies(ctx context.Context, c conn, bodies []int64) error {
	now := micros(time.Now())
	if len(bodies) <= fewRows {
		for _, b := range bodies {
			if _, err := c.exec(ctx, markOrphan, b, now); err != nil {
				return fmt.Errorf("mark orphaned bodies: %w", err)
			}
		}
		return nil
	}
	for len(bodies) > 0 {
		n := min(len(bodies), 500)
		args := make([]any, 0, n+1)
		args = append(args, now)
		for _, b := range bodies[:n] {
			args = append(args, b)
		}
		// From bodies: each one once, and only those that exist, as
		// the single-row form (whose body a message references).
		if _, err := c.execDynamic(ctx, `INSERT INTO body_orphans (body_id, orphaned_at) SELECT id, ? FROM bodies WHERE id IN (`+placeholders(n)+`)
			ON CONFLICT (body_id) DO UPDATE SET orphaned_at = excluded.orphaned_at`, args...); err != nil {
			return fmt.Errorf("mark orphaned bodies: %w", err)
		}
		bodies = bodies[n:]
	}
	return nil
}

// markOrphan marks one body (its ID, then the time) as markOrphanBodies
// does; marked again, its time is the new one.
const markOrphan = `INSERT INTO body_orphans (body_id, orphaned_at) VALUES (?, ?)
	ON CONFLICT (body_id) DO UPDATE SET orphaned_at = excluded.orphaned_at`

// lockFolder takes the row lock of a folder before a write reads what it
// is going to change, so that two writers of one folder never both act on
// what they read before the other committed (PostgreSQL; SQLite has a
// single writer, which serializes every write already). A missing folder
// is ErrNotFound.
func lockFolder(ctx context.Context, c conn, folderID int64) error {
	if c.db.lockOne == "" {
		return nil
	}
	var id int64
	err := c.queryRow(ctx, c.db.lockOne, folderID).Scan(&id)
	return folderNotFound(err, fmt.Sprint(folderID))
}

// RenameFolder implements store.Mail.
func (db *DB) RenameFolder(ctx context.Context, mailboxID int64, oldName, newName string) error {
	if oldName == newName || strings.HasPrefix(newName, oldName+"/") {
		return fmt.Errorf("rename %s to %s: %w", oldName, newName, store.ErrInvalid)
	}
	return db.write(ctx, nil, func(c conn) error {
		var srcID int64
		if err := c.queryRow(ctx, `SELECT id FROM folders WHERE mailbox_id = ? AND name = ?`, mailboxID, oldName).Scan(&srcID); err != nil {
			return folderNotFound(err, oldName)
		}
		if err := lockFolder(ctx, c, srcID); err != nil {
			return err
		}
		// Read it again under the lock: another writer may have renamed or
		// filled it in the meantime.
		src, err := getFolder(ctx, c, srcID)
		if err != nil {
			return err
		}
		if src.Name != oldName {
			return fmt.Errorf("folder %s: %w", oldName, store.ErrNotFound)
		}
		var n int
		if err := c.queryRow(ctx, `SELECT count(*) FROM folders WHERE mailbox_id = ? AND name = ?`, mailboxID, newName).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("folder %s: %w", newName, store.ErrExists)
		}
		if oldName == "INBOX" {
			return renameInbox(ctx, c, src, newName)
		}
		// The folder and everything below it; its children keep their
		// relative names (RFC 9051 §6.3.6).
		cut := len(oldName) + 1
		if _, err := c.exec(ctx, `UPDATE folders SET name = ? || substr(name, ?) WHERE mailbox_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
			newName, cut, mailboxID, oldName, cut, oldName+"/"); err != nil {
			return db.uniqueErr(err, "folder "+newName)
		}
		if _, err := c.exec(ctx, `UPDATE subscriptions SET name = ? || substr(name, ?) WHERE mailbox_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
			newName, cut, mailboxID, oldName, cut, oldName+"/"); err != nil {
			return db.uniqueErr(err, "subscription "+newName)
		}
		return nil
	})
}

// renameInbox moves every message of INBOX into a new folder and leaves
// INBOX empty, with its inferiors untouched (RFC 9051 §6.3.6).
func renameInbox(ctx context.Context, c conn, inbox store.Folder, newName string) error {
	dst, err := createFolder(ctx, c, inbox.MailboxID, newName, "")
	if err != nil {
		return err
	}
	modseq, err := bumpModSeq(ctx, c, inbox.ID)
	if err != nil {
		return err
	}
	// The new folder has a new UIDVALIDITY, so the messages keep their UIDs.
	// Its UIDNEXT is set before they move in (a message's UID is always
	// below its folder's UIDNEXT), and its counters are those of the rows
	// that move, counted under the lock.
	var n, unseen, size int64
	if err := c.queryRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN flags & 1 = 0 THEN 1 ELSE 0 END), 0), coalesce(sum(size), 0)
		FROM messages WHERE folder_id = ?`, inbox.ID).Scan(&n, &unseen, &size); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `UPDATE folders SET uid_next = ?, first_recent_uid = ? WHERE id = ?`, inbox.UIDNext, inbox.UIDNext, dst.ID); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `INSERT INTO expunged (folder_id, uid, modseq) SELECT folder_id, uid, ? FROM messages WHERE folder_id = ?
		ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq`, modseq, inbox.ID); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `UPDATE messages SET folder_id = ?, modseq = 1 WHERE folder_id = ?`, dst.ID, inbox.ID); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `UPDATE folders SET messages = ?, unseen = ?, size = ? WHERE id = ?`, n, unseen, size, dst.ID); err != nil {
		return err
	}
	_, err = c.exec(ctx, `UPDATE folders SET messages = 0, unseen = 0, size = 0 WHERE id = ?`, inbox.ID)
	return err
}

// Subscriptions implements store.Mail.
func (db *DB) Subscriptions(ctx context.Context, mailboxID int64) ([]string, error) {
	rows, err := conn{db: db}.query(ctx, `SELECT name FROM subscriptions WHERE mailbox_id = ? ORDER BY name`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetSubscribed implements store.Mail.
func (db *DB) SetSubscribed(ctx context.Context, mailboxID int64, name string, subscribed bool) error {
	return db.write(ctx, nil, func(c conn) error {
		if subscribed {
			_, err := c.exec(ctx, `INSERT INTO subscriptions (mailbox_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING`, mailboxID, name)
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM subscriptions WHERE mailbox_id = ? AND name = ?`, mailboxID, name)
		return err
	})
}

func scanFlags(rows *sql.Rows) (store.MessageFlags, error) {
	var m store.MessageFlags
	var kw string
	err := rows.Scan(&m.UID, &m.ModSeq, &m.Flags, &kw)
	m.Keywords = splitKeywords(kw)
	return m, err
}

func collectFlags(rows *sql.Rows, err error) ([]store.MessageFlags, error) {
	return appendFlags(nil, rows, err)
}

// appendFlags is collectFlags appending to out.
func appendFlags(out []store.MessageFlags, rows *sql.Rows, err error) ([]store.MessageFlags, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanFlags(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// scanFunc adapts a pipelined query's scan function to scanFolder.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// folderQuery reads the folder row into f (found tells whether there was
// one) as a query of a read pipeline.
func folderQuery(folderID int64, f *store.Folder, found *bool) PipelineQuery {
	return PipelineQuery{
		SQL:  `SELECT ` + folderColumns + ` FROM folders WHERE id = ?`,
		Args: []any{folderID},
		Each: func(scan func(dest ...any) error) error {
			var err error
			*f, err = scanFolder(scanFunc(scan))
			*found = err == nil
			return err
		},
	}
}

// flagsQuery collects the rows of q (uid, modseq, flags, keywords) into
// out as a query of a read pipeline.
func flagsQuery(q string, out *[]store.MessageFlags, args ...any) PipelineQuery {
	return PipelineQuery{SQL: q, Args: args, Each: func(scan func(dest ...any) error) error {
		var m store.MessageFlags
		var kw string
		if err := scan(&m.UID, &m.ModSeq, &m.Flags, &kw); err != nil {
			return err
		}
		m.Keywords = splitKeywords(kw)
		*out = append(*out, m)
		return nil
	}}
}

// FolderIndex implements store.Mail.
func (db *DB) FolderIndex(ctx context.Context, folderID int64) (store.Folder, []store.MessageFlags, error) {
	var f store.Folder
	var msgs []store.MessageFlags
	if db.d.ReadPipeline != nil {
		// One round trip instead of four (BEGIN, folder, messages, end).
		var found bool
		err := db.d.ReadPipeline(ctx, db.r, []PipelineQuery{
			folderQuery(folderID, &f, &found),
			flagsQuery(`SELECT uid, modseq, flags, keywords FROM messages WHERE folder_id = ? ORDER BY uid`, &msgs, folderID),
		})
		if err == nil && !found {
			err = folderNotFound(sql.ErrNoRows, fmt.Sprint(folderID))
		}
		if err != nil {
			return store.Folder{}, nil, err
		}
		return f, msgs, nil
	}
	err := db.read(ctx, func(c conn) error {
		var err error
		if f, err = getFolder(ctx, c, folderID); err != nil {
			return err
		}
		rows, err := c.query(ctx, `SELECT uid, modseq, flags, keywords FROM messages WHERE folder_id = ? ORDER BY uid`, folderID)
		// Sized by the folder's count, read in the same transaction: a
		// 1,000,000-message index is not grown by doubling (0.7 s of
		// copying in a profile of a cold SELECT).
		msgs = make([]store.MessageFlags, 0, f.Messages)
		msgs, err = appendFlags(msgs, rows, err)
		return err
	})
	return f, msgs, err
}

// Changes implements store.Mail.
func (db *DB) Changes(ctx context.Context, folderID int64, since uint64) (store.Folder, []store.MessageFlags, []uint32, error) {
	var f store.Folder
	var changed []store.MessageFlags
	var expunged []uint32
	if db.d.ReadPipeline != nil {
		// One round trip instead of five.
		var p changesPoll
		err := p.finish(db.d.ReadPipeline(ctx, db.r, p.queries(folderID, since)))
		return p.out.Folder, p.out.Changed, p.out.Expunged, err
	}
	err := db.read(ctx, func(c conn) error {
		var err error
		if f, err = getFolder(ctx, c, folderID); err != nil {
			return err
		}
		if f.HighestModSeq <= since {
			return nil
		}
		// No ORDER BY: with it, SQLite prefers walking the folder's
		// whole messages_flags index in UID order over the messages_modseq
		// range, which made every IDLE wake-up in a 100,000-message
		// folder read all of them. The few changed rows are sorted here.
		changed, err = collectFlags(c.query(ctx, `SELECT uid, modseq, flags, keywords FROM messages WHERE folder_id = ? AND modseq > ?`, folderID, since))
		if err != nil {
			return err
		}
		slices.SortFunc(changed, func(a, b store.MessageFlags) int { return cmp.Compare(a.UID, b.UID) })
		expunged, err = scanColumn[uint32](c.query(ctx, `SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid`, folderID, since))
		return err
	})
	return f, changed, expunged, err
}

// changesPoll is Changes as queries of a pipeline: a read pipeline's, or
// those that a write's pipeline runs after its commit (pollAfter).
type changesPoll struct {
	folderID int64
	out      store.FolderChanges
	found    bool
}

// queries returns the queries of the poll, its result reset. The two
// queries of changes are sent whether or not the folder's MODSEQ passed
// since: they find nothing then (no row's MODSEQ is above the folder's),
// and asking costs no round trip of its own.
func (p *changesPoll) queries(folderID int64, since uint64) []PipelineQuery {
	*p = changesPoll{folderID: folderID}
	return []PipelineQuery{
		folderQuery(folderID, &p.out.Folder, &p.found),
		flagsQuery(`SELECT uid, modseq, flags, keywords FROM messages WHERE folder_id = ? AND modseq > ?`, &p.out.Changed, folderID, since),
		{SQL: `SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid`, Args: []any{folderID, since},
			Each: func(scan func(dest ...any) error) error {
				var uid uint32
				err := scan(&uid)
				p.out.Expunged = append(p.out.Expunged, uid)
				return err
			}},
	}
}

// finish completes the poll once its queries ran with error err.
func (p *changesPoll) finish(err error) error {
	if err == nil && !p.found {
		err = folderNotFound(sql.ErrNoRows, fmt.Sprint(p.folderID))
	}
	if err != nil {
		p.out = store.FolderChanges{}
		return err
	}
	slices.SortFunc(p.out.Changed, func(a, b store.MessageFlags) int { return cmp.Compare(a.UID, b.UID) })
	return nil
}

// query runs q, whose WHERE includes the clause: prepared when the clause
// is of the fixed form, as text otherwise.
func (cl uidClause) query(ctx context.Context, c conn, q string, args ...any) (*sql.Rows, error) {
	if cl.fixed {
		return c.query(ctx, q, args...)
	}
	return c.queryDynamic(ctx, q, args...)
}

// uidClause is a WHERE fragment selecting UID ranges. A single range is
// always written "col BETWEEN ? AND ?", a fixed text that is prepared once
// and reused (most commands address one range or one message).
type uidClause struct {
	sql   string
	args  []any
	fixed bool
}

// uidClauses splits ranges into WHERE fragments of bounded size.
func uidClauses(col string, ranges []store.UIDRange) []uidClause {
	if len(ranges) == 1 {
		lo, hi := ranges[0].Start, ranges[0].Stop
		if lo > hi {
			lo, hi = hi, lo
		}
		return []uidClause{{sql: col + " BETWEEN ? AND ?", args: []any{lo, hi}, fixed: true}}
	}
	var out []uidClause
	for len(ranges) > 0 {
		n := min(len(ranges), rangesPerStatement)
		var parts []string
		var args []any
		for _, r := range ranges[:n] {
			lo, hi := r.Start, r.Stop
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo == hi {
				parts = append(parts, col+" = ?")
				args = append(args, lo)
			} else {
				parts = append(parts, col+" BETWEEN ? AND ?")
				args = append(args, lo, hi)
			}
		}
		out = append(out, uidClause{sql: "(" + strings.Join(parts, " OR ") + ")", args: args})
		ranges = ranges[n:]
	}
	return out
}

// Messages implements store.Mail.
func (db *DB) Messages(ctx context.Context, folderID int64, uids []store.UIDRange, want store.MetaFields, fn func(store.MessageMeta) error) error {
	cols := `m.id, m.folder_id, m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, m.body_id, m.save_date, m.has_binary`
	from := ` FROM messages m`
	prefix := 0
	switch {
	case want&store.MetaBodyPrefix != 0:
		prefix = store.BodyPrefixSize
	case want&store.MetaHeadPrefix != 0:
		prefix = store.HeadPrefixSize
	}
	if prefix > 0 {
		from += ` JOIN bodies bd ON bd.id = m.body_id`
		cols += fmt.Sprintf(`, substr(bd.data, 1, %d)`, prefix)
	}
	if want&(store.MetaSummary|store.MetaStructure) != 0 {
		if want&store.MetaSummary != 0 {
			from += ` JOIN body_summaries b ON b.body_id = m.body_id`
			cols += `, b.subject, b.from_addr, b.to_addr, b.cc_addr, b.sent_date`
		}
		if want&store.MetaStructure != 0 {
			from += ` JOIN body_structures t ON t.body_id = m.body_id`
			cols += `, t.structure`
		}
	}
	if want&store.MetaPreview != 0 {
		from += ` LEFT JOIN body_previews pv ON pv.body_id = m.body_id`
		cols += `, pv.preview`
	}
	// Each batch is one statement (atomic by itself, no explicit
	// transaction needed), and rows are handed to fn only after the batch
	// is read, so that fn may write to a slow client without holding a read
	// snapshot open.
	for _, cl := range uidClauses("m.uid", uids) {
		var batch []store.MessageMeta
		err := func() error {
			c := conn{db: db}
			q := `SELECT ` + cols + from + ` WHERE m.folder_id = ` + db.folderParam() + ` AND ` + cl.sql + ` ORDER BY m.uid`
			args := append([]any{folderID}, cl.args...)
			rows, err := cl.query(ctx, c, q, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var m store.MessageMeta
				var kw string
				var idate, sent, saved int64
				dest := []any{&m.ID, &m.FolderID, &m.UID, &m.ModSeq, &m.Flags, &kw, &idate, &m.Size, &m.BodyID, &saved, &m.HasBinary}
				if prefix > 0 {
					dest = append(dest, &m.BodyPrefix)
				}
				if want&store.MetaSummary != 0 {
					dest = append(dest, &m.Subject, &m.From, &m.To, &m.Cc, &sent)
				}
				if want&store.MetaStructure != 0 {
					dest = append(dest, &m.Structure)
				}
				var preview sql.NullString
				if want&store.MetaPreview != 0 {
					dest = append(dest, &preview)
				}
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				m.Preview, m.HasPreview = preview.String, preview.Valid
				m.Keywords = splitKeywords(kw)
				m.InternalDate = fromMicros(idate)
				m.SaveDate = fromMicros(saved)
				m.SentDate = fromMicros(sent)
				batch = append(batch, m)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		for _, m := range batch {
			if err := fn(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// asciiLower folds ASCII letters only, as SQLite's lower() does, so that
// both sides of the comparison fold alike on both engines.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ReadBody implements store.Mail. The common case, a read within the first
// chunk (all of most messages), is one query that returns the size too.
func (db *DB) ReadBody(ctx context.Context, bodyID int64, off int64, p []byte) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read body %d: negative offset", bodyID)
	}
	// Held from before the first query: a read that more reads of the
	// body follow (a literal streamed chunk by chunk) keeps it from the
	// sweep (readHolds).
	seq, err := db.holds.note(ctx, bodyID)
	if err != nil {
		return 0, fmt.Errorf("read body %d: %w", bodyID, err)
	}
	c := conn{db: db, body: true}
	var size int64
	var data []byte
	first := min(int64(len(p)), max(ChunkSize-off, 0))
	if err := c.queryRow(ctx, `SELECT size, substr(data, ?, ?) FROM bodies WHERE id = ?`, off+1, first, bodyID).Scan(&size, &data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("body %d: %w", bodyID, store.ErrNotFound)
		}
		return 0, err
	}
	if off >= size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), size-off)
	n := copy(p, data[:min(int64(len(data)), want)])
	for int64(n) < want {
		pos := off + int64(n)
		chunk, in := pos/ChunkSize, pos%ChunkSize
		length := min(want-int64(n), ChunkSize-in)
		if err := c.queryRow(ctx, `SELECT substr(data, ?, ?) FROM body_chunks WHERE body_id = ? AND n = ?`, in+1, length, bodyID, chunk).Scan(&data); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				// Swept since the first query by another node (this
				// one's sweep waits for the hold): the body is gone, as
				// it would be for a read that came a moment later.
				return n, fmt.Errorf("body %d chunk %d: %w", bodyID, chunk, store.ErrNotFound)
			}
			return n, fmt.Errorf("read body %d chunk %d: %w", bodyID, chunk, err)
		}
		if len(data) == 0 {
			return n, fmt.Errorf("read body %d: chunk %d shorter than its size says", bodyID, chunk)
		}
		n += copy(p[n:], data)
	}
	if off == 0 && int64(n) >= size {
		// The whole body in one call: no read of it follows.
		db.holds.release(bodyID, seq)
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// ReadBodyHeads implements store.Mail. A POP3 download asks for a batch of
// bodies at a time (pop3adapter's read-ahead), and one query for them
// costs one read transaction instead of one each. Each body's octets are
// copied once, from the driver's row into the caller's buffer: on the
// dialect's own path (Dialect.ReadBodyHeads), or through sql.RawBytes,
// which database/sql hands over without a copy of its own. Without the
// dialect's path the query has one placeholder per body, so that each
// batch size is one cached statement.
func (db *DB) ReadBodyHeads(ctx context.Context, bodyIDs []int64, heads [][]byte) ([]int, error) {
	if len(bodyIDs) != len(heads) {
		return nil, fmt.Errorf("read body heads: %d bodies but %d buffers", len(bodyIDs), len(heads))
	}
	n := make([]int, len(bodyIDs))
	if len(bodyIDs) == 0 {
		return n, nil
	}
	longest := 0
	for _, h := range heads {
		longest = max(longest, len(h))
	}
	longest = min(longest, ChunkSize)
	seq, err := db.holds.note(ctx, bodyIDs...)
	if err != nil {
		return nil, fmt.Errorf("read %d body heads: %w", len(bodyIDs), err)
	}
	head := func(id int64, data []byte) {
		// The same body may be asked for twice (two messages, one body).
		for i, want := range bodyIDs {
			if want == id {
				n[i] = copy(heads[i], data)
				// Shorter than asked for: the first chunk, so the whole
				// body, is in the head and nothing more of it is read.
				if len(data) < longest && len(data) <= len(heads[i]) {
					db.holds.release(id, seq)
				}
			}
		}
	}
	if db.d.ReadBodyHeads != nil {
		if err := db.d.ReadBodyHeads(ctx, db.rb, bodyIDs, longest, head); err != nil {
			return nil, fmt.Errorf("read %d body heads: %w", len(bodyIDs), err)
		}
		return n, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT id, substr(data, 1, ?) FROM bodies WHERE id IN (?`)
	q.WriteString(strings.Repeat(`, ?`, len(bodyIDs)-1))
	q.WriteString(`)`)
	args := make([]any, 0, len(bodyIDs)+1)
	args = append(args, longest)
	for _, id := range bodyIDs {
		args = append(args, id)
	}
	rows, err := conn{db: db, body: true}.query(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("read %d body heads: %w", len(bodyIDs), err)
	}
	defer rows.Close()
	var id int64
	var data sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("read body heads: %w", err)
		}
		head(id, data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read body heads: %w", err)
	}
	return n, nil
}

// insertBody stores a body and returns its ID.
func insertBody(ctx context.Context, c conn, msg *store.NewMessage) (int64, error) {
	raw := msg.Raw
	first := raw
	if len(first) > ChunkSize {
		first = first[:ChunkSize]
	}
	var id int64
	if err := c.queryRow(ctx, `INSERT INTO bodies (size, data) VALUES (?, ?) RETURNING id`, len(raw), first).Scan(&id); err != nil {
		return 0, fmt.Errorf("insert body: %w", err)
	}
	if _, err := c.exec(ctx, `INSERT INTO body_summaries (body_id, subject, from_addr, to_addr, cc_addr, sent_date) VALUES (?, ?, ?, ?, ?, ?)`,
		id, msg.Subject, msg.From, msg.To, msg.Cc, micros(msg.SentDate)); err != nil {
		return 0, fmt.Errorf("insert body summary: %w", err)
	}
	if _, err := c.exec(ctx, `INSERT INTO body_structures (body_id, structure) VALUES (?, ?)`, id, nonNilBytes(msg.Structure)); err != nil {
		return 0, fmt.Errorf("insert body structure: %w", err)
	}
	if msg.HasPreview {
		if _, err := c.exec(ctx, `INSERT INTO body_previews (body_id, preview) VALUES (?, ?)`, id, msg.Preview); err != nil {
			return 0, fmt.Errorf("insert body preview: %w", err)
		}
	}
	for n := int64(1); n*ChunkSize < int64(len(raw)); n++ {
		end := min((n+1)*ChunkSize, int64(len(raw)))
		if _, err := c.exec(ctx, `INSERT INTO body_chunks (body_id, n, data) VALUES (?, ?, ?)`, id, n, raw[n*ChunkSize:end]); err != nil {
			return 0, fmt.Errorf("insert body chunk: %w", err)
		}
	}
	return id, nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func unseenDelta(f store.Flags) int {
	if f&store.FlagSeen == 0 {
		return 1
	}
	return 0
}

// addMessage takes the next UID of a folder and inserts one message.
// where selects the folder row ("id = ?" or "mailbox_id = ? AND name = 'INBOX'").
func addMessage(ctx context.Context, c conn, where string, key any, bodyID int64, msg *store.NewMessage) (folderID int64, uidValidity, uid uint32, modseq uint64, err error) {
	size := int64(len(msg.Raw))
	err = c.queryRow(ctx, `UPDATE folders SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
		messages = messages + 1, unseen = unseen + ?, size = size + ? WHERE `+where+`
		RETURNING id, uid_validity, uid_next - 1, highest_modseq`, unseenDelta(msg.Flags), size, key).
		Scan(&folderID, &uidValidity, &uid, &modseq)
	if err != nil {
		return 0, 0, 0, 0, folderNotFound(err, fmt.Sprint(key))
	}
	idate := msg.InternalDate
	if idate.IsZero() {
		idate = time.Now()
	}
	_, err = c.exec(ctx, `INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, folderID, uid, modseq, msg.Flags, joinKeywords(msg.Keywords), micros(idate), size, bodyID,
		micros(time.Now()), msg.HasBinary)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("insert message: %w", err)
	}
	return folderID, uidValidity, uid, modseq, nil
}

// Append implements store.Mail.
func (db *DB) Append(ctx context.Context, folderID int64, msg store.NewMessage) (uidValidity, uid uint32, err error) {
	return db.appendOne(ctx, folderID, &msg, nil, nil)
}

// AppendClaimingRecent implements store.Mail. With a durable pipeline
// that reads after its commit (PostgreSQL), the changes since since come
// with the APPEND's round trip; should only their read fail, the APPEND
// stands and the caller asks Changes itself.
func (db *DB) AppendClaimingRecent(ctx context.Context, folderID int64, msg store.NewMessage, since uint64) (store.RecentAppend, error) {
	var claim recentClaim
	var poll *pollAfter
	if db.d.DurablePipelineRead != nil {
		poll = &pollAfter{since: since}
	}
	var r store.RecentAppend
	var err error
	r.UIDValidity, r.UID, err = db.appendOne(ctx, folderID, &msg, &claim, poll)
	if err != nil {
		return store.RecentAppend{}, err
	}
	r.First, r.Next = min(claim.first, claim.next), claim.next
	r.Changes = poll.result()
	return r, nil
}

// pollAfter asks a write's pipeline for the changes since since, read
// after its commit (an APPEND's, an EXPUNGE's); read says they were.
type pollAfter struct {
	since   uint64
	changes changesPoll
	read    bool
}

// run runs a write that sends the poll's queries after its commit
// (Dialect.PipelineRead, DurablePipelineRead), again after a
// serialization failure or a deadlock, with start called before each try.
// A failure of the reads only is not the write's: read stays false.
func (p *pollAfter) run(ctx context.Context, db *DB, folderID int64, start func(), write func(reads []PipelineQuery) (readErr, err error)) error {
	var reads []PipelineQuery
	var readErr error
	err := db.retryPipeline(ctx, func() {
		if start != nil {
			start()
		}
		reads = p.changes.queries(folderID, p.since)
	}, func() error {
		var err error
		readErr, err = write(reads)
		return err
	})
	if err == nil {
		p.read = p.changes.finish(readErr) == nil
	}
	return err
}

// result returns what the poll read, nil when it read nothing.
func (p *pollAfter) result() *store.FolderChanges {
	if p == nil || !p.read {
		return nil
	}
	return &p.changes.out
}

// recentClaim is the range of UIDs an APPEND claimed as \Recent.
type recentClaim struct{ first, next uint32 }

// appendOne is Append, claiming \Recent in the same transaction when
// claim is not nil and reading changes after the commit when poll is not
// nil (AppendClaimingRecent).
func (db *DB) appendOne(ctx context.Context, folderID int64, msg *store.NewMessage, claim *recentClaim, poll *pollAfter) (uidValidity, uid uint32, err error) {
	if db.d.DurablePipeline != nil && db.writes == nil && (claim == nil || db.d.ClaimRecent != "") {
		return db.appendPipelined(ctx, folderID, msg, claim, poll)
	}
	err = db.write(ctx, nil, func(c conn) error {
		var err error
		uidValidity, uid, err = appendMessage(ctx, c, folderID, msg)
		if err == nil && claim != nil {
			*claim, err = claimRecent(ctx, c, folderID)
		}
		return err
	})
	return uidValidity, uid, err
}

// appendPipelined is Append as one durable pipeline
// (Dialect.DurablePipeline), as deliverPipelined is Deliver: the
// statements of appendMessage and the commit sent at once, one round trip
// against nine. The quota check locks the folder's mailbox when it has a
// quota and, under the lock, refuses the commit in SQL when the message
// would take the mailbox beyond it (quotaLimits.refusal); folderGone
// refuses it when the folder is gone.
func (db *DB) appendPipelined(ctx context.Context, folderID int64, msg *store.NewMessage, claim *recentClaim, poll *pollAfter) (uidValidity, uid uint32, err error) {
	size := int64(len(msg.Raw))
	var limits quotaLimits
	qs := []PipelineQuery{
		{SQL: lockFolderQuota,
			Args: []any{folderID}, Each: func(func(...any) error) error { return nil }},
	}
	qs = append(qs, limits.refusal(folderQuotaCheck, size, folderID)...)
	qs = append(qs, bodyPipeline(msg)...)
	idate := msg.InternalDate
	if idate.IsZero() {
		idate = time.Now()
	}
	qs = append(qs,
		PipelineQuery{SQL: `UPDATE folders SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
			messages = messages + 1, unseen = unseen + ?, size = size + ? WHERE id = ?
			RETURNING uid_validity, uid_next - 1`, Args: []any{unseenDelta(msg.Flags), size, folderID},
			Row: []any{&uidValidity, &uid}},
		PipelineQuery{SQL: `INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
			SELECT id, uid_next - 1, highest_modseq, ?, ?, ?, ?, ` + pipelinedBodyID + `, ?, ? FROM folders WHERE id = ?`,
			Args: []any{int64(msg.Flags), joinKeywords(msg.Keywords), micros(idate), size, micros(time.Now()), msg.HasBinary, folderID}},
		refuseGone(folderIDGone, folderID),
	)
	if claim != nil {
		// The folder row is this transaction's, locked by the update
		// above: the claim sees the new message's UIDNEXT.
		qs = append(qs, PipelineQuery{SQL: db.d.ClaimRecent, Args: []any{folderID, folderID}, Row: []any{&claim.first, &claim.next}})
	}
	if poll == nil || db.d.DurablePipelineRead == nil {
		if err := db.durablePipeline(ctx, qs, limits.reset); err != nil {
			return 0, 0, db.addErr(limits.refused(err, size, fmt.Sprint(folderID)), fmt.Sprint(folderID))
		}
		return uidValidity, uid, nil
	}
	err = poll.run(ctx, db, folderID, limits.reset, func(reads []PipelineQuery) (error, error) {
		return db.d.DurablePipelineRead(ctx, db.w, qs, reads)
	})
	if err != nil {
		return 0, 0, db.addErr(limits.refused(err, size, fmt.Sprint(folderID)), fmt.Sprint(folderID))
	}
	return uidValidity, uid, nil
}

// AppendMany implements store.Mail: each message goes in as Append puts
// one, all of them in one transaction, so a failure at any message leaves
// the folder as it was (UIDNEXT and counters included).
func (db *DB) AppendMany(ctx context.Context, folderID int64, msgs []store.NewMessage) (uidValidity uint32, uids []uint32, err error) {
	if len(msgs) == 0 {
		return 0, nil, fmt.Errorf("append no messages: %w", store.ErrInvalid)
	}
	err = db.write(ctx, nil, func(c conn) error {
		uids = uids[:0]
		for i := range msgs {
			if len(msgs[i].Raw) == 0 {
				return fmt.Errorf("append message %d of %d: empty: %w", i+1, len(msgs), store.ErrInvalid)
			}
			var uid uint32
			uidValidity, uid, err = appendMessage(ctx, c, folderID, &msgs[i])
			if err != nil {
				return fmt.Errorf("append message %d of %d: %w", i+1, len(msgs), err)
			}
			uids = append(uids, uid)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return uidValidity, uids, nil
}

// appendMessage is one APPEND inside a write transaction: the quota check,
// the body, the message.
func appendMessage(ctx context.Context, c conn, folderID int64, msg *store.NewMessage) (uidValidity, uid uint32, err error) {
	if err := reserveFolderQuota(ctx, c, folderID, int64(len(msg.Raw))); err != nil {
		return 0, 0, err
	}
	bodyID, err := insertBody(ctx, c, msg)
	if err != nil {
		return 0, 0, err
	}
	_, uidValidity, uid, _, err = addMessage(ctx, c, "id = ?", folderID, bodyID, msg)
	return uidValidity, uid, err
}

func deliver(ctx context.Context, c conn, mailboxIDs []int64, msg *store.NewMessage) ([]store.Delivered, error) {
	if err := reserveQuota(ctx, c, mailboxIDs, int64(len(msg.Raw))); err != nil {
		return nil, err
	}
	bodyID, err := insertBody(ctx, c, msg)
	if err != nil {
		return nil, err
	}
	out := make([]store.Delivered, 0, len(mailboxIDs))
	for _, mb := range mailboxIDs {
		folderID, _, uid, modseq, err := addMessage(ctx, c, "mailbox_id = ? AND name = 'INBOX'", mb, bodyID, msg)
		if err != nil {
			return nil, fmt.Errorf("deliver to mailbox %d: %w", mb, err)
		}
		out = append(out, store.Delivered{MailboxID: mb, FolderID: folderID, UID: uid, ModSeq: modseq})
	}
	return out, nil
}

// bumpModSeq takes a new MODSEQ for a folder; on PostgreSQL it also locks
// the folder row until the transaction ends.
func bumpModSeq(ctx context.Context, c conn, folderID int64) (uint64, error) {
	var m uint64
	err := c.queryRow(ctx, `UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq`, folderID).Scan(&m)
	return m, folderNotFound(err, fmt.Sprint(folderID))
}

// StoreFlags implements store.Mail.
func (db *DB) StoreFlags(ctx context.Context, folderID int64, u store.FlagUpdate) ([]store.MessageFlags, []uint32, error) {
	var changed []store.MessageFlags
	var refused []uint32
	kw := normalizeKeywords(u.Keywords)
	if len(kw) == 0 && db.d.Pipeline != nil && db.writes == nil {
		if clauses := uidClauses("uid", u.UIDs); len(clauses) <= maxPipelinedClauses {
			return db.storeFlagsPipelined(ctx, folderID, u, clauses)
		}
		if flagsOnly(u) {
			// More UID ranges than one pipeline takes: two round trips.
			changed, err := db.storeFlagBitsPipelined(ctx, folderID, u)
			if errors.Is(err, errNoChange) {
				err = nil
			}
			return changed, nil, err
		}
	}
	if flagsOnly(u) {
		err := db.writeRelaxed(ctx, func(c conn) error {
			var err error
			changed, err = storeFlagBits(ctx, c, folderID, u)
			return err
		})
		if errors.Is(err, errNoChange) {
			err = nil
		}
		return changed, nil, err
	}
	err := db.writeRelaxed(ctx, func(c conn) error {
		changed, refused = nil, nil
		// Take the new MODSEQ first: on PostgreSQL that locks the folder
		// row before the flags the update is computed from are read (two
		// STOREs that both read first would lose one change and miscount
		// unseen), in one statement rather than a lock and then an
		// update. A STORE that changes nothing rolls it back (errNoChange).
		modseq, err := bumpModSeq(ctx, c, folderID)
		if err != nil {
			return err
		}
		var current []store.MessageFlags
		for _, cl := range uidClauses("uid", u.UIDs) {
			part, err := collectFlags(cl.query(ctx, c, `SELECT uid, modseq, flags, keywords FROM messages WHERE folder_id = ? AND `+cl.sql+` ORDER BY uid`,
				append([]any{folderID}, cl.args...)...))
			if err != nil {
				return err
			}
			current = append(current, part...)
		}
		type state struct {
			flags store.Flags
			kw    string
		}
		groups := map[state][]uint32{}
		unseen := 0
		for _, m := range current {
			if u.UnchangedSince != 0 && m.ModSeq > u.UnchangedSince {
				refused = append(refused, m.UID)
				continue
			}
			nf, nk := applyFlags(m, u.Op, u.Flags, kw)
			oldKw := joinKeywords(m.Keywords)
			if nf == m.Flags && nk == oldKw {
				continue
			}
			unseen += unseenDelta(nf) - unseenDelta(m.Flags)
			s := state{nf, nk}
			groups[s] = append(groups[s], m.UID)
			changed = append(changed, store.MessageFlags{UID: m.UID, Flags: nf, Keywords: splitKeywords(nk)})
		}
		if len(changed) == 0 {
			return errNoChange
		}
		for s, uids := range groups {
			if len(uids) <= fewRows {
				for _, uid := range uids {
					if _, err := c.exec(ctx, `UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE folder_id = ? AND uid = ?`,
						s.flags, s.kw, modseq, folderID, uid); err != nil {
						return err
					}
				}
				continue
			}
			for len(uids) > 0 {
				n := min(len(uids), 500)
				args := []any{s.flags, s.kw, modseq, folderID}
				for _, x := range uids[:n] {
					args = append(args, x)
				}
				if _, err := c.execDynamic(ctx, `UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE folder_id = ? AND uid IN (`+placeholders(n)+`)`, args...); err != nil {
					return err
				}
				uids = uids[n:]
			}
		}
		for i := range changed {
			changed[i].ModSeq = modseq
		}
		if unseen != 0 {
			if _, err := c.exec(ctx, `UPDATE folders SET unseen = unseen + ? WHERE id = ?`, unseen, folderID); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return changed, refused, err
}

// flagsOnly reports a STORE that StoreFlags can make with one UPDATE per
// range: it adds or removes system flags other than \Seen, without
// keywords or UNCHANGEDSINCE (\Flagged, \Deleted, \Answered: most of
// what clients store besides \Seen). The new flags are then a function of
// the old ones the database can compute, and the folder's unseen count
// cannot change.
func flagsOnly(u store.FlagUpdate) bool {
	return (u.Op == store.FlagsAdd || u.Op == store.FlagsRemove) && len(u.Keywords) == 0 &&
		u.UnchangedSince == 0 && u.Flags&store.FlagSeen == 0 && u.Flags != 0
}

// storeFlagBits makes a flagsOnly update: the new MODSEQ (which locks the
// folder on PostgreSQL), then one UPDATE per range of the rows whose flags
// it changes, returning them. Two statements instead of a read, an update
// per group of messages and a lock: on PostgreSQL each is a round trip.
func storeFlagBits(ctx context.Context, c conn, folderID int64, u store.FlagUpdate) ([]store.MessageFlags, error) {
	modseq, err := bumpModSeq(ctx, c, folderID)
	if err != nil {
		return nil, err
	}
	// new = (old | set) & keep
	set, keep := int64(u.Flags), int64(-1)
	if u.Op == store.FlagsRemove {
		set, keep = 0, ^int64(u.Flags)
	}
	var changed []store.MessageFlags
	for _, cl := range uidClauses("uid", u.UIDs) {
		rows, err := cl.query(ctx, c, `UPDATE messages SET flags = (flags | ?) & ?, modseq = ?
			WHERE folder_id = ? AND `+cl.sql+` AND (flags | ?) & ? <> flags RETURNING uid, flags, keywords`,
			append([]any{set, keep, modseq, folderID}, append(append([]any(nil), cl.args...), set, keep)...)...)
		if err != nil {
			return nil, fmt.Errorf("store flags: %w", err)
		}
		for rows.Next() {
			var m store.MessageFlags
			var kw string
			if err := rows.Scan(&m.UID, &m.Flags, &kw); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store flags: %w", err)
			}
			m.Keywords, m.ModSeq = splitKeywords(kw), modseq
			changed = append(changed, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store flags: %w", err)
		}
	}
	if len(changed) == 0 {
		return nil, errNoChange
	}
	slices.SortFunc(changed, func(a, b store.MessageFlags) int { return cmp.Compare(a.UID, b.UID) })
	return changed, nil
}

// storeFlagBitsPipelined is storeFlagBits as one pipelined transaction
// on the relaxed pool (Dialect.Pipeline): the MODSEQ, which locks the
// folder row, and the UPDATE of each range, which reads the new MODSEQ
// from that row (its own transaction's write), sent at once; then COMMIT,
// or ROLLBACK when no row changed. Two round trips instead of four. It
// serves the STOREs of more UID ranges than storeFlagsPipelined takes;
// the others go there, in one round trip (docs/performance.md, changes 25
// and 51: that measured no faster in change 25's round, and faster since
// new mail no longer holds the folder's lock until its commit is on disk).
func (db *DB) storeFlagBitsPipelined(ctx context.Context, folderID int64, u store.FlagUpdate) ([]store.MessageFlags, error) {
	set, keep := int64(u.Flags), int64(-1)
	if u.Op == store.FlagsRemove {
		set, keep = 0, ^int64(u.Flags)
	}
	var modseq uint64
	var changed []store.MessageFlags
	qs := []PipelineQuery{{SQL: `UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq`,
		Args: []any{folderID}, Row: []any{&modseq}}}
	for _, cl := range uidClauses("uid", u.UIDs) {
		qs = append(qs, PipelineQuery{SQL: `UPDATE messages SET flags = (flags | ?) & ?, modseq = ` + changeModSeq + `
			WHERE folder_id = ? AND ` + cl.sql + ` AND (flags | ?) & ? <> flags RETURNING uid, flags, keywords`,
			Args: append([]any{set, keep, folderID, folderID}, append(append([]any(nil), cl.args...), set, keep)...),
			Each: func(scan func(dest ...any) error) error {
				var m store.MessageFlags
				var kw string
				if err := scan(&m.UID, &m.Flags, &kw); err != nil {
					return err
				}
				m.Keywords = splitKeywords(kw)
				changed = append(changed, m)
				return nil
			}})
	}
	check := func() error {
		if len(changed) == 0 {
			return errNoChange
		}
		return nil
	}
	err := db.pipeline(ctx, db.relaxedPool(), qs, func() { changed = changed[:0] }, check)
	if err != nil {
		if errors.Is(err, errNoChange) {
			return nil, err
		}
		return nil, db.storageErr(folderNotFound(err, fmt.Sprint(folderID)))
	}
	for i := range changed {
		changed[i].ModSeq = modseq
	}
	slices.SortFunc(changed, func(a, b store.MessageFlags) int { return cmp.Compare(a.UID, b.UID) })
	return changed, nil
}

// maxPipelinedClauses bounds the UID clauses (uidClauses) of a STORE or
// EXPUNGE sent as one pipeline; beyond (thousands of ranges), the
// transaction goes statement by statement.
const maxPipelinedClauses = 8

// relaxedPool is the pool of writes that writeRelaxed would make.
func (db *DB) relaxedPool() *sql.DB {
	if db.wr != nil {
		return db.wr
	}
	return db.w
}

// lockedChange returns the first two statements of a pipelined change of
// a folder (READ COMMITTED: each statement reads what was committed when
// it starts). The first locks the folder row, so that what the statements
// after it read is what they change: every writer of a folder's messages
// holds that lock. The second takes the folder's next MODSEQ only when a
// message that the statements after it change exists (where, a condition
// on messages with its args, once per clause): a change that finds
// nothing spends no MODSEQ, with no round trip to decide it. Those
// statements name the MODSEQ as changeModSeq.
func (db *DB) lockedChange(folderID int64, where []string, args []any) []PipelineQuery {
	var id int64
	exists := make([]string, len(where))
	for i, w := range where {
		exists[i] = `EXISTS (SELECT 1 FROM messages WHERE folder_id = ? AND ` + w + `)`
	}
	return []PipelineQuery{
		{SQL: db.lockOne, Args: []any{folderID}, Row: []any{&id}},
		{SQL: `UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = ? AND (` + strings.Join(exists, " OR ") + `)`,
			Args: append([]any{folderID}, args...)},
	}
}

// changeModSeq is, in the statements after lockedChange's, the MODSEQ it took.
const changeModSeq = `(SELECT highest_modseq FROM folders WHERE id = ?)`

// storeFlagsPipelined makes a STORE without keywords (flags added,
// removed or replaced, \Seen among them or not, UNCHANGEDSINCE) as one
// pipelined transaction on the relaxed pool, sent with its COMMIT:
// one round trip against five or more. After lockedChange's two statements come, with UNCHANGEDSINCE,
// the UIDs it refuses (RFC 7162 §3.1.3: those whose MODSEQ is beyond it),
// then per clause the UPDATE of the messages that change, which returns
// them with their new MODSEQ. When the update may change \Seen, the same
// statement moves the folder's unseen count by what it changed, old flags
// against new. clauses are uidClauses("uid", u.UIDs).
func (db *DB) storeFlagsPipelined(ctx context.Context, folderID int64, u store.FlagUpdate, clauses []uidClause) ([]store.MessageFlags, []uint32, error) {
	// new = (old | set) & keep
	set, keep := int64(u.Flags), int64(-1)
	switch u.Op {
	case store.FlagsRemove:
		set, keep = 0, ^int64(u.Flags)
	case store.FlagsReplace:
		keep = set
	}
	seen := u.Op == store.FlagsReplace || u.Flags&store.FlagSeen != 0
	// change is the condition on a message's row (named by prefix p) that
	// the update changes, with its arguments.
	kwSet := ""
	change := func(p string) string {
		c := `(` + p + `flags | ?) & ? <> ` + p + `flags`
		if u.Op == store.FlagsReplace {
			c = `(` + c + ` OR ` + p + `keywords <> '')`
		}
		if u.UnchangedSince != 0 {
			c += ` AND ` + p + `modseq <= ?`
		}
		return c
	}
	if u.Op == store.FlagsReplace {
		kwSet = `, keywords = ''`
	}
	changeArgs := []any{set, keep}
	if u.UnchangedSince != 0 {
		changeArgs = append(changeArgs, u.UnchangedSince)
	}
	var where []string
	var whereArgs []any
	for _, cl := range clauses {
		where = append(where, cl.sql+` AND `+change(""))
		whereArgs = append(append(append(whereArgs, folderID), cl.args...), changeArgs...)
	}
	qs := db.lockedChange(folderID, where, whereArgs)
	var changed []store.MessageFlags
	var refused []uint32
	if u.UnchangedSince != 0 {
		for _, cl := range clauses {
			qs = append(qs, PipelineQuery{SQL: `SELECT uid FROM messages WHERE folder_id = ? AND ` + cl.sql + ` AND modseq > ?`,
				Args: append(append([]any{folderID}, cl.args...), u.UnchangedSince),
				Each: func(scan func(dest ...any) error) error {
					var uid uint32
					err := scan(&uid)
					refused = append(refused, uid)
					return err
				}})
		}
	}
	each := func(scan func(dest ...any) error) error {
		var m store.MessageFlags
		var kw string
		if err := scan(&m.UID, &m.ModSeq, &m.Flags, &kw); err != nil {
			return err
		}
		m.Keywords = splitKeywords(kw)
		changed = append(changed, m)
		return nil
	}
	oClauses := uidClauses("o.uid", u.UIDs)
	for i, cl := range clauses {
		q := PipelineQuery{SQL: `UPDATE messages SET flags = (flags | ?) & ?` + kwSet + `, modseq = ` + changeModSeq + `
			WHERE folder_id = ? AND ` + cl.sql + ` AND ` + change("") + ` RETURNING uid, modseq, flags, keywords`,
			Args: append(append([]any{set, keep, folderID, folderID}, cl.args...), changeArgs...), Each: each}
		if seen {
			// The update joins each row's old version, o, to count
			// the messages it makes seen or unseen.
			q.SQL = `WITH u AS (UPDATE messages m SET flags = (o.flags | ?) & ?` + kwSet + `, modseq = ` + changeModSeq + `
					FROM messages o WHERE m.id = o.id AND o.folder_id = ? AND ` + oClauses[i].sql + ` AND ` + change("o.") + `
					RETURNING m.uid, m.modseq, m.flags, m.keywords, o.flags AS old),
				f AS (UPDATE folders SET unseen = unseen + d.n
					FROM (SELECT count(*) FILTER (WHERE flags & ? = 0) - count(*) FILTER (WHERE old & ? = 0) AS n FROM u) d
					WHERE folders.id = ? AND d.n <> 0)
				SELECT uid, modseq, flags, keywords FROM u`
			q.Args = append(q.Args, int64(store.FlagSeen), int64(store.FlagSeen), folderID)
		}
		qs = append(qs, q)
	}
	err := db.pipeline(ctx, db.relaxedPool(), qs, func() { changed, refused = changed[:0], refused[:0] }, nil)
	if err != nil {
		return nil, nil, db.storageErr(folderNotFound(err, fmt.Sprint(folderID)))
	}
	slices.SortFunc(changed, func(a, b store.MessageFlags) int { return cmp.Compare(a.UID, b.UID) })
	slices.Sort(refused)
	if len(changed) == 0 {
		changed = nil
	}
	if len(refused) == 0 {
		refused = nil
	}
	return changed, refused, nil
}

// errNoChange ends a write transaction that found nothing to change, so
// that what it did first (a MODSEQ taken) is rolled back.
var errNoChange = errors.New("nothing to change")

func applyFlags(m store.MessageFlags, op store.FlagOp, f store.Flags, kw []string) (store.Flags, string) {
	switch op {
	case store.FlagsAdd:
		return m.Flags | f, joinKeywords(append(append([]string(nil), m.Keywords...), kw...))
	case store.FlagsRemove:
		var keep []string
		for _, k := range m.Keywords {
			if !containsFold(kw, k) {
				keep = append(keep, k)
			}
		}
		return m.Flags &^ f, joinKeywords(keep)
	default:
		return f, joinKeywords(kw)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// normalizeKeywords drops duplicates (case-insensitively, keeping the first
// spelling) and sorts, so that equal sets are stored equally.
func normalizeKeywords(kw []string) []string {
	var out []string
	for _, k := range kw {
		if k != "" && !containsFold(out, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func joinKeywords(kw []string) string { return strings.Join(normalizeKeywords(kw), " ") }

func splitKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// expungeRows deletes the selected messages of a folder, records them as
// expunged and fixes the folder's counters. The caller holds the folder's
// lock. What was deleted, and so what is recorded and subtracted, is what
// the DELETE itself returns: a count read before the delete could differ
// from what it removes (another session setting \Deleted in between). It
// returns the UIDs (in no particular order) and bodies.
func expungeRows(ctx context.Context, c conn, folderID int64, cl uidClause) ([]uint32, []int64, error) {
	rows, err := cl.query(ctx, c, `DELETE FROM messages WHERE folder_id = ? AND `+cl.sql+` RETURNING uid, flags, size, body_id`,
		append([]any{folderID}, cl.args...)...)
	if err != nil {
		return nil, nil, err
	}
	var uids []uint32
	var bodies []int64
	var size int64
	unseen := 0
	for rows.Next() {
		var uid uint32
		var f store.Flags
		var sz, body int64
		if err := rows.Scan(&uid, &f, &sz, &body); err != nil {
			rows.Close()
			return nil, nil, err
		}
		uids = append(uids, uid)
		bodies = append(bodies, body)
		size += sz
		unseen += unseenDelta(f)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(uids) == 0 {
		return nil, nil, err
	}
	// The new MODSEQ and the counters in one statement.
	var modseq uint64
	err = c.queryRow(ctx, `UPDATE folders SET highest_modseq = highest_modseq + 1, messages = messages - ?, unseen = unseen - ?, size = size - ?
		WHERE id = ? RETURNING highest_modseq`, len(uids), unseen, size, folderID).Scan(&modseq)
	if err != nil {
		return nil, nil, folderNotFound(err, fmt.Sprint(folderID))
	}
	if err := recordExpunged(ctx, c, folderID, uids, modseq); err != nil {
		return nil, nil, err
	}
	return uids, bodies, nil
}

// fewRows is how many rows a write changes one prepared single-row
// statement at a time; more take one statement whose text is built for them.
// On SQLite, parsing a statement costs more than running a prepared one a
// few times (a STORE or EXPUNGE of one message is the common case).
const fewRows = 8

// recordExpunged records UIDs removed from a folder at modseq (QRESYNC's
// VANISHED and every session's EXPUNGE come from these rows).
func recordExpunged(ctx context.Context, c conn, folderID int64, uids []uint32, modseq uint64) error {
	if len(uids) <= fewRows {
		for _, uid := range uids {
			if _, err := c.exec(ctx, `INSERT INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)
				ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq`, folderID, uid, modseq); err != nil {
				return fmt.Errorf("record expunged: %w", err)
			}
		}
		return nil
	}
	for len(uids) > 0 {
		n := min(len(uids), 200)
		var b strings.Builder
		b.WriteString(`INSERT INTO expunged (folder_id, uid, modseq) VALUES `)
		args := make([]any, 0, 3*n)
		for i, uid := range uids[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, folderID, uid, modseq)
		}
		b.WriteString(` ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq`)
		if _, err := c.execDynamic(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("record expunged: %w", err)
		}
		uids = uids[n:]
	}
	return nil
}

// deletedCond is the condition on messages flagged \Deleted, with the bit
// as a literal: the planners use the partial index messages_deleted
// (migration 0017) only for a condition that is its own, which a
// parameter is not.
var deletedCond = fmt.Sprintf("flags & %d <> 0", store.FlagDeleted)

// Expunge implements store.Mail.
func (db *DB) Expunge(ctx context.Context, folderID int64, uids []store.UIDRange, deletedOnly bool) ([]uint32, error) {
	removed, _, err := db.expunge(ctx, folderID, uids, deletedOnly, nil)
	return removed, err
}

// ExpungeChanges implements store.Mail: with a pipeline that reads after
// its commit (PostgreSQL), the changes since since come with the
// EXPUNGE's round trip; should only their read fail, the EXPUNGE stands
// and the caller asks Changes itself.
func (db *DB) ExpungeChanges(ctx context.Context, folderID int64, uids []store.UIDRange, since uint64) ([]uint32, *store.FolderChanges, error) {
	var poll *pollAfter
	if db.d.PipelineRead != nil {
		poll = &pollAfter{since: since}
	}
	return db.expunge(ctx, folderID, uids, true, poll)
}

// expunge is Expunge, reading changes after the commit when poll is not
// nil and the expunge is one pipeline.
func (db *DB) expunge(ctx context.Context, folderID int64, uids []store.UIDRange, deletedOnly bool, poll *pollAfter) ([]uint32, *store.FolderChanges, error) {
	clauses := []uidClause{{sql: "1 = 1", fixed: true}}
	if uids != nil {
		clauses = uidClauses("uid", uids)
	}
	for i, cl := range clauses {
		if deletedOnly {
			clauses[i].sql = "(" + cl.sql + ") AND " + deletedCond
		}
	}
	if db.d.Pipeline != nil && db.writes == nil && len(clauses) <= maxPipelinedClauses {
		removed, err := db.expungePipelined(ctx, folderID, clauses, poll)
		return removed, poll.result(), err
	}
	var out []uint32
	err := db.writeRelaxed(ctx, func(c conn) error {
		out = nil
		if err := lockFolder(ctx, c, folderID); err != nil {
			return err
		}
		for _, cl := range clauses {
			removed, bodies, err := expungeRows(ctx, c, folderID, cl)
			if err != nil {
				return err
			}
			if err := markOrphanBodies(ctx, c, bodies); err != nil {
				return err
			}
			out = append(out, removed...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return nil
	})
	return out, nil, err
}

// expungePipelined is Expunge as one pipelined transaction on the relaxed
// pool, sent with its COMMIT: one round trip against seven or more. After
// lockedChange's two statements, one statement per clause deletes the
// messages and, from the rows it deleted, records them as expunged at the
// new MODSEQ, marks their bodies orphaned and takes them off the
// folder's counters, as expungeRows and markOrphanBodies do one statement
// at a time. With poll, the changes since poll.since are read after the
// commit in the same round trip (Dialect.PipelineRead).
func (db *DB) expungePipelined(ctx context.Context, folderID int64, clauses []uidClause, poll *pollAfter) ([]uint32, error) {
	var where []string
	var whereArgs []any
	for _, cl := range clauses {
		where = append(where, cl.sql)
		whereArgs = append(append(whereArgs, folderID), cl.args...)
	}
	qs := db.lockedChange(folderID, where, whereArgs)
	var out []uint32
	now := micros(time.Now())
	for _, cl := range clauses {
		qs = append(qs, PipelineQuery{
			SQL: `WITH d AS (DELETE FROM messages WHERE folder_id = ? AND ` + cl.sql + ` RETURNING folder_id, uid, flags, size, body_id),
				e AS (INSERT INTO expunged (folder_id, uid, modseq) SELECT folder_id, uid, ` + changeModSeq + ` FROM d
					ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq),
				b AS (INSERT INTO body_orphans (body_id, orphaned_at) SELECT body_id, ? FROM (SELECT DISTINCT body_id FROM d) x
					ON CONFLICT (body_id) DO UPDATE SET orphaned_at = excluded.orphaned_at),
				f AS (UPDATE folders SET messages = messages - c.n, unseen = unseen - c.un, size = size - c.sz
					FROM (SELECT count(*) AS n, count(*) FILTER (WHERE flags & ? = 0) AS un, coalesce(sum(size), 0) AS sz FROM d) c
					WHERE folders.id = ? AND c.n > 0)
				SELECT uid FROM d`,
			Args: append(append([]any{folderID}, cl.args...), folderID, now, int64(store.FlagSeen), folderID),
			Each: func(scan func(dest ...any) error) error {
				var uid uint32
				err := scan(&uid)
				out = append(out, uid)
				return err
			}})
	}
	var err error
	reset := func() { out = out[:0] }
	if poll != nil && db.d.PipelineRead != nil {
		pool := db.relaxedPool()
		err = poll.run(ctx, db, folderID, reset, func(reads []PipelineQuery) (error, error) {
			return db.d.PipelineRead(ctx, pool, qs, reads)
		})
	} else {
		err = db.pipeline(ctx, db.relaxedPool(), qs, reset, nil)
	}
	if err != nil {
		return nil, db.storageErr(folderNotFound(err, fmt.Sprint(folderID)))
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.Sort(out)
	return out, nil
}

// Copy implements store.Mail.
func (db *DB) Copy(ctx context.Context, src int64, uids []store.UIDRange, dst int64) (store.CopyResult, error) {
	return db.copyMessages(ctx, src, uids, dst, false)
}

// Move implements store.Mail.
func (db *DB) Move(ctx context.Context, src int64, uids []store.UIDRange, dst int64) (store.CopyResult, error) {
	return db.copyMessages(ctx, src, uids, dst, true)
}

type copyRow struct {
	id, size, body, idate int64
	uid                   uint32
	flags                 store.Flags
	kw                    string
	binary                bool
}

func (db *DB) copyMessages(ctx context.Context, src int64, uids []store.UIDRange, dst int64, move bool) (store.CopyResult, error) {
	if db.d.DurablePipeline != nil && db.writes == nil {
		var res store.CopyResult
		var ok bool
		var err error
		if move {
			res, ok, err = db.movePipelined(ctx, src, uids, dst)
		} else {
			res, ok, err = db.copyPipelined(ctx, src, uids, dst, nil, nil)
		}
		if ok {
			return res, err
		}
	}
	return db.copyWritten(ctx, src, uids, dst, move, nil)
}

// copyWritten is copyMessages statement by statement in one write
// transaction; with claim, the transaction also claims dst's recent
// messages after the copy.
func (db *DB) copyWritten(ctx context.Context, src int64, uids []store.UIDRange, dst int64, move bool, claim *recentClaim) (store.CopyResult, error) {
	var res store.CopyResult
	err := db.write(ctx, nil, func(c conn) error {
		res = store.CopyResult{}
		// A COPY grows the mailbox; a MOVE within it does not. The
		// mailbox's lock comes before the folders' (see quota.go).
		quotaMailbox := int64(0)
		if !move {
			var err error
			if quotaMailbox, err = folderQuotaMailbox(ctx, c, dst); err != nil {
				return err
			}
			if quotaMailbox != 0 {
				if err := lockMailboxes(ctx, c, []int64{quotaMailbox}); err != nil {
					return err
				}
			}
		}
		if db.lockTwo != "" {
			ids := []any{min(src, dst), max(src, dst)}
			if _, err := c.execDynamic(ctx, db.lockTwo, ids...); err != nil {
				return err
			}
		}
		sf, err := getFolder(ctx, c, src)
		if err != nil {
			return err
		}
		df, err := getFolder(ctx, c, dst)
		if err != nil {
			return err
		}
		if sf.MailboxID != df.MailboxID {
			return fmt.Errorf("copy between mailboxes: %w", store.ErrInvalid)
		}
		var msgs []copyRow
		for _, cl := range uidClauses("uid", uids) {
			rows, err := c.queryDynamic(ctx, `SELECT id, uid, flags, keywords, internal_date, size, body_id, has_binary FROM messages
				WHERE folder_id = ? AND `+cl.sql+` ORDER BY uid`, append([]any{src}, cl.args...)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var m copyRow
				if err := rows.Scan(&m.id, &m.uid, &m.flags, &m.kw, &m.idate, &m.size, &m.body, &m.binary); err != nil {
					rows.Close()
					return err
				}
				msgs = append(msgs, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		res.UIDValidity = df.UIDValidity
		if len(msgs) == 0 {
			return claimAfter(ctx, c, dst, claim)
		}
		var size int64
		unseen := 0
		for _, m := range msgs {
			size += m.size
			unseen += unseenDelta(m.flags)
		}
		res.Size = size
		if quotaMailbox != 0 {
			if err := reserveQuota(ctx, c, []int64{quotaMailbox}, size); err != nil {
				return err
			}
		}
		var first uint32
		var modseq uint64
		if err := c.queryRow(ctx, `UPDATE folders SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1,
			messages = messages + ?, unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING uid_next - ?, highest_modseq`,
			len(msgs), len(msgs), unseen, size, dst, len(msgs)).Scan(&first, &modseq); err != nil {
			return err
		}
		var srcModSeq uint64
		if move {
			if srcModSeq, err = bumpModSeq(ctx, c, src); err != nil {
				return err
			}
		}
		// A copy or a moved message is saved in dst now (RFC 8514 §3).
		saved := micros(time.Now())
		for i, m := range msgs {
			nu := first + uint32(i)
			res.SrcUIDs = append(res.SrcUIDs, m.uid)
			res.DstUIDs = append(res.DstUIDs, nu)
			if move {
				// The message keeps its ID (and so its POP3 UIDL) when it moves.
				if _, err := c.exec(ctx, `UPDATE messages SET folder_id = ?, uid = ?, modseq = ?, save_date = ? WHERE id = ?`, dst, nu, modseq, saved, m.id); err != nil {
					return err
				}
				continue
			}
			if _, err := c.exec(ctx, `INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, dst, nu, modseq, m.flags, m.kw, m.idate, m.size, m.body, saved, m.binary); err != nil {
				return err
			}
		}
		if move {
			if err := recordExpunged(ctx, c, src, res.SrcUIDs, srcModSeq); err != nil {
				return err
			}
			if _, err := c.exec(ctx, `UPDATE folders SET messages = messages - ?, unseen = unseen - ?, size = size - ? WHERE id = ?`,
				len(msgs), unseen, size, src); err != nil {
				return err
			}
		}
		return claimAfter(ctx, c, dst, claim)
	})
	return res, err
}

// claimAfter claims a folder's recent messages in a write transaction
// when claim is not nil.
func claimAfter(ctx context.Context, c conn, folderID int64, claim *recentClaim) error {
	if claim == nil {
		return nil
	}
	var err error
	*claim, err = claimRecent(ctx, c, folderID)
	return err
}

// ClaimRecent implements store.Mail.
func (db *DB) ClaimRecent(ctx context.Context, folderID int64) (first, next uint32, err error) {
	if db.d.ClaimRecent != "" {
		pool := db.w
		if db.wr != nil {
			pool = db.wr // a claim of \Recent is a relaxed write
		}
		err = pool.QueryRowContext(ctx, db.d.Rebind(db.d.ClaimRecent), folderID, folderID).Scan(&first, &next)
		if err != nil {
			return 0, 0, db.storageErr(folderNotFound(err, fmt.Sprint(folderID)))
		}
		return min(first, next), next, nil
	}
	err = db.writeRelaxed(ctx, func(c conn) error {
		claim, err := claimRecent(ctx, c, folderID)
		first, next = claim.first, claim.next
		return err
	})
	return first, next, err
}

// claimRecent claims a folder's recent messages in a write transaction.
func claimRecent(ctx context.Context, c conn, folderID int64) (recentClaim, error) {
	var r recentClaim
	// Locked first: two sessions must never both claim the same recent
	// messages.
	if err := lockFolder(ctx, c, folderID); err != nil {
		return r, err
	}
	if err := c.queryRow(ctx, `SELECT first_recent_uid, uid_next FROM folders WHERE id = ?`, folderID).Scan(&r.first, &r.next); err != nil {
		return r, folderNotFound(err, fmt.Sprint(folderID))
	}
	if r.first >= r.next {
		r.first = r.next
		return r, nil
	}
	_, err := c.exec(ctx, `UPDATE folders SET first_recent_uid = ? WHERE id = ?`, r.next, folderID)
	return r, err
}

// RecentFrom implements store.Mail.
func (db *DB) RecentFrom(ctx context.Context, folderID int64) (uint32, error) {
	var first uint32
	err := conn{db: db}.queryRow(ctx, `SELECT first_recent_uid FROM folders WHERE id = ?`, folderID).Scan(&first)
	return first, folderNotFound(err, fmt.Sprint(folderID))
}

// AcquireLease implements store.Mail.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := time.Now()
	n, err := db.execLease(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.expires < ? OR leases.holder = excluded.holder`, name, holder, micros(now.Add(ttl)), micros(now))
	return n > 0, err
}

// AcquireLeaseFrom implements store.Mail.
func (db *DB) AcquireLeaseFrom(ctx context.Context, name, holder, orphans string, ttl time.Duration) (bool, error) {
	if orphans == "" {
		return db.AcquireLease(ctx, name, holder, ttl)
	}
	now := time.Now()
	n, err := db.execLease(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.expires < ? OR leases.holder = excluded.holder OR substr(leases.holder, 1, ?) = ?`,
		name, holder, micros(now.Add(ttl)), micros(now), len(orphans), orphans)
	return n > 0, err
}

// ReleaseLease implements store.Mail.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.execLease(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}

// execLease runs one statement on the leases table and returns the rows it
// changed. A lease is a relaxed write (see store.Mail.AcquireLease): it
// survives a crash of this process, and what a crash of the machine or of
// the database server may take is at most the last lease writes, whose
// leases lapse by themselves. A POP3 session takes one at its login and
// gives it back at QUIT, so waiting for the disk there cost every session
// two syncs (SQLite: two fsyncs of the log; PostgreSQL: two flushes of the
// WAL). Where there is a pool of relaxed sessions (PostgreSQL), the
// statement runs alone, outside an explicit transaction: one round trip
// instead of three (BEGIN, the statement, COMMIT).
func (db *DB) execLease(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	if db.wr != nil {
		res, err := db.wr.ExecContext(ctx, db.d.Rebind(q), args...)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return n, db.storageErr(err)
	}
	err := db.writeRelaxed(ctx, func(c conn) error {
		res, err := c.exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// ReportSessions implements store.Mail.
func (db *DB) ReportSessions(ctx context.Context, queryID uint64, node string, sessions []store.SessionReport) error {
	if len(sessions) == 0 {
		return nil
	}
	now := micros(time.Now())
	return db.write(ctx, nil, func(c conn) error {
		for len(sessions) > 0 {
			n := min(len(sessions), 200)
			var b strings.Builder
			args := make([]any, 0, 7*n)
			b.WriteString(`INSERT INTO session_reports (query_id, node, mailbox_id, protocol, remote_addr, since, reported_at) VALUES `)
			for i, r := range sessions[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
				args = append(args, int64(queryID), node, r.MailboxID, r.Protocol, r.RemoteAddr, micros(r.Since), now)
			}
			if _, err := c.execDynamic(ctx, b.String(), args...); err != nil {
				return err
			}
			sessions = sessions[n:]
		}
		return nil
	})
}

// CollectSessionReports implements store.Mail.
func (db *DB) CollectSessionReports(ctx context.Context, queryID uint64) ([]store.SessionReport, error) {
	var out []store.SessionReport
	err := db.write(ctx, nil, func(c conn) error {
		rows, err := c.query(ctx, `SELECT node, mailbox_id, protocol, remote_addr, since FROM session_reports WHERE query_id = ?
			ORDER BY node, since`, int64(queryID))
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var r store.SessionReport
			var since int64
			if err := rows.Scan(&r.Node, &r.MailboxID, &r.Protocol, &r.RemoteAddr, &since); err != nil {
				return err
			}
			r.Since = fromMicros(since)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		_, err = c.exec(ctx, `DELETE FROM session_reports WHERE query_id = ? OR reported_at < ?`,
			int64(queryID), micros(time.Now().Add(-time.Minute)))
		return err
	})
	return out, err
}

// SetLastLogon implements store.Mail.
func (db *DB) SetLastLogon(ctx context.Context, mailboxID int64, protocol string, at time.Time) error {
	col := ""
	switch protocol {
	case "pop3":
		col = "last_pop_logon"
	case "imap4":
		col = "last_imap_logon"
	default:
		return fmt.Errorf("last logon: unknown protocol %q: %w", protocol, store.ErrInvalid)
	}
	return db.write(ctx, nil, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE mailboxes SET `+col+` = ? WHERE id = ? AND `+col+` < ?`, micros(at), mailboxID, micros(at))
		return err
	})
}

// MailboxGUID implements store.Mail.
func (db *DB) MailboxGUID(ctx context.Context, mailboxID int64) (string, error) {
	var guid string
	err := conn{db: db}.queryRow(ctx, `SELECT guid FROM mailboxes WHERE id = ?`, mailboxID).Scan(&guid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("mailbox %d: %w", mailboxID, store.ErrNotFound)
	}
	return guid, err
}

// SetPreviews implements store.Mail.
func (db *DB) SetPreviews(ctx context.Context, previews map[int64]string) error {
	if len(previews) == 0 {
		return nil
	}
	return db.write(ctx, nil, func(c conn) error {
		for id, p := range previews {
			if _, err := c.exec(ctx, `INSERT INTO body_previews (body_id, preview) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM bodies WHERE id = ?)
				ON CONFLICT (body_id) DO NOTHING`, id, p, id); err != nil {
				return fmt.Errorf("store preview of body %d: %w", id, err)
			}
		}
		return nil
	})
}
