package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// findManyChunk is the number of identities of one FindMailboxesMany
// query: each is bound six times, well under SQLite's and PostgreSQL's
// limits on bound parameters.
const findManyChunk = 500

// mailboxColumnsM is mailboxColumns qualified by the alias m.
var mailboxColumnsM = func() string {
	cols := strings.Split(mailboxColumns, ",")
	for i, c := range cols {
		cols[i] = "m." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func (t dirTx) FindMailboxesMany(ctx context.Context, identities []string, limit int) ([][]store.Mailbox, error) {
	out := make([][]store.Mailbox, len(identities))
	// The distinct non-empty lower-cased identities, each once.
	var keys []string
	seen := map[string]bool{}
	for _, id := range identities {
		lc := strings.ToLower(strings.TrimSpace(id))
		if lc != "" && !seen[lc] {
			seen[lc] = true
			keys = append(keys, lc)
		}
	}
	found := make(map[string][]store.Mailbox, len(keys))
	for start := 0; start < len(keys); start += findManyChunk {
		chunk := keys[start:min(start+findManyChunk, len(keys))]
		in := placeholders(len(chunk))
		q := `SELECT k.lc, ` + mailboxColumnsM + ` FROM (
			SELECT name_lc AS lc, id FROM mailboxes WHERE name_lc IN (` + in + `)
			UNION SELECT display_name_lc, id FROM mailboxes WHERE display_name_lc IN (` + in + `)
			UNION SELECT alias_lc, id FROM mailboxes WHERE alias_lc IN (` + in + `)
			UNION SELECT upn_lc, id FROM mailboxes WHERE upn_lc IN (` + in + `)
			UNION SELECT guid, id FROM mailboxes WHERE guid IN (` + in + `)
			UNION SELECT address_lc, mailbox_id FROM mailbox_addresses WHERE address_lc IN (` + in + `)
		) k JOIN mailboxes m ON m.id = k.id ORDER BY k.lc, m.id`
		args := make([]any, 0, 6*len(chunk))
		for range 6 {
			for _, k := range chunk {
				args = append(args, k)
			}
		}
		rows, err := t.c.queryDynamic(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var lc string
			var m store.Mailbox
			m, err = scanMailbox(prefixScanner{&lc, rows})
			if err != nil {
				break
			}
			if limit <= 0 || len(found[lc]) < limit {
				found[lc] = append(found[lc], m)
			}
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	for i, id := range identities {
		if ms := found[strings.ToLower(strings.TrimSpace(id))]; len(ms) > 0 {
			out[i] = slices.Clone(ms)
		}
	}
	return out, nil
}

// byGUIDChunk is the number of GUIDs of one MailboxesByGUID query.
const byGUIDChunk = 1000

func (t dirTx) MailboxesByGUID(ctx context.Context, guids []string) (map[string]store.Mailbox, error) {
	var keys []string
	seen := map[string]bool{}
	for _, g := range guids {
		lc := strings.ToLower(strings.TrimSpace(g))
		if lc != "" && !seen[lc] {
			seen[lc] = true
			keys = append(keys, lc)
		}
	}
	out := make(map[string]store.Mailbox, len(keys))
	for start := 0; start < len(keys); start += byGUIDChunk {
		chunk := keys[start:min(start+byGUIDChunk, len(keys))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rows, err := t.c.queryDynamic(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE guid IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m store.Mailbox
			if m, err = scanMailbox(rows); err != nil {
				break
			}
			out[strings.ToLower(m.GUID)] = m
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// prefixScanner scans a leading column into first, the rest into the
// destinations its Scan is given.
type prefixScanner struct {
	first any
	rows  interface{ Scan(...any) error }
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.rows.Scan(append([]any{p.first}, dest...)...)
}

// insertAuditsChunk is the number of records of one InsertAudits
// statement (13 bound parameters each).
const insertAuditsChunk = 500

func (t dirTx) InsertAudits(ctx context.Context, recs []*store.AuditRecord) error {
	for start := 0; start < len(recs); start += insertAuditsChunk {
		chunk := recs[start:min(start+insertAuditsChunk, len(recs))]
		args := make([]any, 0, 13*len(chunk))
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_records (run_date, caller, caller_lc, client_address, surface, cmdlet_name,
		cmdlet_name_lc, cmdlet_parameters, object_modified, object_modified_lc, modified_properties, succeeded, error) VALUES `)
		for i, r := range chunk {
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
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, micros(r.RunDate), r.Caller, strings.ToLower(r.Caller), r.ClientAddress, r.Surface, r.CmdletName,
				strings.ToLower(r.CmdletName), string(params), r.ObjectModified, strings.ToLower(r.ObjectModified),
				string(props), r.Succeeded, r.Error)
		}
		b.WriteString(" RETURNING id")
		rows, err := t.c.queryDynamic(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(chunk))
		for rows.Next() {
			var id int64
			if err = rows.Scan(&id); err != nil {
				break
			}
			ids = append(ids, id)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
		if len(ids) != len(chunk) {
			return fmt.Errorf("audit records: %d inserted, %d IDs returned", len(chunk), len(ids))
		}
		// The rows of one statement take ascending IDs in the order of
		// its VALUES (SQLite: one writer; PostgreSQL: the identity's
		// sequence is drawn row by row), but RETURNING may list them in
		// any order.
		slices.Sort(ids)
		for i, r := range chunk {
			r.ID = ids[i]
		}
	}
	return nil
}
