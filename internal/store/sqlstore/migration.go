package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The migration objects (migration 0012): endpoints, batches, users and the
// per-folder progress of the copy engine.

const endpointColumns = `id, name, endpoint_type, remote_server, port, security, authentication, max_concurrent_migrations, trusted_certificates, when_created`

func scanEndpoint(s interface{ Scan(...any) error }) (store.MigrationEndpoint, error) {
	var e store.MigrationEndpoint
	var created int64
	var trusted string
	err := s.Scan(&e.ID, &e.Name, &e.EndpointType, &e.RemoteServer, &e.Port, &e.Security, &e.Authentication, &e.MaxConcurrentMigrations, &trusted, &created)
	e.WhenCreated = fromMicros(created)
	if trusted != "" {
		e.TrustedCertificates = []byte(trusted)
	}
	return e, err
}

func (t dirTx) InsertMigrationEndpoint(ctx context.Context, e *store.MigrationEndpoint) error {
	if e.WhenCreated.IsZero() {
		e.WhenCreated = time.Now().UTC()
	}
	return t.c.savepoint(ctx, func() error {
		var n int
		if err := t.c.queryRow(ctx, `SELECT count(*) FROM migration_endpoints WHERE lower(name) = lower(?)`, e.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("migration endpoint %q: %w", e.Name, store.ErrExists)
		}
		err := t.c.queryRow(ctx, `INSERT INTO migration_endpoints (name, endpoint_type, remote_server, port, security, authentication, max_concurrent_migrations, trusted_certificates, when_created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.Name, e.EndpointType, e.RemoteServer, e.Port, e.Security, e.Authentication,
			e.MaxConcurrentMigrations, string(e.TrustedCertificates), micros(e.WhenCreated)).Scan(&e.ID)
		return t.c.db.uniqueErr(err, "migration endpoint "+e.Name)
	})
}

func (t dirTx) MigrationEndpoints(ctx context.Context, after string, limit int) ([]store.MigrationEndpoint, error) {
	q, args := pagedByName(`SELECT `+endpointColumns+` FROM migration_endpoints`, after, limit)
	rows, err := t.c.queryDynamic(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MigrationEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t dirTx) MigrationEndpoint(ctx context.Context, name string, id int64) (store.MigrationEndpoint, error) {
	e, err := scanEndpoint(t.c.queryRow(ctx, `SELECT `+endpointColumns+` FROM migration_endpoints WHERE id = ? OR lower(name) = lower(?)`, id, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("migration endpoint %q: %w", name, store.ErrNotFound)
	}
	return e, err
}

// pagedByName pages a listing of objects whose names are unique without
// regard to case: the page starts after the name after and holds at most
// limit objects (0: no limit). It returns the query and its arguments.
func pagedByName(selectFrom, after string, limit int) (string, []any) {
	q, args := selectFrom+` WHERE lower(name) > lower(?) ORDER BY lower(name)`, []any{after}
	if limit > 0 {
		q, args = q+` LIMIT ?`, append(args, limit)
	}
	return q, args
}

func (t dirTx) UpdateMigrationEndpoint(ctx context.Context, e store.MigrationEndpoint) error {
	res, err := t.c.exec(ctx, `UPDATE migration_endpoints SET remote_server = ?, port = ?, security = ?, max_concurrent_migrations = ?, trusted_certificates = ? WHERE id = ?`,
		e.RemoteServer, e.Port, e.Security, e.MaxConcurrentMigrations, string(e.TrustedCertificates), e.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("migration endpoint %d: %w", e.ID, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) DeleteMigrationEndpoint(ctx context.Context, id int64) error {
	var n int
	if err := t.c.queryRow(ctx, `SELECT count(*) FROM migration_batches WHERE endpoint_id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("migration endpoint %d is used by %d batch(es): %w", id, n, store.ErrInvalid)
	}
	res, err := t.c.exec(ctx, `DELETE FROM migration_endpoints WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("migration endpoint %d: %w", id, store.ErrNotFound)
	}
	return nil
}

const batchColumns = `id, name, endpoint_id, status, exclude_folders, created_by, when_created, start_time, last_synced_time, completed_time, error`

func scanBatch(s interface{ Scan(...any) error }) (store.MigrationBatch, error) {
	var b store.MigrationBatch
	var exclude string
	var created, started, synced, completed int64
	err := s.Scan(&b.ID, &b.Name, &b.EndpointID, &b.Status, &exclude, &b.CreatedBy, &created, &started, &synced, &completed, &b.Error)
	if exclude != "" {
		b.ExcludeFolders = strings.Split(exclude, "\n")
	}
	b.WhenCreated, b.StartTime, b.LastSyncedTime, b.CompletedTime = fromMicros(created), fromMicros(started), fromMicros(synced), fromMicros(completed)
	return b, err
}

const migrationUserColumns = `id, batch_id, mailbox_id, email_address, user_name, secret, status, items_total, items_synced, items_skipped, bytes_transferred, last_sync_time, error`

func scanMigrationUser(s interface{ Scan(...any) error }) (store.MigrationUser, error) {
	var u store.MigrationUser
	var last int64
	err := s.Scan(&u.ID, &u.BatchID, &u.MailboxID, &u.EmailAddress, &u.UserName, &u.Secret, &u.Status, &u.ItemsTotal, &u.ItemsSynced, &u.ItemsSkipped,
		&u.BytesTransferred, &last, &u.Error)
	u.LastSyncTime = fromMicros(last)
	return u, err
}

func (t dirTx) InsertMigrationBatch(ctx context.Context, b *store.MigrationBatch, users []store.MigrationUser) error {
	if b.WhenCreated.IsZero() {
		b.WhenCreated = time.Now().UTC()
	}
	return t.c.savepoint(ctx, func() error {
		var n int
		if err := t.c.queryRow(ctx, `SELECT count(*) FROM migration_batches WHERE lower(name) = lower(?)`, b.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("migration batch %q: %w", b.Name, store.ErrExists)
		}
		err := t.c.queryRow(ctx, `INSERT INTO migration_batches (name, endpoint_id, status, exclude_folders, created_by, when_created, start_time, last_synced_time, completed_time, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, b.Name, b.EndpointID, b.Status, strings.Join(b.ExcludeFolders, "\n"), b.CreatedBy,
			micros(b.WhenCreated), micros(b.StartTime), micros(b.LastSyncedTime), micros(b.CompletedTime), b.Error).Scan(&b.ID)
		if err != nil {
			return t.c.db.uniqueErr(err, "migration batch "+b.Name)
		}
		for i := range users {
			u := &users[i]
			u.BatchID = b.ID
			if u.Status == "" {
				u.Status = b.Status
			}
			err := t.c.queryRow(ctx, `INSERT INTO migration_users (batch_id, mailbox_id, email_address, user_name, secret, status, last_sync_time, error)
				VALUES (?, ?, ?, ?, ?, ?, 0, '') RETURNING id`, u.BatchID, u.MailboxID, u.EmailAddress, u.UserName, u.Secret, u.Status).Scan(&u.ID)
			if err != nil {
				return t.c.db.uniqueErr(err, "migration user "+u.EmailAddress)
			}
		}
		return nil
	})
}

func (t dirTx) MigrationBatches(ctx context.Context, after string, limit int) ([]store.MigrationBatch, error) {
	q, args := pagedByName(`SELECT `+batchColumns+` FROM migration_batches`, after, limit)
	rows, err := t.c.queryDynamic(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MigrationBatch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t dirTx) MigrationBatch(ctx context.Context, name string, id int64) (store.MigrationBatch, error) {
	b, err := scanBatch(t.c.queryRow(ctx, `SELECT `+batchColumns+` FROM migration_batches WHERE id = ? OR lower(name) = lower(?)`, id, name))
	if errors.Is(err, sql.ErrNoRows) {
		if name == "" {
			name = fmt.Sprint(id)
		}
		return b, fmt.Errorf("migration batch %q: %w", name, store.ErrNotFound)
	}
	return b, err
}

func (t dirTx) UpdateMigrationBatch(ctx context.Context, b store.MigrationBatch) error {
	res, err := t.c.exec(ctx, `UPDATE migration_batches SET status = ?, start_time = ?, last_synced_time = ?, completed_time = ?, error = ? WHERE id = ?`,
		b.Status, micros(b.StartTime), micros(b.LastSyncedTime), micros(b.CompletedTime), b.Error, b.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("migration batch %d: %w", b.ID, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) DeleteMigrationBatch(ctx context.Context, id int64) error {
	// The children go explicitly too, so that nothing depends on the
	// engine's cascade.
	for _, q := range []string{
		`DELETE FROM migration_messages WHERE user_id IN (SELECT id FROM migration_users WHERE batch_id = ?)`,
		`DELETE FROM migration_skipped WHERE user_id IN (SELECT id FROM migration_users WHERE batch_id = ?)`,
		`DELETE FROM migration_folders WHERE user_id IN (SELECT id FROM migration_users WHERE batch_id = ?)`,
		`DELETE FROM migration_users WHERE batch_id = ?`,
	} {
		if _, err := t.c.exec(ctx, q, id); err != nil {
			return err
		}
	}
	res, err := t.c.exec(ctx, `DELETE FROM migration_batches WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("migration batch %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) MigrationUsers(ctx context.Context, batchID int64, after string, limit int) ([]store.MigrationUser, error) {
	q := `SELECT ` + migrationUserColumns + ` FROM migration_users WHERE (? = 0 OR batch_id = ?) AND email_address > ? ORDER BY email_address`
	args := []any{batchID, batchID, after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := t.c.queryDynamic(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MigrationUser
	for rows.Next() {
		u, err := scanMigrationUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t dirTx) MigrationUserByMailbox(ctx context.Context, mailboxID int64) (store.MigrationUser, error) {
	u, err := scanMigrationUser(t.c.queryRow(ctx, `SELECT `+migrationUserColumns+` FROM migration_users WHERE mailbox_id = ?`, mailboxID))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("migration user of mailbox %d: %w", mailboxID, store.ErrNotFound)
	}
	return u, err
}

func (t dirTx) SetMigrationUserStatus(ctx context.Context, u store.MigrationUser) error {
	q, args := `UPDATE migration_users SET status = ?, error = ? WHERE id = ?`, []any{u.Status, u.Error, u.ID}
	if !u.LastSyncTime.IsZero() {
		q, args = `UPDATE migration_users SET status = ?, error = ?, last_sync_time = ? WHERE id = ?`, []any{u.Status, u.Error, micros(u.LastSyncTime), u.ID}
	}
	res, err := t.c.execDynamic(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("migration user %d: %w", u.ID, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) SetMigrationUserTotal(ctx context.Context, id, total int64) error {
	_, err := t.c.exec(ctx, `UPDATE migration_users SET items_total = ? WHERE id = ?`, total, id)
	return err
}

func (t dirTx) ClearMigrationSecrets(ctx context.Context, batchID int64) error {
	_, err := t.c.exec(ctx, `UPDATE migration_users SET secret = NULL WHERE batch_id = ?`, batchID)
	return err
}

func (t dirTx) MigrationFolders(ctx context.Context, userID int64) ([]store.MigrationFolder, error) {
	return migrationFolders(ctx, t.c, userID)
}

func migrationFolders(ctx context.Context, c conn, userID int64) ([]store.MigrationFolder, error) {
	rows, err := c.query(ctx, `SELECT source_name, folder_id, uid_validity, last_uid, highest_modseq FROM migration_folders WHERE user_id = ? ORDER BY source_name`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MigrationFolder
	for rows.Next() {
		var f store.MigrationFolder
		if err := rows.Scan(&f.SourceName, &f.FolderID, &f.UIDValidity, &f.LastUID, &f.HighestModSeq); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (t dirTx) SetMigrationFolder(ctx context.Context, userID int64, f store.MigrationFolder) error {
	return setMigrationFolder(ctx, t.c, userID, f)
}

func setMigrationFolder(ctx context.Context, c conn, userID int64, f store.MigrationFolder) error {
	_, err := c.exec(ctx, `INSERT INTO migration_folders (user_id, source_name, folder_id, uid_validity, last_uid, highest_modseq) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, source_name) DO UPDATE SET folder_id = excluded.folder_id, uid_validity = excluded.uid_validity,
		last_uid = excluded.last_uid, highest_modseq = excluded.highest_modseq`,
		userID, f.SourceName, f.FolderID, f.UIDValidity, f.LastUID, f.HighestModSeq)
	if err != nil {
		return fmt.Errorf("migration progress of %q: %w", f.SourceName, err)
	}
	return nil
}

func (t dirTx) MigrationSkipped(ctx context.Context, userID int64) ([]store.MigrationSkippedItem, error) {
	rows, err := t.c.query(ctx, `SELECT source_name, uid_validity, source_uid, size, subject, reason, when_skipped FROM migration_skipped
		WHERE user_id = ? ORDER BY source_name, uid_validity, source_uid`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MigrationSkippedItem
	for rows.Next() {
		var s store.MigrationSkippedItem
		var when int64
		if err := rows.Scan(&s.SourceName, &s.UIDValidity, &s.SourceUID, &s.Size, &s.Subject, &s.Reason, &when); err != nil {
			return nil, err
		}
		s.When = fromMicros(when)
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t dirTx) MigratedUIDs(ctx context.Context, userID int64, sourceName string, uidValidity uint32, uids []uint32) (map[uint32]uint32, error) {
	out := make(map[uint32]uint32, len(uids))
	for len(uids) > 0 {
		part := uids[:min(len(uids), 500)]
		uids = uids[len(part):]
		args := []any{userID, sourceName, uidValidity}
		for _, u := range part {
			args = append(args, u)
		}
		rows, err := t.c.queryDynamic(ctx, `SELECT source_uid, dest_uid FROM migration_messages WHERE user_id = ? AND source_name = ? AND uid_validity = ?
			AND source_uid IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s, d uint32
			if err := rows.Scan(&s, &d); err != nil {
				rows.Close()
				return nil, err
			}
			out[s] = d
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CopyMigrated implements store.MigrationStore.
func (db *DB) CopyMigrated(ctx context.Context, cp store.MigrationCopy) (store.MigrationCopied, error) {
	var res store.MigrationCopied
	err := db.write(ctx, nil, func(c conn) error {
		res = store.MigrationCopied{}
		f := cp.Folder
		all, rest := cp.Messages, cp.Messages
		// The per-message lookup of an older copy is needed only when the
		// source folder had another UIDVALIDITY before (a first copy, the
		// common case, has none and skips it).
		older := false
		if len(cp.Messages) > 0 {
			var n int
			if err := c.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM migration_messages WHERE user_id = ? AND source_name = ?
				AND uid_validity <> ? LIMIT 1) x`, cp.UserID, f.SourceName, f.UIDValidity).Scan(&n); err != nil {
				return err
			}
			older = n > 0
		}
		if !older && len(cp.Messages) > 0 {
			// A first copy: the step goes in as one bulk append.
			n, bytes, err := copyBulk(ctx, c, cp)
			if err != nil {
				return err
			}
			res.Appended, res.Bytes = n, bytes
			rest = nil
		}
		for i := range rest {
			m := &rest[i]
			if len(m.Msg.Raw) == 0 {
				return fmt.Errorf("copy UID %d of %q: empty: %w", m.SourceUID, f.SourceName, store.ErrInvalid)
			}
			// A copy made under an older UIDVALIDITY of the same source
			// folder, with the same content, that no message of this
			// generation maps to yet, is this message's copy.
			var dest uint32
			err := sql.ErrNoRows
			if older {
				err = c.queryRow(ctx, `SELECT dest_uid FROM migration_messages o WHERE o.user_id = ? AND o.source_name = ? AND o.hash = ?
				AND o.uid_validity <> ? AND o.folder_id = ? AND NOT EXISTS (SELECT 1 FROM migration_messages n WHERE n.user_id = o.user_id
				AND n.source_name = o.source_name AND n.uid_validity = ? AND n.dest_uid = o.dest_uid AND n.folder_id = o.folder_id)
				ORDER BY o.dest_uid LIMIT 1`, cp.UserID, f.SourceName, m.Hash, f.UIDValidity, f.FolderID, f.UIDValidity).Scan(&dest)
			}
			switch {
			case err == nil:
				res.Deduped++
			case errors.Is(err, sql.ErrNoRows):
				_, uid, err := appendMessage(ctx, c, f.FolderID, &m.Msg)
				if err != nil {
					return fmt.Errorf("copy UID %d of %q: %w", m.SourceUID, f.SourceName, err)
				}
				dest = uid
				res.Appended++
				res.Bytes += int64(len(m.Msg.Raw))
			default:
				return err
			}
			if _, err := c.exec(ctx, `INSERT INTO migration_messages (user_id, source_name, uid_validity, source_uid, hash, folder_id, dest_uid)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, cp.UserID, f.SourceName, f.UIDValidity, m.SourceUID, m.Hash, f.FolderID, dest); err != nil {
				return fmt.Errorf("record copy of UID %d of %q: %w", m.SourceUID, f.SourceName, err)
			}
		}
		for _, s := range cp.Skipped {
			when := s.When
			if when.IsZero() {
				when = time.Now()
			}
			if _, err := c.exec(ctx, `INSERT INTO migration_skipped (user_id, source_name, uid_validity, source_uid, size, subject, reason, when_skipped)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, source_name, uid_validity, source_uid) DO NOTHING`,
				cp.UserID, s.SourceName, s.UIDValidity, s.SourceUID, s.Size, s.Subject, s.Reason, micros(when)); err != nil {
				return fmt.Errorf("record skipped UID %d of %q: %w", s.SourceUID, s.SourceName, err)
			}
		}
		unskipped := 0
		if cp.Retry {
			for _, m := range all {
				r, err := c.exec(ctx, `DELETE FROM migration_skipped WHERE user_id = ? AND source_name = ? AND uid_validity = ? AND source_uid = ?`,
					cp.UserID, f.SourceName, f.UIDValidity, m.SourceUID)
				if err != nil {
					return err
				}
				n, _ := r.RowsAffected()
				unskipped += int(n)
			}
		}
		if err := setMigrationFolder(ctx, c, cp.UserID, f); err != nil {
			return err
		}
		r, err := c.exec(ctx, `UPDATE migration_users SET items_synced = items_synced + ?, items_skipped = items_skipped + ?,
			bytes_transferred = bytes_transferred + ? WHERE id = ?`, res.Appended+res.Deduped, len(cp.Skipped)-unskipped, res.Bytes, cp.UserID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("migration user %d: %w", cp.UserID, store.ErrNotFound)
		}
		return nil
	})
	return res, err
}

// ImportMessage implements store.MigrationStore.
func (db *DB) ImportMessage(ctx context.Context, mailboxID, folderID int64, key string, msg store.NewMessage) (bool, error) {
	var added bool
	err := db.write(ctx, nil, func(c conn) error {
		added = false
		var n int
		if err := c.queryRow(ctx, `SELECT count(*) FROM import_items WHERE mailbox_id = ? AND item_key = ?`, mailboxID, key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if len(msg.Raw) == 0 {
			return fmt.Errorf("import %s: empty: %w", key, store.ErrInvalid)
		}
		_, uid, err := appendMessage(ctx, c, folderID, &msg)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO import_items (mailbox_id, item_key, folder_id, dest_uid) VALUES (?, ?, ?, ?)`, mailboxID, key, folderID, uid); err != nil {
			return err
		}
		added = true
		return nil
	})
	return added, err
}

// bulkRows is how many rows one multi-row INSERT of copyBulk carries.
const bulkRows = 50

// copyBulk appends the messages of a first copy (no older generation of
// the source folder to dedupe against) in one go: one quota check for the
// step, the bodies, one folder update that takes a UID for each message
// and one MODSEQ for all of them (RFC 7162 lets one operation give several
// messages the same mod-sequence), and multi-row inserts of the messages
// and their migration records. It returns how many it appended and their
// octets.
func copyBulk(ctx context.Context, c conn, cp store.MigrationCopy) (int, int64, error) {
	f := cp.Folder
	var total int64
	unseen := 0
	for i := range cp.Messages {
		m := &cp.Messages[i]
		if len(m.Msg.Raw) == 0 {
			return 0, 0, fmt.Errorf("copy UID %d of %q: empty: %w", m.SourceUID, f.SourceName, store.ErrInvalid)
		}
		total += int64(len(m.Msg.Raw))
		unseen += unseenDelta(m.Msg.Flags)
	}
	if err := reserveFolderQuota(ctx, c, f.FolderID, total); err != nil {
		return 0, 0, err
	}
	bodies := make([]int64, len(cp.Messages))
	for i := range cp.Messages {
		id, err := insertBody(ctx, c, &cp.Messages[i].Msg)
		if err != nil {
			return 0, 0, fmt.Errorf("copy UID %d of %q: %w", cp.Messages[i].SourceUID, f.SourceName, err)
		}
		bodies[i] = id
	}
	n := len(cp.Messages)
	var first uint32
	var modseq uint64
	err := c.queryRow(ctx, `UPDATE folders SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1,
		messages = messages + ?, unseen = unseen + ?, size = size + ? WHERE id = ?
		RETURNING uid_next - ?, highest_modseq`, n, n, unseen, total, f.FolderID, n).Scan(&first, &modseq)
	if err != nil {
		return 0, 0, folderNotFound(err, fmt.Sprint(f.FolderID))
	}
	now := micros(time.Now())
	for lo := 0; lo < n; lo += bulkRows {
		hi := min(lo+bulkRows, n)
		var msgArgs, mapArgs []any
		var msgRows, mapRows []string
		for i := lo; i < hi; i++ {
			m := &cp.Messages[i]
			uid := first + uint32(i)
			idate := m.Msg.InternalDate
			if idate.IsZero() {
				idate = time.Now()
			}
			msgRows = append(msgRows, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			msgArgs = append(msgArgs, f.FolderID, uid, modseq, m.Msg.Flags, joinKeywords(m.Msg.Keywords), micros(idate),
				int64(len(m.Msg.Raw)), bodies[i], now, m.Msg.HasBinary)
			mapRows = append(mapRows, "(?, ?, ?, ?, ?, ?, ?)")
			mapArgs = append(mapArgs, cp.UserID, f.SourceName, f.UIDValidity, m.SourceUID, m.Hash, f.FolderID, uid)
		}
		exec := c.execDynamic
		if hi-lo == bulkRows {
			exec = c.exec // the full-size statement is prepared once
		}
		if _, err := exec(ctx, `INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
			VALUES `+strings.Join(msgRows, ", "), msgArgs...); err != nil {
			return 0, 0, fmt.Errorf("insert messages: %w", err)
		}
		if _, err := exec(ctx, `INSERT INTO migration_messages (user_id, source_name, uid_validity, source_uid, hash, folder_id, dest_uid)
			VALUES `+strings.Join(mapRows, ", "), mapArgs...); err != nil {
			return 0, 0, fmt.Errorf("record copies of %q: %w", f.SourceName, err)
		}
	}
	return n, total, nil
}
