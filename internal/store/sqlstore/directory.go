package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// dirTx implements store.Tx on one transaction.
type dirTx struct{ c conn }

var _ store.Tx = dirTx{}

func (t dirTx) OrgConfig(ctx context.Context) (store.OrgConfig, error) {
	var c store.OrgConfig
	var changed int64
	err := t.c.queryRow(ctx, `SELECT name, domain, security_defaults_enabled, smtp_client_auth_disabled, when_changed, default_auth_policy_lc
		FROM org_config WHERE id = 1`).
		Scan(&c.Name, &c.Domain, &c.SecurityDefaultsEnabled, &c.SmtpClientAuthenticationDisabled, &changed, &c.DefaultAuthenticationPolicy)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("organization config: %w", store.ErrNotFound)
	}
	c.WhenChanged = fromMicros(changed)
	return c, err
}

func (t dirTx) SetOrgConfig(ctx context.Context, c store.OrgConfig) error {
	_, err := t.c.exec(ctx, `INSERT INTO org_config (id, name, domain, security_defaults_enabled, smtp_client_auth_disabled, when_changed,
		default_auth_policy_lc) VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain = excluded.domain,
		security_defaults_enabled = excluded.security_defaults_enabled,
		smtp_client_auth_disabled = excluded.smtp_client_auth_disabled, when_changed = excluded.when_changed,
		default_auth_policy_lc = excluded.default_auth_policy_lc`,
		c.Name, c.Domain, c.SecurityDefaultsEnabled, c.SmtpClientAuthenticationDisabled, micros(c.WhenChanged), strings.ToLower(c.DefaultAuthenticationPolicy))
	return err
}

const authPolicyColumns = `id, name, allow_basic_auth_pop, allow_basic_auth_imap, allow_basic_auth_smtp, when_created, when_changed`

func scanAuthPolicy(s interface{ Scan(...any) error }) (store.AuthPolicy, error) {
	var p store.AuthPolicy
	var created, changed int64
	err := s.Scan(&p.ID, &p.Name, &p.AllowBasicAuthPop, &p.AllowBasicAuthImap, &p.AllowBasicAuthSmtp, &created, &changed)
	p.WhenCreated, p.WhenChanged = fromMicros(created), fromMicros(changed)
	return p, err
}

