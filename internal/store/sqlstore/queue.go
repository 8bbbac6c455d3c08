package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The outbound queue (store.Queue). Recipients are kept one per line: an
// address never holds a line break (go-smtp refuses them at RCPT).

const outboundColumns = `id, mailbox_id, mail_from, recipients, size, date_received, expires, next_attempt,
	retry_count, last_error, lease_holder, lease_expires`

func scanOutbound(s interface{ Scan(...any) error }, data *[]byte) (store.OutboundMessage, error) {
	var m store.OutboundMessage
	var rcpts string
	var received, expires, next, lease int64
	dest := []any{&m.ID, &m.MailboxID, &m.From, &rcpts, &m.Size, &received, &expires, &next,
		&m.RetryCount, &m.LastError, &m.LeaseHolder, &lease}
	if data != nil {
		dest = append(dest, data)
	}
	if err := s.Scan(dest...); err != nil {
		return m, err
	}
	if rcpts != "" {
		m.Recipients = strings.Split(rcpts, "\n")
	}
	m.DateReceived, m.Expires, m.NextRetry, m.LeaseExpires = fromMicros(received), fromMicros(expires), fromMicros(next), fromMicros(lease)
	if data != nil {
		m.Data = *data
	}
	return m, nil
}

// Enqueue implements store.Queue. The commit is durable (a client is told
// 250 after it).
func (db *DB) Enqueue(ctx context.Context, m store.OutboundMessage) (int64, error) {
	if len(m.Recipients) == 0 || len(m.Data) == 0 {
		return 0, fmt.Errorf("enqueue: no recipients or no data: %w", store.ErrInvalid)
	}
	for _, r := range m.Recipients {
		if r == "" || strings.ContainsAny(r, "\r\n") {
			return 0, fmt.Errorf("enqueue: bad recipient %q: %w", r, store.ErrInvalid)
		}
	}
	now := time.Now()
	if m.DateReceived.IsZero() {
		m.DateReceived = now
	}
	if m.NextRetry.IsZero() {
		m.NextRetry = m.DateReceived
	}
	var id int64
	err := db.write(ctx, nil, func(c conn) error {
		return c.queryRow(ctx, `INSERT INTO outbound_queue (mailbox_id, mail_from, recipients, size, data, date_received, expires, next_attempt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.MailboxID, m.From, strings.Join(m.Recipients, "\n"), int64(len(m.Data)), m.Data,
			micros(m.DateReceived), micros(m.Expires), micros(m.NextRetry)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	return id, nil
}

// ClaimOutbound implements store.Queue. The lease is taken by one UPDATE
// whose condition (due and not leased) is checked again on each row it
// writes, so two runners never both get a message; on PostgreSQL the
// picking subquery skips rows another runner has locked.
func (db *DB) ClaimOutbound(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if holder == "" || limit <= 0 {
		return nil, fmt.Errorf("claim outbound: %w", store.ErrInvalid)
	}
	var out []store.OutboundMessage
	err := db.write(ctx, nil, func(c conn) error {
		out = out[:0]
		rows, err := c.query(ctx, `UPDATE outbound_queue SET lease_holder = ?, lease_expires = ?
			WHERE id IN (SELECT id FROM outbound_queue WHERE next_attempt <= ? AND lease_expires <= ?
				ORDER BY next_attempt, id LIMIT ?`+db.d.SkipLocked+`)
			AND next_attempt <= ? AND lease_expires <= ?
			RETURNING `+outboundColumns+`, data`,
			holder, micros(now.Add(lease)), micros(now), micros(now), limit, micros(now), micros(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var data []byte
			m, err := scanOutbound(rows, &data)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbound: %w", err)
	}
	slices.SortFunc(out, func(a, b store.OutboundMessage) int {
		if c := a.NextRetry.Compare(b.NextRetry); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// CompleteOutbound implements store.Queue.
func (db *DB) CompleteOutbound(ctx context.Context, id int64, holder string) (bool, error) {
	var ok bool
	err := db.write(ctx, nil, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM outbound_queue WHERE id = ? AND lease_holder = ?`, id, holder)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n > 0
		return err
	})
	return ok, err
}

// DeferOutbound implements store.Queue.
func (db *DB) DeferOutbound(ctx context.Context, id int64, holder string, d store.OutboundDeferral) (bool, error) {
	if len(d.Remaining) == 0 {
		return false, fmt.Errorf("defer outbound %d: no recipients left: %w", id, store.ErrInvalid)
	}
	var ok bool
	err := db.write(ctx, nil, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE outbound_queue SET recipients = ?, next_attempt = ?, last_error = ?,
			retry_count = retry_count + 1, lease_holder = '', lease_expires = 0 WHERE id = ? AND lease_holder = ?`,
			strings.Join(d.Remaining, "\n"), micros(d.NextRetry), d.LastError, id, holder)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n > 0
		return err
	})
	return ok, err
}

// OutboundMessages implements store.Tx.
func (t dirTx) OutboundMessages(ctx context.Context, q store.OutboundQuery) ([]store.OutboundMessage, error) {
	query := `SELECT ` + outboundColumns + ` FROM outbound_queue WHERE id > ? ORDER BY id`
	args := []any{q.AfterID}
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := t.c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.OutboundMessage
	for rows.Next() {
		m, err := scanOutbound(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// OutboundMessage implements store.Tx.
func (t dirTx) OutboundMessage(ctx context.Context, id int64) (store.OutboundMessage, error) {
	m, err := scanOutbound(t.c.queryRow(ctx, `SELECT `+outboundColumns+` FROM outbound_queue WHERE id = ?`, id), nil)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
	}
	return m, err
}

// RetryOutbound implements store.Tx.
func (t dirTx) RetryOutbound(ctx context.Context, ids []int64, now time.Time) (int64, error) {
	q := `UPDATE outbound_queue SET next_attempt = ? WHERE lease_expires <= ? AND next_attempt > ?`
	args := []any{micros(now), micros(now), micros(now)}
	if ids != nil {
		if len(ids) == 0 {
			return 0, nil
		}
		q += ` AND id IN (` + placeholders(len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	res, err := t.c.execDynamic(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RemoveOutbound implements store.Tx.
func (t dirTx) RemoveOutbound(ctx context.Context, id int64) error {
	res, err := t.c.exec(ctx, `DELETE FROM outbound_queue WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
	}
	return nil
}
