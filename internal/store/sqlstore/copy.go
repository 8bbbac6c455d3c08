package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// copyPipelined is Copy as one durable pipeline (Dialect.DurablePipeline),
// as appendPipelined is Append: the statements and the commit are sent at
// once, one round trip against eight and one per message for copyMessages
// statement by statement on PostgreSQL, and the folders stay locked for
// that round trip only. The checks copyMessages makes in Go between its
// statements are made in SQL, under the same locks, and refuse the commit:
// a folder that is gone, folders of two mailboxes, a copy that would take
// the mailbox beyond its quota. The copy itself is one statement whose
// snapshot reads the messages, takes their UIDs from the destination's
// UIDNEXT and writes the folder's counters from the same rows. ok is false
// when the UID set takes more than one statement's ranges; the caller then
// copies statement by statement.
//
// With claim, the same pipeline claims dst's recent messages after the copy
// (the folder row is its own, locked: the claim sees the new UIDNEXT), and
// with poll it reads the changes since poll.since after the commit, in the
// same round trip (Dialect.DurablePipelineRead), as appendPipelined does.
func (db *DB) copyPipelined(ctx context.Context, src int64, uids []store.UIDRange, dst int64, claim *recentClaim, poll *pollAfter) (res store.CopyResult, ok bool, err error) {
	clauses := uidClauses("m.uid", uids)
	if len(clauses) != 1 || (claim != nil && db.d.ClaimRecent == "") {
		return res, false, nil
	}
	sel := clauses[0]
	// srcArgs returns the arguments of the source messages' WHERE clause
	// followed by more, in a slice of its own.
	srcArgs := func(more ...any) []any { return slices.Concat([]any{src}, sel.args, more) }
	const srcWhere = `m.folder_id = ? AND `
	var size int64
	var limits quotaLimits
	type pair struct{ src, dst, validity uint32 }
	var pairs []pair
	qs := []PipelineQuery{
		// The mailbox's lock comes before the folders' (see quota.go).
		{SQL: lockFolderQuota, Args: []any{dst}, Each: ignoreRows},
	}
	qs = append(qs, db.lockFoldersOfOneMailbox(src, dst)...)
	qs = append(qs, []PipelineQuery{
		{SQL: `SELECT coalesce(sum(m.size), 0) FROM messages m WHERE ` + srcWhere + sel.sql, Args: srcArgs(), Row: []any{&size}},
		limits.query(folderQuotaCheck.read, dst),
		{SQL: `SELECT gatehouse_refuse_if(coalesce(bool_or(q.used + (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE ` +
			srcWhere + sel.sql + `) > q.lim), false), '` + refuseQuota + `') FROM (` + folderQuotaCheck.limits + `) q`,
			Args: srcArgs(dst), Row: []any{new(bool)}},
		// One snapshot: the messages copied, the UIDs they take (the
		// last one UIDNEXT - 1) and the counters added are of the same
		// rows. A set that matches nothing changes nothing.
		{SQL: `WITH src AS (
				SELECT m.uid, m.flags, m.keywords, m.internal_date, m.size, m.body_id, m.has_binary FROM messages m
				WHERE ` + srcWhere + sel.sql + `),
			agg AS (SELECT count(*) AS n, coalesce(sum(size), 0) AS size,
				count(*) FILTER (WHERE flags & ? = 0) AS unseen FROM src),
			upd AS (UPDATE folders SET uid_next = folders.uid_next + agg.n, highest_modseq = folders.highest_modseq + 1,
					messages = folders.messages + agg.n, unseen = folders.unseen + agg.unseen, size = folders.size + agg.size
				FROM agg WHERE folders.id = ? AND agg.n > 0
				RETURNING folders.uid_validity, folders.uid_next, folders.highest_modseq),
			numbered AS (SELECT src.*, upd.uid_validity, upd.highest_modseq,
				upd.uid_next - row_number() OVER (ORDER BY src.uid DESC) AS new_uid FROM src, upd),
			ins AS (INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, size, body_id, save_date, has_binary)
				SELECT ?, new_uid, highest_modseq, flags, keywords, internal_date, size, body_id, ?, has_binary FROM numbered)
			SELECT uid, new_uid, uid_validity FROM numbered ORDER BY uid`,
			Args: srcArgs(int64(store.FlagSeen), dst, dst, micros(time.Now())),
			Each: func(scan func(...any) error) error {
				var p pair
				if err := scan(&p.src, &p.dst, &p.validity); err != nil {
					return err
				}
				pairs = append(pairs, p)
				return nil
			}},
	}...)
	if claim != nil {
		qs = append(qs, PipelineQuery{SQL: db.d.ClaimRecent, Args: []any{dst, dst}, Row: []any{&claim.first, &claim.next}})
	}
	start := func() { limits.reset(); pairs = pairs[:0] }
	if poll == nil || db.d.DurablePipelineRead == nil {
		err = db.durablePipeline(ctx, qs, start)
	} else {
		err = poll.run(ctx, db, dst, start, func(reads []PipelineQuery) (error, error) {
			return db.d.DurablePipelineRead(ctx, db.w, qs, reads)
		})
	}
	switch {
	case refusedFor(err, refuseCrossMailbox):
		return res, true, fmt.Errorf("copy between mailboxes: %w", store.ErrInvalid)
	case err != nil:
		return res, true, db.addErr(limits.refused(err, size, fmt.Sprint(dst)), fmt.Sprint(dst))
	}
	if len(pairs) > 0 {
		res.Size = size
	}
	for _, p := range pairs {
		res.UIDValidity = p.validity
		res.SrcUIDs = append(res.SrcUIDs, p.src)
		res.DstUIDs = append(res.DstUIDs, p.dst)
	}
	return res, true, nil
}

