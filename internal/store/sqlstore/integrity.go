package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// DefaultBodyGrace is how long a body stays readable after its last
// message was expunged, moved out of existence or deleted with its folder
// or mailbox. An IMAP session learns of an expunge only at its next
// command, and a FETCH streams bodies after it read the metadata without
// holding a transaction, so a body deleted at once would be found missing
// in the middle of a literal. Dovecot's Maildir gives the same grace by
// accident (an open file outlives its unlink); here it is explicit.
const DefaultBodyGrace = 10 * time.Minute

// sweepBatch bounds the bodies one sweep transaction deletes.
const sweepBatch = 500

// sweeper deletes orphaned bodies older than grace, every interval, until
// the store closes.
func (db *DB) sweeper(grace time.Duration) {
	defer db.wg.Done()
	interval := min(max(grace/4, time.Second), time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		go func() {
			select {
			case <-db.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		n, err := db.SweepBodies(ctx, time.Now().Add(-grace))
		cancel()
		switch {
		case err != nil:
			// Temporary (a full disk, a PostgreSQL restart): the next
			// round tries again; nothing is lost by waiting.
			db.log.Warn("sweeping orphaned message bodies failed; will retry", "err", err)
		case n > 0:
			db.log.Debug("swept orphaned message bodies", "bodies", n)
		}
	}
}

// SweepBodies implements store.Store: it deletes the bodies marked orphaned
// before the given time that no message references any more, and unmarks
// those that are referenced again (a COPY of a message whose other copy was
// expunged). It returns how many it deleted.
func (db *DB) SweepBodies(ctx context.Context, before time.Time) (int, error) {
	total := 0
	cutoff := micros(before)
	var after int64 // the listing goes on after the bodies held (readHolds)
	for {
		listed, err := int64Column(ctx, conn{db: db}, `SELECT body_id FROM body_orphans WHERE orphaned_at < ? AND body_id > ? ORDER BY body_id LIMIT `+fmt.Sprint(sweepBatch), cutoff, after)
		if err != nil {
			return total, fmt.Errorf("sweep bodies: %w", err)
		}
		if len(listed) == 0 {
			return total, nil
		}
		after = listed[len(listed)-1]
		if db.sweepListed != nil {
			db.sweepListed()
		}
		// A body read in the last bodyReadHold is left, with its mark, for
		// a later sweep; a read of the others waits until they are deleted.
		ids, done := db.holds.sweepable(listed)
		if len(ids) == 0 {
			done()
			if len(listed) < sweepBatch {
				return total, nil
			}
			continue
		}
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		in := `IN (` + placeholders(len(ids)) + `)`
		var deleted int
		err = db.write(ctx, nil, func(c conn) error {
			// Chunks, summaries and structures go with their body (ON
			// DELETE CASCADE). A body marked again since it was listed
			// (a copy of it expunged just now) waits for its own grace
			// period, and so keeps its mark.
			res, err := c.execDynamic(ctx, `DELETE FROM bodies WHERE id `+in+`
				AND EXISTS (SELECT 1 FROM body_orphans o WHERE o.body_id = bodies.id AND o.orphaned_at < ?)
				AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.body_id = bodies.id)`, append(args, cutoff)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			deleted = int(n)
			if err != nil {
				return err
			}
			// The marks of the bodies deleted, and of those referenced
			// again (a COPY of a message whose other copy was expunged).
			_, err = c.execDynamic(ctx, `DELETE FROM body_orphans WHERE body_id `+in+` AND orphaned_at < ?`, append(args, cutoff)...)
			return err
		})
		done()
		if err != nil {
			return total, fmt.Errorf("sweep bodies: %w", err)
		}
		total += deleted
		if len(listed) < sweepBatch {
			return total, nil
		}
	}
}

// unmarkedOrphan is the condition on a body (b) that no message references
// and that is not marked for the sweep: left by a crash of an earlier
// version. Repair counts and marks such bodies.
const unmarkedOrphan = `NOT EXISTS (SELECT 1 FROM body_orphans o WHERE o.body_id = b.id)
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.body_id = b.id)`

// folderCheck is what one folder's row says and what its messages say.
type folderCheck struct {
	store.FolderRepair
	rowsMaxUID, rowsMaxModSeq int64
}

// Repair implements store.Store. It compares every folder's counters with
// its rows (in one statement, so one snapshot on both engines) and, with
// fix, sets each wrong folder right under its lock, from the rows as they
// are then. It also marks bodies that no message references (left by a
// crash of an earlier version) for the sweep. Safe while the server runs,
// on every node.
func (db *DB) Repair(ctx context.Context, fix bool) (store.RepairReport, error) {
	var rep store.RepairReport
	rows, err := conn{db: db}.queryDynamic(ctx, `SELECT f.id, f.mailbox_id, f.name, f.messages, f.unseen, f.size, f.uid_next, f.highest_modseq,
		coalesce(a.n, 0), coalesce(a.unseen, 0), coalesce(a.size, 0),
		CASE WHEN coalesce(a.max_uid, 0) > coalesce(e.max_uid, 0) THEN coalesce(a.max_uid, 0) ELSE coalesce(e.max_uid, 0) END,
		CASE WHEN coalesce(a.max_modseq, 0) > coalesce(e.max_modseq, 0) THEN coalesce(a.max_modseq, 0) ELSE coalesce(e.max_modseq, 0) END
		FROM folders f
		LEFT JOIN (SELECT folder_id, count(*) AS n, sum(CASE WHEN flags & 1 = 0 THEN 1 ELSE 0 END) AS unseen, sum(size) AS size,
			max(uid) AS max_uid, max(modseq) AS max_modseq FROM messages GROUP BY folder_id) a ON a.folder_id = f.id
		LEFT JOIN (SELECT folder_id, max(uid) AS max_uid, max(modseq) AS max_modseq FROM expunged GROUP BY folder_id) e ON e.folder_id = f.id
		ORDER BY f.id`)
	if err != nil {
		return rep, fmt.Errorf("check folders: %w", err)
	}
	var bad []folderCheck
	for rows.Next() {
		var fc folderCheck
		r := &fc.FolderRepair
		if err := rows.Scan(&r.FolderID, &r.MailboxID, &r.Name, &r.Stored.Messages, &r.Stored.Unseen, &r.Stored.Size,
			&r.Stored.UIDNext, &r.Stored.HighestModSeq, &r.Actual.Messages, &r.Actual.Unseen, &r.Actual.Size,
			&fc.rowsMaxUID, &fc.rowsMaxModSeq); err != nil {
			rows.Close()
			return rep, fmt.Errorf("check folders: %w", err)
		}
		rep.Checked++
		r.Actual.UIDNext = max(r.Stored.UIDNext, fc.rowsMaxUID+1)
		r.Actual.HighestModSeq = max(r.Stored.HighestModSeq, fc.rowsMaxModSeq)
		if r.Stored != r.Actual {
			bad = append(bad, fc)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("check folders: %w", err)
	}
	if err := (conn{db: db}).queryRow(ctx, `SELECT count(*) FROM bodies b WHERE `+unmarkedOrphan).Scan(&rep.UnmarkedBodies); err != nil {
		return rep, fmt.Errorf("check bodies: %w", err)
	}
	if !fix {
		for _, fc := range bad {
			rep.Wrong = append(rep.Wrong, fc.FolderRepair)
		}
		return rep, nil
	}
	for _, fc := range bad {
		r, err := db.repairFolder(ctx, fc.FolderID)
		if err != nil {
			return rep, err
		}
		if r.Stored != r.Actual {
			rep.Wrong = append(rep.Wrong, r)
		}
	}
	if rep.UnmarkedBodies > 0 {
		err := db.write(ctx, nil, func(c conn) error {
			_, err := c.exec(ctx, `INSERT INTO body_orphans (body_id, orphaned_at) SELECT b.id, ? FROM bodies b WHERE `+unmarkedOrphan+`
				ON CONFLICT (body_id) DO NOTHING`, micros(time.Now()))
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("mark orphaned bodies: %w", err)
		}
	}
	rep.Fixed = true
	return rep, nil
}

// repairFolder recomputes one folder's counters from its rows under the
// folder's lock and returns what it found and set. UIDNEXT and
// HIGHESTMODSEQ only ever go up: a UID or MODSEQ once given out is never
// given again (clients cache by them).
func (db *DB) repairFolder(ctx context.Context, folderID int64) (store.FolderRepair, error) {
	var r store.FolderRepair
	err := db.write(ctx, nil, func(c conn) error {
		r = store.FolderRepair{FolderID: folderID}
		if err := lockFolder(ctx, c, folderID); err != nil {
			return err
		}
		if err := c.queryRow(ctx, `SELECT mailbox_id, name, messages, unseen, size, uid_next, highest_modseq FROM folders WHERE id = ?`, folderID).
			Scan(&r.MailboxID, &r.Name, &r.Stored.Messages, &r.Stored.Unseen, &r.Stored.Size, &r.Stored.UIDNext, &r.Stored.HighestModSeq); err != nil {
			return folderNotFound(err, fmt.Sprint(folderID))
		}
		var maxUID, maxModSeq, eUID, eModSeq int64
		if err := c.queryRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN flags & 1 = 0 THEN 1 ELSE 0 END), 0), coalesce(sum(size), 0),
			coalesce(max(uid), 0), coalesce(max(modseq), 0) FROM messages WHERE folder_id = ?`, folderID).
			Scan(&r.Actual.Messages, &r.Actual.Unseen, &r.Actual.Size, &maxUID, &maxModSeq); err != nil {
			return err
		}
		if err := c.queryRow(ctx, `SELECT coalesce(max(uid), 0), coalesce(max(modseq), 0) FROM expunged WHERE folder_id = ?`, folderID).
			Scan(&eUID, &eModSeq); err != nil {
			return err
		}
		r.Actual.UIDNext = max(r.Stored.UIDNext, maxUID+1, eUID+1)
		r.Actual.HighestModSeq = max(r.Stored.HighestModSeq, maxModSeq, eModSeq)
		if r.Actual == r.Stored {
			return nil
		}
		_, err := c.exec(ctx, `UPDATE folders SET messages = ?, unseen = ?, size = ?, uid_next = ?, highest_modseq = ? WHERE id = ?`,
			r.Actual.Messages, r.Actual.Unseen, r.Actual.Size, r.Actual.UIDNext, r.Actual.HighestModSeq, folderID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("repair folder %d: %w", folderID, err)
	}
	return r, nil
}

// expectedWords is a WITH clause whose table e (word, mailbox_id) is what
// mailbox_words should hold: searchWords of every mailbox, as migration
// 0020 made it (the separators and the cut are searchWords' own).
var expectedWords = `WITH RECURSIVE v (id, s) AS (
	SELECT id, name_lc FROM mailboxes
	UNION SELECT id, display_name_lc FROM mailboxes
	UNION SELECT id, alias_lc FROM mailboxes
	UNION SELECT mailbox_id, address_lc FROM mailbox_addresses
), p (id, s, i) AS (
	SELECT id, s, 1 FROM v WHERE s <> ''
	UNION ALL SELECT id, s, i + 1 FROM p WHERE i < length(s)
), e (word, mailbox_id) AS (
	SELECT DISTINCT substr(s, i, ` + fmt.Sprint(searchWordRunes) + `), id FROM p
	WHERE i = 1 OR substr(s, i - 1, 1) IN (` + sqlStrings(wordSeparators) + `)
) `

// sqlStrings lists vs as SQL string literals: 'a', 'b'.
func sqlStrings(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// RepairSearchWords implements store.Store.
func (db *DB) RepairSearchWords(ctx context.Context, fix bool) (missing, extra int64, err error) {
	const (
		missingRows = `SELECT word, mailbox_id FROM e EXCEPT SELECT word, mailbox_id FROM mailbox_words`
		extraRows   = `SELECT word, mailbox_id FROM mailbox_words EXCEPT SELECT word, mailbox_id FROM e`
	)
	// One snapshot for both counts; the statements are not kept prepared
	// (they run once a repair).
	count := func(c conn) error {
		for _, q := range []struct {
			rows string
			n    *int64
		}{{missingRows, &missing}, {extraRows, &extra}} {
			ns, err := scanColumn[int64](c.queryDynamic(ctx, expectedWords+`SELECT count(*) FROM (`+q.rows+`) x`))
			if err != nil {
				return fmt.Errorf("check the search words: %w", err)
			}
			if len(ns) != 1 {
				return fmt.Errorf("check the search words: %d rows for a count", len(ns))
			}
			*q.n = ns[0]
		}
		return nil
	}
	// Counted first outside the write transaction: on SQLite that holds
	// the one writer, for seconds at 100,000 mailboxes, and a healthy
	// store needs no write at all.
	if err := db.read(ctx, count); err != nil || !fix || missing+extra == 0 {
		return missing, extra, err
	}
	err = db.write(ctx, nil, func(c conn) error {
		if err := count(c); err != nil || missing+extra == 0 {
			return err
		}
		if _, err := c.execDynamic(ctx, expectedWords+`DELETE FROM mailbox_words WHERE (word, mailbox_id) IN (`+extraRows+`)`); err != nil {
			return fmt.Errorf("remove search words: %w", err)
		}
		// WHERE true: SQLite's parser needs it before ON CONFLICT after a
		// SELECT. A concurrent write of a mailbox may have added a row since.
		if _, err := c.execDynamic(ctx, expectedWords+`INSERT INTO mailbox_words (word, mailbox_id)
			SELECT word, mailbox_id FROM (`+missingRows+`) x WHERE true ON CONFLICT (word, mailbox_id) DO NOTHING`); err != nil {
			return fmt.Errorf("add search words: %w", err)
		}
		return nil
	})
	return missing, extra, err
}
