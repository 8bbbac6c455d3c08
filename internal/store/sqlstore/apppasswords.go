package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

const appPasswordColumns = `id, mailbox_id, name, secret_hash, when_created, last_used, last_used_protocol, last_used_addr`

func scanAppPassword(s interface{ Scan(...any) error }) (store.AppPassword, error) {
	var p store.AppPassword
	var created, used int64
	err := s.Scan(&p.ID, &p.MailboxID, &p.Name, &p.SecretHash, &created, &used, &p.LastUsedProtocol, &p.LastUsedAddr)
	p.WhenCreated, p.LastUsed = fromMicros(created), fromMicros(used)
	return p, err
}

func scanAppPasswords(rows *sql.Rows, err error) ([]store.AppPassword, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AppPassword
	for rows.Next() {
		p, err := scanAppPassword(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t dirTx) AppPasswords(ctx context.Context, mailboxID int64) ([]store.AppPassword, error) {
	return scanAppPasswords(t.c.query(ctx, `SELECT `+appPasswordColumns+` FROM app_passwords WHERE mailbox_id = ? ORDER BY name_lc`, mailboxID))
}

func (t dirTx) AppPasswordBySecret(ctx context.Context, secretHash string) (store.AppPassword, error) {
	p, err := scanAppPassword(t.c.queryRow(ctx, `SELECT `+appPasswordColumns+` FROM app_passwords WHERE secret_hash = ?`, secretHash))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("app password: %w", store.ErrNotFound)
	}
	return p, err
}

func (t dirTx) InsertAppPassword(ctx context.Context, p *store.AppPassword) error {
	return t.c.savepoint(ctx, func() error {
		err := t.c.queryRow(ctx, `INSERT INTO app_passwords (mailbox_id, name, name_lc, secret_hash, when_created)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			p.MailboxID, p.Name, strings.ToLower(p.Name), p.SecretHash, micros(p.WhenCreated)).Scan(&p.ID)
		if err != nil {
			return t.c.db.uniqueErr(err, "app password "+p.Name)
		}
		return nil
	})
}

func (t dirTx) DeleteAppPasswords(ctx context.Context, mailboxID int64, ids []int64) ([]store.AppPassword, error) {
	if ids == nil {
		return scanAppPasswords(t.c.query(ctx, `DELETE FROM app_passwords WHERE mailbox_id = ? RETURNING `+appPasswordColumns, mailboxID))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{mailboxID}
	for _, id := range ids {
		args = append(args, id)
	}
	return scanAppPasswords(t.c.queryDynamic(ctx, `DELETE FROM app_passwords WHERE mailbox_id = ? AND id IN (`+placeholders(len(ids))+`)
		RETURNING `+appPasswordColumns, args...))
}