func (t dirTx) AuthPolicies(ctx context.Context) ([]store.AuthPolicy, error) {
	rows, err := t.c.query(ctx, `SELECT `+authPolicyColumns+` FROM auth_policies ORDER BY name_lc`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuthPolicy
	for rows.Next() {
		p, err := scanAuthPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t dirTx) AuthPolicy(ctx context.Context, name string) (store.AuthPolicy, error) {
	p, err := scanAuthPolicy(t.c.queryRow(ctx, `SELECT `+authPolicyColumns+` FROM auth_policies WHERE name_lc = ?`,
		strings.ToLower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("authentication policy %q: %w", name, store.ErrNotFound)
	}
	return p, err
}

func (t dirTx) InsertAuthPolicy(ctx context.Context, p *store.AuthPolicy) error {
	return t.c.savepoint(ctx, func() error {
		err := t.c.queryRow(ctx, `INSERT INTO auth_policies (name, name_lc, allow_basic_auth_pop, allow_basic_auth_imap,
			allow_basic_auth_smtp, when_created, when_changed) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Name, strings.ToLower(p.Name), p.AllowBasicAuthPop, p.AllowBasicAuthImap, p.AllowBasicAuthSmtp,
			micros(p.WhenCreated), micros(p.WhenChanged)).Scan(&p.ID)
		if err != nil {
			return t.c.db.uniqueErr(err, "authentication policy "+p.Name)
		}
		return nil
	})
}

func (t dirTx) UpdateAuthPolicy(ctx context.Context, p store.AuthPolicy) error {
	res, err := t.c.exec(ctx, `UPDATE auth_policies SET allow_basic_auth_pop = ?, allow_basic_auth_imap = ?,
		allow_basic_auth_smtp = ?, when_changed = ? WHERE id = ?`,
		p.AllowBasicAuthPop, p.AllowBasicAuthImap, p.AllowBasicAuthSmtp, micros(p.WhenChanged), p.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("authentication policy %d: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) DeleteAuthPolicy(ctx context.Context, id int64) error {
	res, err := t.c.exec(ctx, `DELETE FROM auth_policies WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("authentication policy %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) AuthPolicyUsers(ctx context.Context, name string) (int, error) {
	var n int
	err := t.c.queryRow(ctx, `SELECT COUNT(*) FROM mailboxes WHERE auth_policy_lc = ?`, strings.ToLower(name)).Scan(&n)
	return n, err
}

func (t dirTx) SetMailboxAuthPolicy(ctx context.Context, mailboxID int64, name string, when time.Time) error {
	res, err := t.c.exec(ctx, `UPDATE mailboxes SET auth_policy_lc = ?, when_changed = ? WHERE id = ?`,
		strings.ToLower(name), micros(when), mailboxID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %d: %w", mailboxID, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) Plan(ctx context.Context) (store.CASMailboxPlan, error) {
	var p store.CASMailboxPlan
	var changed int64
	err := t.c.queryRow(ctx, `SELECT pop_enabled, imap_enabled, when_changed FROM cas_mailbox_plan WHERE id = 1`).
		Scan(&p.PopEnabled, &p.ImapEnabled, &changed)
	p.WhenChanged = fromMicros(changed)
	return p, err
}

func (t dirTx) SetPlan(ctx context.Context, p store.CASMailboxPlan) error {
	_, err := t.c.exec(ctx, `UPDATE cas_mailbox_plan SET pop_enabled = ?, imap_enabled = ?, when_changed = ? WHERE id = 1`,
		p.PopEnabled, p.ImapEnabled, micros(p.WhenChanged))
	return err
}

const mailboxColumns = `id, guid, name, display_name, alias, primary_smtp_address, email_addresses, upn, password_hash,
	pop_enabled, imap_enabled, when_created, when_changed, last_pop_logon, last_imap_logon,
	issue_warning_quota, prohibit_send_quota, prohibit_send_receive_quota, smtp_client_auth_disabled, scram_sha256, auth_policy_lc`

func scanMailbox(s interface{ Scan(...any) error }) (store.Mailbox, error) {
	var m store.Mailbox
	var addrs string
	var created, changed, lastPop, lastImap int64
	var warn, send, sendReceive sql.NullInt64
	var smtpOff sql.NullBool
	err := s.Scan(&m.ID, &m.GUID, &m.Name, &m.DisplayName, &m.Alias, &m.PrimarySmtpAddress, &addrs,
		&m.UserPrincipalName, &m.PasswordHash, &m.PopEnabled, &m.ImapEnabled, &created, &changed, &lastPop, &lastImap,
		&warn, &send, &sendReceive, &smtpOff, &m.SCRAMSHA256, &m.AuthenticationPolicy)
	if smtpOff.Valid {
		v := smtpOff.Bool
		m.SmtpClientAuthenticationDisabled = &v
	}
	m.Quota = store.MailboxQuota{IssueWarning: warn.Int64, ProhibitSend: send.Int64, ProhibitSendReceive: sendReceive.Int64}
	if addrs != "" {
		m.EmailAddresses = strings.Split(addrs, "\n")
	}
	m.WhenCreated, m.WhenChanged = fromMicros(created), fromMicros(changed)
	m.LastPopLogon, m.LastImapLogon = fromMicros(lastPop), fromMicros(lastImap)
	return m, err
}

func collectMailboxes(rows *sql.Rows, err error) ([]store.Mailbox, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (t dirTx) MailboxByID(ctx context.Context, id int64) (store.Mailbox, error) {
	m, err := scanMailbox(t.c.queryRow(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return m, err
}

func (t dirTx) FindMailboxes(ctx context.Context, identity string, limit int) ([]store.Mailbox, error) {
	lc := strings.ToLower(strings.TrimSpace(identity))
	if lc == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = -1
	}
	q := `SELECT ` + mailboxColumns + ` FROM mailboxes WHERE id IN (
		SELECT id FROM mailboxes WHERE name_lc = ?
		UNION SELECT id FROM mailboxes WHERE display_name_lc = ?
		UNION SELECT id FROM mailboxes WHERE alias_lc = ?
		UNION SELECT id FROM mailboxes WHERE upn_lc = ?
		UNION SELECT id FROM mailboxes WHERE guid = ?
		UNION SELECT mailbox_id FROM mailbox_addresses WHERE address_lc = ?)
		ORDER BY id`
	args := []any{lc, lc, lc, lc, lc, lc}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return collectMailboxes(t.c.query(ctx, q, args...))
}

func (t dirTx) MailboxByAddress(ctx context.Context, address string) (store.Mailbox, error) {
	m, err := scanMailbox(t.c.queryRow(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id =
		(SELECT mailbox_id FROM mailbox_addresses WHERE address_lc = ?)`, strings.ToLower(address)))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("address %s: %w", address, store.ErrNotFound)
	}
	return m, err
}

// wordSeparators start a new word inside a name or an address for the
// search of the mailbox list.
var wordSeparators = []string{" ", ".", "@", "-", "_", "+"}

// searchLike is the condition that a mailbox's name, display name, alias
// or an address has s (lower-cased) at a word start, read from the values
// themselves: one LIKE for s anywhere, which most values fail, then one at
// each kind of word start.
func searchLike(s string) (string, []any) {
	hi := s + "\U0010FFFF"
	anywhere := "%" + escapeLike(s) + "%"
	words := func(col string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `(%s LIKE ? ESCAPE '\' AND (%s >= ? AND %s < ?`, col, col, col)
		for range wordSeparators {
			fmt.Fprintf(&b, ` OR %s LIKE ? ESCAPE '\'`, col)
		}
		b.WriteString("))")
		return b.String()
	}
	var args []any
	for range 4 {
		args = append(args, anywhere, s, hi)
		for _, sep := range wordSeparators {
			args = append(args, "%"+escapeLike(sep+s)+"%")
		}
	}
	return `(` + words("name_lc") + ` OR ` + words("display_name_lc") + ` OR ` + words("alias_lc") +
		` OR id IN (SELECT mailbox_id FROM mailbox_addresses WHERE ` + words("address_lc") + `))`, args
}

func (t dirTx) ListMailboxes(ctx context.Context, q store.MailboxQuery) ([]store.Mailbox, int, error) {
	if cp := t.c.db.d.CustomPlans; cp != "" && t.c.tx != nil {
		if _, err := t.c.execDynamic(ctx, cp); err != nil {
			return nil, 0, err
		}
	}
	var where []string
	var args []any
	if q.Filter != nil {
		w, a, err := filterSQL(q.Filter)
		if err != nil {
			return nil, 0, err
		}
		where = append(where, w)
		args = append(args, a...)
	}
	if s := strings.ToLower(strings.TrimSpace(q.Search)); s != "" {
		// As the Exchange admin center's search: the text matches the start
		// of any word of the name, display name, alias or an address
		// ("Knapp" finds Christa Knapp, "contoso" every address
		// @contoso.com, "lee@con" christa.lee@contoso.com). mailbox_words
		// holds each value from each word start on, cut to searchWordRunes
		// characters: a prefix range of its key finds the mailboxes.
		where = append(where, `id IN (SELECT mailbox_id FROM mailbox_words WHERE word >= ? AND word < ?)`)
		if r := []rune(s); len(r) > searchWordRunes {
			// Longer than what the table keeps: it finds the candidates,
			// the values themselves say which match.
			cut := string(r[:searchWordRunes])
			args = append(args, cut, cut+"\U0010FFFF")
			w, a := searchLike(s)
			where = append(where, w)
			args = append(args, a...)
		} else {
			args = append(args, s, s+"\U0010FFFF")
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if !q.NoCount {
		rows, err := t.c.queryDynamic(ctx, `SELECT count(*) FROM mailboxes`+cond, args...)
		if err != nil {
			return nil, 0, err
		}
		for rows.Next() {
			if err := rows.Scan(&total); err != nil {
				rows.Close()
				return nil, 0, err
			}
		}
		rows.Close()
	}
	order, err := orderSQL(q.Sort)
	if err != nil {
		return nil, 0, err
	}
	if q.After != nil {
		w, a, err := afterSQL(q.Sort, *q.After)
		if err != nil {
			return nil, 0, err
		}
		if cond == "" {
			cond = " WHERE " + w
		} else {
			cond += " AND " + w
		}
		args = append(args, a...)
	}
	sqlq := `SELECT ` + mailboxColumns + ` FROM mailboxes` + cond + order
	if q.Limit > 0 {
		sqlq += ` LIMIT ? OFFSET ?`
		args = append(args, q.Limit, q.Offset)
	} else if q.Offset > 0 {
		sqlq += ` LIMIT ? OFFSET ?`
		args = append(args, int64(math.MaxInt64), q.Offset)
	}
	page, err := collectMailboxes(t.c.queryDynamic(ctx, sqlq, args...))
	return page, total, err
}

// afterSQL is the condition of keyset paging: the rows that sort after
// the cursor in the order orderSQL gives (the sort field, then id
// ascending).
func afterSQL(keys []store.SortKey, c store.MailboxCursor) (string, []any, error) {
	field, desc := store.FieldDisplayName, false
	switch len(keys) {
	case 0:
	case 1:
		field, desc = keys[0].Field, keys[0].Desc
	default:
		return "", nil, fmt.Errorf("list after a cursor: sorted by %d fields, at most 1 is supported: %w", len(keys), store.ErrInvalid)
	}
	fc, ok := fieldColumn[field]
	if !ok || field == store.FieldEmailAddresses {
		return "", nil, fmt.Errorf("list after a cursor: property %q cannot be sorted: %w", field, store.ErrInvalid)
	}
	var v any
	switch fc.kind {
	case 's':
		s, ok := c.Value.(string)
		if !ok {
			return "", nil, fmt.Errorf("list after a cursor: %s takes text, not %T: %w", field, c.Value, store.ErrInvalid)
		}
		v = strings.ToLower(s)
	case 'b':
		b, ok := c.Value.(bool)
		if !ok {
			return "", nil, fmt.Errorf("list after a cursor: %s takes a Boolean, not %T: %w", field, c.Value, store.ErrInvalid)
		}
		v = b
	case 't':
		t, ok := c.Value.(time.Time)
		if !ok {
			return "", nil, fmt.Errorf("list after a cursor: %s takes a time, not %T: %w", field, c.Value, store.ErrInvalid)
		}
		v = micros(t)
	}
	op := ">"
	if desc {
		op = "<"
	}
	return "(" + fc.col + " " + op + " ? OR " + fc.col + " = ? AND id > ?)", []any{v, v, c.ID}, nil
}

// insertAddresses records every address of m for lookup and uniqueness.
func (t dirTx) insertAddresses(ctx context.Context, m *store.Mailbox) error {
	seen := map[string]bool{}
	all := append([]string{m.PrimarySmtpAddress}, m.EmailAddresses...)
	for i, a := range all {
		lc := strings.ToLower(a)
		if seen[lc] {
			continue
		}
		seen[lc] = true
		if _, err := t.c.exec(ctx, `INSERT INTO mailbox_addresses (address_lc, mailbox_id, address, is_primary) VALUES (?, ?, ?, ?)`,
			lc, m.ID, a, i == 0); err != nil {
			return t.c.db.uniqueErr(err, "email address "+a)
		}
	}
	return nil
}

// searchWordRunes is how much of a value mailbox_words keeps from each
// word start (the migration that made the table cuts at the same length).
const searchWordRunes = 32

// searchWords returns what mailbox_words holds for values (lower-cased):
// each value from each of its word starts on (its start, and after each of
// wordSeparators), cut to searchWordRunes characters, each text once. The
// migration 0020 of each engine makes the same rows in SQL.
func searchWords(values ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		runes := []rune(v)
		for i := range runes {
			if i > 0 && !isWordSeparator(runes[i-1]) {
				continue
			}
			w := string(runes[i:min(len(runes), i+searchWordRunes)])
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

func isWordSeparator(r rune) bool { return slices.Contains(wordSeparators, string(r)) }

// wordsPerInsert bounds the rows of one INSERT of insertWords (two
// parameters each; a mailbox with thousands of addresses must not reach
// an engine's limit on parameters).
const wordsPerInsert = 500

// insertWords records m's search words (searchWords), in one statement
// for all but mailboxes with very many addresses.
func (t dirTx) insertWords(ctx context.Context, m *store.Mailbox) error {
	values := []string{strings.ToLower(m.Name), strings.ToLower(m.DisplayName), strings.ToLower(m.Alias), strings.ToLower(m.PrimarySmtpAddress)}
	for _, a := range m.EmailAddresses {
		values = append(values, strings.ToLower(a))
	}
	for words := range slices.Chunk(searchWords(values...), wordsPerInsert) {
		var b strings.Builder
		b.WriteString(`INSERT INTO mailbox_words (word, mailbox_id) VALUES `)
		args := make([]any, 0, 2*len(words))
		for i, w := range words {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?)")
			args = append(args, w, m.ID)
		}
		if _, err := t.c.execDynamic(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("record the search words of mailbox %s: %w", m.Name, err)
		}
	}
	return nil
}

func (t dirTx) InsertMailbox(ctx context.Context, m *store.Mailbox) error {
	return t.c.savepoint(ctx, func() error { return t.insertMailbox(ctx, m) })
}

func (t dirTx) insertMailbox(ctx context.Context, m *store.Mailbox) error {
	if m.GUID == "" {
		m.GUID = uuid.NewString()
	}
	now := time.Now().UTC()
	if m.WhenCreated.IsZero() {
		m.WhenCreated = now
	}
	if m.WhenChanged.IsZero() {
		m.WhenChanged = m.WhenCreated
	}
	err := t.c.queryRow(ctx, `INSERT INTO mailboxes (guid, name, name_lc, display_name, display_name_lc, alias, alias_lc,
		primary_smtp_address, primary_lc, email_addresses, upn, upn_lc, password_hash, pop_enabled, imap_enabled,
		when_created, when_changed, last_pop_logon, last_imap_logon, scram_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		strings.ToLower(m.GUID), m.Name, strings.ToLower(m.Name), m.DisplayName, strings.ToLower(m.DisplayName),
		m.Alias, strings.ToLower(m.Alias), m.PrimarySmtpAddress, strings.ToLower(m.PrimarySmtpAddress),
		strings.Join(m.EmailAddresses, "\n"), m.UserPrincipalName, strings.ToLower(m.UserPrincipalName),
		m.PasswordHash, m.PopEnabled, m.ImapEnabled, micros(m.WhenCreated), micros(m.WhenChanged),
		micros(m.LastPopLogon), micros(m.LastImapLogon), m.SCRAMSHA256).Scan(&m.ID)
	if err != nil {
		return t.c.db.uniqueErr(err, "mailbox "+m.Name)
	}
	if err := t.insertAddresses(ctx, m); err != nil {
		return err
	}
	if err := t.insertWords(ctx, m); err != nil {
		return err
	}
	for _, f := range defaultFolders {
		if _, err := createFolder(ctx, t.c, m.ID, f.name, f.specialUse); err != nil {
			return fmt.Errorf("create folder %s: %w", f.name, err)
		}
		if _, err := t.c.exec(ctx, `INSERT INTO subscriptions (mailbox_id, name) VALUES (?, ?)`, m.ID, f.name); err != nil {
			return err
		}
	}
	return nil
}

// defaultFolders are created with every mailbox (RFC 6154 special uses).
var defaultFolders = []struct{ name, specialUse string }{
	{"INBOX", ""},
	{"Drafts", `\Drafts`},
	{"Sent", `\Sent`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

func (t dirTx) UpdateMailbox(ctx context.Context, m store.Mailbox) error {
	return t.c.savepoint(ctx, func() error { return t.updateMailbox(ctx, m) })
}

func (t dirTx) updateMailbox(ctx context.Context, m store.Mailbox) error {
	res, err := t.c.exec(ctx, `UPDATE mailboxes SET name = ?, name_lc = ?, display_name = ?, display_name_lc = ?,
		alias = ?, alias_lc = ?, primary_smtp_address = ?, primary_lc = ?, email_addresses = ?, upn = ?, upn_lc = ?,
		password_hash = ?, pop_enabled = ?, imap_enabled = ?, when_changed = ?, last_pop_logon = ?, last_imap_logon = ?,
		scram_sha256 = ? WHERE id = ?`,
		m.Name, strings.ToLower(m.Name), m.DisplayName, strings.ToLower(m.DisplayName), m.Alias, strings.ToLower(m.Alias),
		m.PrimarySmtpAddress, strings.ToLower(m.PrimarySmtpAddress), strings.Join(m.EmailAddresses, "\n"),
		m.UserPrincipalName, strings.ToLower(m.UserPrincipalName), m.PasswordHash, m.PopEnabled, m.ImapEnabled,
		micros(m.WhenChanged), micros(m.LastPopLogon), micros(m.LastImapLogon), m.SCRAMSHA256, m.ID)
	if err != nil {
		return t.c.db.uniqueErr(err, "mailbox "+m.Name)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %d: %w", m.ID, store.ErrNotFound)
	}
	for _, q := range []string{`DELETE FROM mailbox_addresses WHERE mailbox_id = ?`, `DELETE FROM mailbox_words WHERE mailbox_id = ?`} {
		if _, err := t.c.exec(ctx, q, m.ID); err != nil {
			return err
		}
	}
	if err := t.insertAddresses(ctx, &m); err != nil {
		return err
	}
	return t.insertWords(ctx, &m)
}

func (t dirTx) SetMailboxQuota(ctx context.Context, id int64, q store.MailboxQuota, whenChanged time.Time) error {
	res, err := t.c.exec(ctx, `UPDATE mailboxes SET issue_warning_quota = ?, prohibit_send_quota = ?, prohibit_send_receive_quota = ?,
		when_changed = ? WHERE id = ?`,
		quotaValue(q.IssueWarning), quotaValue(q.ProhibitSend), quotaValue(q.ProhibitSendReceive), micros(whenChanged), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) SetMailboxSmtpClientAuth(ctx context.Context, id int64, disabled *bool, whenChanged time.Time) error {
	var v sql.NullBool
	if disabled != nil {
		v = sql.NullBool{Bool: *disabled, Valid: true}
	}
	res, err := t.c.exec(ctx, `UPDATE mailboxes SET smtp_client_auth_disabled = ?, when_changed = ? WHERE id = ?`,
		v, micros(whenChanged), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) SetMailboxProtocols(ctx context.Context, id int64, pop, imap bool, whenChanged time.Time) error {
	res, err := t.c.exec(ctx, `UPDATE mailboxes SET pop_enabled = ?, imap_enabled = ?, when_changed = ? WHERE id = ?`,
		pop, imap, micros(whenChanged), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) DeleteMailbox(ctx context.Context, id int64) error {
	// The bodies of the deleted messages are those the delete returns; they
	// may be shared with other mailboxes (one delivery to several
	// recipients stores one body), so they are only marked for the sweep,
	// which deletes the unreferenced ones.
	bodies, err := scanColumn[int64](t.c.query(ctx, `DELETE FROM messages WHERE folder_id IN (SELECT id FROM folders WHERE mailbox_id = ?) RETURNING body_id`, id))
	if err != nil {
		return err
	}
	for _, stmt := range []string{
		`DELETE FROM expunged WHERE folder_id IN (SELECT id FROM folders WHERE mailbox_id = ?)`,
		`DELETE FROM folders WHERE mailbox_id = ?`,
		`DELETE FROM subscriptions WHERE mailbox_id = ?`,
		`DELETE FROM mailbox_addresses WHERE mailbox_id = ?`,
		`DELETE FROM mailbox_words WHERE mailbox_id = ?`,
		`DELETE FROM role_group_members WHERE mailbox_id = ?`,
		`DELETE FROM admin_sessions WHERE mailbox_id = ?`,
		`DELETE FROM app_passwords WHERE mailbox_id = ?`,
	} {
		if _, err := t.c.exec(ctx, stmt, id); err != nil {
			return err
		}
	}
	slices.Sort(bodies)
	if err := markOrphanBodies(ctx, t.c, slices.Compact(bodies)); err != nil {
		return err
	}
	res, err := t.c.exec(ctx, `DELETE FROM mailboxes WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t dirTx) RoleGroups(ctx context.Context) ([]store.RoleGroup, error) {
	return collectRoleGroups(t.c.query(ctx, `SELECT id, name, description FROM role_groups ORDER BY id`))
}

func collectRoleGroups(rows *sql.Rows, err error) ([]store.RoleGroup, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RoleGroup
	for rows.Next() {
		var g store.RoleGroup
		if err := rows.Scan(&g.ID, &g.Name, &g.Description); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (t dirTx) RoleGroupByName(ctx context.Context, name string) (store.RoleGroup, error) {
	var g store.RoleGroup
	err := t.c.queryRow(ctx, `SELECT id, name, description FROM role_groups WHERE name_lc = ?`, strings.ToLower(strings.TrimSpace(name))).
		Scan(&g.ID, &g.Name, &g.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("role group %q: %w", name, store.ErrNotFound)
	}
	return g, err
}

func (t dirTx) RoleGroupMembers(ctx context.Context, groupID int64) ([]store.Mailbox, error) {
	return collectMailboxes(t.c.query(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id IN
		(SELECT mailbox_id FROM role_group_members WHERE role_group_id = ?) ORDER BY display_name_lc, id`, groupID))
}

func (t dirTx) MemberOf(ctx context.Context, mailboxID int64) ([]store.RoleGroup, error) {
	return collectRoleGroups(t.c.query(ctx, `SELECT id, name, description FROM role_groups WHERE id IN
		(SELECT role_group_id FROM role_group_members WHERE mailbox_id = ?) ORDER BY id`, mailboxID))
}

func (t dirTx) AddRoleGroupMember(ctx context.Context, groupID, mailboxID int64) error {
	res, err := t.c.exec(ctx, `INSERT INTO role_group_members (role_group_id, mailbox_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, groupID, mailboxID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("role group member: %w", store.ErrExists)
	}
	return nil
}

func (t dirTx) RemoveRoleGroupMember(ctx context.Context, groupID, mailboxID int64) error {
	res, err := t.c.exec(ctx, `DELETE FROM role_group_members WHERE role_group_id = ? AND mailbox_id = ?`, groupID, mailboxID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("role group member: %w", store.ErrNotFound)
	}
	return nil
}

func (t dirTx) InsertAudit(ctx context.Context, r *store.AuditRecord) error {
	if r.RunDate.IsZero() {
		r.RunDate = time.Now().UTC()
	}
	params, err := json.Marshal(nonNil(r.CmdletParameters))
	if err != nil {
		return err
	}
	props, err := json.Marshal(nonNil(r.ModifiedProperties))
	if err != nil {
		return err
	}
	return t.c.queryRow(ctx, `INSERT INTO audit_records (run_date, caller, caller_lc, client_address, surface, cmdlet_name,
		cmdlet_name_lc, cmdlet_parameters, object_modified, object_modified_lc, modified_properties, succeeded, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(r.RunDate), r.Caller, strings.ToLower(r.Caller), r.ClientAddress, r.Surface, r.CmdletName,
		strings.ToLower(r.CmdletName), string(params), r.ObjectModified, strings.ToLower(r.ObjectModified),
		string(props), r.Succeeded, r.Error).Scan(&r.ID)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (t dirTx) SearchAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, strings.ToLower(strings.TrimSpace(v)))
		}
	}
	in("cmdlet_name_lc", q.Cmdlets)
	in("object_modified_lc", q.ObjectIDs)
	in("caller_lc", q.UserIDs)
	if !q.Start.IsZero() {
		where = append(where, "run_date >= ?")
		args = append(args, micros(q.Start))
	}
	if !q.End.IsZero() {
		where = append(where, "run_date <= ?")
		args = append(args, micros(q.End))
	}
	if q.IsSuccess != nil {
		where = append(where, "succeeded = ?")
		args = append(args, *q.IsSuccess)
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	sqlq := `SELECT id, run_date, caller, client_address, surface, cmdlet_name, cmdlet_parameters, object_modified,
		modified_properties, succeeded, error FROM audit_records`
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += " ORDER BY id DESC"
	if q.Limit > 0 {
		sqlq += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := t.c.queryDynamic(ctx, sqlq, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var run int64
		var params, props string
		if err := rows.Scan(&r.ID, &run, &r.Caller, &r.ClientAddress, &r.Surface, &r.CmdletName, &params,
			&r.ObjectModified, &props, &r.Succeeded, &r.Error); err != nil {
			return nil, err
		}
		r.RunDate = fromMicros(run)
		if err := json.Unmarshal([]byte(params), &r.CmdletParameters); err != nil {
			return nil, fmt.Errorf("audit record %d parameters: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(props), &r.ModifiedProperties); err != nil {
			return nil, fmt.Errorf("audit record %d properties: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t dirTx) InsertAdminSession(ctx context.Context, s store.AdminSession) error {
	_, err := t.c.exec(ctx, `INSERT INTO admin_sessions (token_hash, mailbox_id, surface, client_address, created, expires)
		VALUES (?, ?, ?, ?, ?, ?)`, s.TokenHash, s.MailboxID, s.Surface, s.ClientAddress, micros(s.Created), micros(s.Expires))
	return err
}

func (t dirTx) AdminSession(ctx context.Context, tokenHash string, now time.Time) (store.AdminSession, error) {
	s := store.AdminSession{TokenHash: tokenHash}
	var created, expires int64
	err := t.c.queryRow(ctx, `SELECT mailbox_id, surface, client_address, created, expires FROM admin_sessions
		WHERE token_hash = ? AND expires > ?`, tokenHash, micros(now)).Scan(&s.MailboxID, &s.Surface, &s.ClientAddress, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("admin session: %w", store.ErrNotFound)
	}
	s.Created, s.Expires = fromMicros(created), fromMicros(expires)
	return s, err
}

func (t dirTx) DeleteAdminSession(ctx context.Context, tokenHash string) error {
	_, err := t.c.exec(ctx, `DELETE FROM admin_sessions WHERE token_hash = ?`, tokenHash)
	return err
}

func (t dirTx) DeleteAdminSessions(ctx context.Context, mailboxID int64, now time.Time) error {
	_, err := t.c.exec(ctx, `DELETE FROM admin_sessions WHERE mailbox_id = ? OR expires <= ?`, mailboxID, micros(now))
	return err
}

func (t dirTx) UsageReport(ctx context.Context, since time.Time) ([]store.UsageRow, error) {
	rows, err := t.c.query(ctx, `SELECT l.mailbox_id, m.upn, m.display_name,
		COALESCE(MAX(CASE WHEN l.protocol = 'pop3' AND l.result = 'success' THEN l.time END), 0),
		COALESCE(MAX(CASE WHEN l.protocol = 'imap4' AND l.result = 'success' THEN l.time END), 0),
		SUM(CASE WHEN l.protocol = 'pop3' AND l.result = 'success' THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.protocol = 'imap4' AND l.result = 'success' THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.protocol = 'pop3' AND l.result IN ('disabled', 'blocked', 'notls') THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.protocol = 'imap4' AND l.result IN ('disabled', 'blocked', 'notls') THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.result = 'failed' THEN 1 ELSE 0 END),
		COALESCE(MAX(CASE WHEN l.protocol = 'smtp' AND l.result = 'success' THEN l.time END), 0),
		SUM(CASE WHEN l.protocol = 'smtp' AND l.result = 'success' THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.protocol = 'smtp' AND l.result IN ('disabled', 'blocked', 'notls') THEN 1 ELSE 0 END)
		FROM login_records l JOIN mailboxes m ON m.id = l.mailbox_id
		WHERE l.time >= ? AND l.mailbox_id <> 0
		GROUP BY l.mailbox_id, m.upn, m.display_name, m.display_name_lc
		ORDER BY m.display_name_lc, l.mailbox_id`, micros(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var r store.UsageRow
		var pop, imap, smtp int64
		if err := rows.Scan(&r.MailboxID, &r.UserPrincipalName, &r.DisplayName, &pop, &imap,
			&r.PopLogins, &r.ImapLogins, &r.PopRefused, &r.ImapRefused, &r.Failed, &smtp, &r.SmtpLogins, &r.SmtpRefused); err != nil {
			return nil, err
		}
		r.LastPop, r.LastImap, r.LastSmtp = fromMicros(pop), fromMicros(imap), fromMicros(smtp)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecentLogins reads the newest records first along the index on
// (mailbox_id, time), so it costs a few rows however long the log is.
func (t dirTx) RecentLogins(ctx context.Context, mailboxID int64, q store.LoginQuery) ([]store.LoginRecord, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	where := "mailbox_id = ?"
	args := []any{mailboxID}
	if q.Protocol != "" {
		where += " AND protocol = ?"
		args = append(args, q.Protocol)
	}
	if len(q.Results) > 0 {
		where += " AND result IN (?" + strings.Repeat(", ?", len(q.Results)-1) + ")"
		for _, r := range q.Results {
			args = append(args, r)
		}
	}
	args = append(args, q.Limit)
	rows, err := t.c.query(ctx, `SELECT time, protocol, mailbox_id, username, result, reason, remote_addr, tls, client_name, client_version,
		auth_method, app_password FROM login_records WHERE `+where+` ORDER BY time DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LoginRecord
	for rows.Next() {
		var r store.LoginRecord
		var at int64
		if err := rows.Scan(&at, &r.Protocol, &r.MailboxID, &r.Username, &r.Result, &r.Reason, &r.RemoteAddr, &r.TLS,
			&r.ClientName, &r.ClientVersion, &r.AuthMethod, &r.AppPassword); err != nil {
			return nil, err
		}
		r.Time = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

const microsPerDay = int64(24 * time.Hour / time.Microsecond)

func (t dirTx) DailyActiveUsers(ctx context.Context, since time.Time) ([]store.DailyActive, error) {
	rows, err := t.c.query(ctx, `SELECT time / ?,
		COUNT(DISTINCT CASE WHEN protocol = 'pop3' THEN mailbox_id END),
		COUNT(DISTINCT CASE WHEN protocol = 'imap4' THEN mailbox_id END)
		FROM login_records WHERE result = 'success' AND time >= ? AND mailbox_id <> 0
		GROUP BY 1 ORDER BY 1`, microsPerDay, micros(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DailyActive
	for rows.Next() {
		var d store.DailyActive
		var day int64
		if err := rows.Scan(&day, &d.Pop, &d.Imap); err != nil {
			return nil, err
		}
		d.Day = fromMicros(day * microsPerDay)
		out = append(out, d)
	}
	return out, rows.Err()
}

// InsertLoginRecords implements store.Store.
func (db *DB) InsertLoginRecords(ctx context.Context, recs []store.LoginRecord) error {
	if len(recs) == 0 {
		return nil
	}
	return db.write(ctx, nil, func(c conn) error {
		for _, r := range recs {
			if _, err := c.exec(ctx, `INSERT INTO login_records (time, protocol, mailbox_id, username, result, reason,
				remote_addr, tls, client_name, client_version, auth_method, app_password) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				micros(r.Time), r.Protocol, r.MailboxID, r.Username, r.Result, r.Reason, r.RemoteAddr, r.TLS,
				r.ClientName, r.ClientVersion, r.AuthMethod, r.AppPassword); err != nil {
				return err
			}
			if r.AppPasswordID != 0 && r.Result == store.LoginSuccess {
				// The app password's last use, written with its record, off
				// the login path; a revoked one matches no row. Records may
				// come out of order (a batch retried), so the time only
				// moves forward.
				if _, err := c.exec(ctx, `UPDATE app_passwords SET last_used = ?, last_used_protocol = ?, last_used_addr = ?
					WHERE id = ? AND last_used < ?`, micros(r.Time), r.Protocol, r.RemoteAddr, r.AppPasswordID, micros(r.Time)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// PruneLoginRecords implements store.Store.
func (db *DB) PruneLoginRecords(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, nil, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM login_records WHERE time < ?`, micros(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