// lockFoldersOfOneMailbox returns the statements of a pipelined copy or
// move that lock its two folders (in ID order, as every writer locks
// folders) and then refuse the commit when one of them is gone or they are
// of two mailboxes.
func (db *DB) lockFoldersOfOneMailbox(src, dst int64) []PipelineQuery {
	return []PipelineQuery{
		{SQL: db.lockTwo, Args: []any{min(src, dst), max(src, dst)}, Each: ignoreRows},
		refuseGone(folderIDGone, src),
		refuseGone(folderIDGone, dst),
		{SQL: copyAcrossMailboxes, Args: []any{src, dst}, Row: []any{new(bool)}},
	}
}

// movePipelined is Move as one durable pipeline, as copyPipelined is Copy:
// one round trip against nine and two per message statement by
// statement. Its one statement reads the messages, takes their UIDs in
// dst from its UIDNEXT, moves the rows (a message keeps its ID, and so its
// POP3 UIDL), records them expunged from src and writes both folders'
// counters, all from the same snapshot. ok is false when the UID set takes
// more than one statement's ranges or src is dst (a row is not updated
// twice in one statement); the caller then moves statement by statement.
func (db *DB) movePipelined(ctx context.Context, src int64, uids []store.UIDRange, dst int64) (res store.CopyResult, ok bool, err error) {
	clauses := uidClauses("m.uid", uids)
	if len(clauses) != 1 || src == dst {
		return res, false, nil
	}
	sel := clauses[0]
	type moved struct {
		src, dst, validity uint32
		size               int64
	}
	var rows []moved
	qs := append(db.lockFoldersOfOneMailbox(src, dst), PipelineQuery{
		SQL: `WITH src AS (
				SELECT m.id, m.uid, m.flags, m.size FROM messages m WHERE m.folder_id = ? AND ` + sel.sql + `),
			agg AS (SELECT count(*) AS n, coalesce(sum(size), 0) AS size,
				count(*) FILTER (WHERE flags & ? = 0) AS unseen FROM src),
			srcf AS (UPDATE folders SET highest_modseq = folders.highest_modseq + 1, messages = folders.messages - agg.n,
					unseen = folders.unseen - agg.unseen, size = folders.size - agg.size
				FROM agg WHERE folders.id = ? AND agg.n > 0
				RETURNING folders.highest_modseq),
			dstf AS (UPDATE folders SET uid_next = folders.uid_next + agg.n, highest_modseq = folders.highest_modseq + 1,
					messages = folders.messages + agg.n, unseen = folders.unseen + agg.unseen, size = folders.size + agg.size
				FROM agg WHERE folders.id = ? AND agg.n > 0
				RETURNING folders.uid_validity, folders.uid_next, folders.highest_modseq),
			numbered AS (SELECT src.id, src.uid, src.size, dstf.uid_validity, dstf.highest_modseq,
				dstf.uid_next - row_number() OVER (ORDER BY src.uid DESC) AS new_uid FROM src, dstf),
			mv AS (UPDATE messages SET folder_id = ?, uid = numbered.new_uid, modseq = numbered.highest_modseq, save_date = ?
				FROM numbered WHERE messages.id = numbered.id),
			gone AS (INSERT INTO expunged (folder_id, uid, modseq) SELECT ?, src.uid, srcf.highest_modseq FROM src, srcf
				ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq)
			SELECT uid, new_uid, uid_validity, size FROM numbered ORDER BY uid`,
		// A moved message is saved in dst now (RFC 8514 §3).
		Args: slices.Concat([]any{src}, sel.args, []any{int64(store.FlagSeen), src, dst, dst, micros(time.Now()), src}),
		Each: func(scan func(...any) error) error {
			var m moved
			if err := scan(&m.src, &m.dst, &m.validity, &m.size); err != nil {
				return err
			}
			rows = append(rows, m)
			return nil
		}})
	err = db.durablePipeline(ctx, qs, func() { rows = rows[:0] })
	switch {
	case refusedFor(err, refuseCrossMailbox):
		return res, true, fmt.Errorf("move between mailboxes: %w", store.ErrInvalid)
	case refusedFor(err, refuseNoFolder):
		return res, true, fmt.Errorf("folder %d or %d: %w", src, dst, store.ErrNotFound)
	case err != nil:
		return res, true, db.storageErr(err)
	}
	for _, m := range rows {
		res.UIDValidity = m.validity
		res.SrcUIDs = append(res.SrcUIDs, m.src)
		res.DstUIDs = append(res.DstUIDs, m.dst)
		res.Size += m.size
	}
	return res, true, nil
}

// ignoreRows is the Each of a pipelined statement whose rows do not matter
// (a lock).
func ignoreRows(func(...any) error) error { return nil }

// refuseCrossMailbox is the reason of copyAcrossMailboxes: a COPY or MOVE
// stays within one mailbox.
const refuseCrossMailbox = "folders of two mailboxes"

// copyAcrossMailboxes refuses a pipelined copy between folders of two
// mailboxes (arguments: the two folder IDs).
const copyAcrossMailboxes = `SELECT gatehouse_refuse_if((SELECT count(DISTINCT mailbox_id) FROM folders WHERE id IN (?, ?)) > 1, '` +
	refuseCrossMailbox + `')`

// CopyClaimingRecent implements store.Mail: with a durable pipeline
// (PostgreSQL) the copy, the claim and the read of the changes are one
// round trip; otherwise the copy and the claim are one transaction and
// Changes is nil.
func (db *DB) CopyClaimingRecent(ctx context.Context, folderID int64, uids []store.UIDRange, since uint64) (store.RecentCopy, error) {
	var claim recentClaim
	var res store.CopyResult
	var err error
	var poll *pollAfter
	pipelined := false
	if db.d.DurablePipeline != nil && db.writes == nil {
		if db.d.DurablePipelineRead != nil {
			poll = &pollAfter{since: since}
		}
		res, pipelined, err = db.copyPipelined(ctx, folderID, uids, folderID, &claim, poll)
	}
	if !pipelined {
		poll = nil
		res, err = db.copyWritten(ctx, folderID, uids, folderID, false, &claim)
	}
	if err != nil {
		return store.RecentCopy{}, err
	}
	return store.RecentCopy{CopyResult: res, First: min(claim.first, claim.next), Next: claim.next, Changes: poll.result()}, nil
}
