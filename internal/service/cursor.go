package service

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Continuation tokens. A listing that has more than one page answers each
// page with a token naming where the page ended (ListOptions.Cursor,
// Page.Next); the next page is asked with it. The token holds the sort
// value and ID of the last object (keyset paging), not a count of objects
// to skip: a page still begins where the last one ended when objects
// already listed were changed out of the filter or removed meanwhile
// (Get-Mailbox -ResultSize Unlimited | Remove-Mailbox). An offset there
// skipped one page's worth of mailboxes on every page.
//
// The token is opaque to clients: base64url of a small JSON object.

// mailboxToken is the content of a mailbox listing's token.
type mailboxToken struct {
	Sort  string `json:"s"`           // the sort field; "" is the default order
	Desc  bool   `json:"d,omitempty"` // descending
	Value any    `json:"v"`           // the last mailbox's sort value
	ID    int64  `json:"i"`           // the last mailbox's ID
	// Total is the listing's total as its first page counted it. The
	// next pages answer with it instead of counting again: the count
	// reads every match, and over 100,000 mailboxes that was most of
	// the time of Get-CASMailbox -ResultSize Unlimited | Set-CASMailbox,
	// growing with the square of the directory (docs/performance.md,
	// Many mailboxes). 0 (a token from before it): count again.
	Total int `json:"n,omitempty"`
}

// auditToken is the content of an audit search's token.
type auditToken struct {
	Before int64 `json:"b"` // the last record's ID (newest first)
}

func encodeToken(v any) string {
	data, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(data)
}

// badToken is the error for a token this listing did not give.
func badToken() error {
	return invalid("Cursor", "The continuation token is not valid for this listing. Ask for the first page again without it.")
}

func decodeToken(tok string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(data, v) != nil {
		return badToken()
	}
	return nil
}

// sortValue is the value of m's sort field, as store.MailboxCursor takes it.
func sortValue(m store.Mailbox, f store.MailboxField) any {
	switch f {
	case store.FieldName:
		return m.Name
	case store.FieldAlias:
		return m.Alias
	case store.FieldPrimarySmtpAddress:
		return m.PrimarySmtpAddress
	case store.FieldUserPrincipalName:
		return m.UserPrincipalName
	case store.FieldGUID:
		return m.GUID
	case store.FieldPopEnabled:
		return m.PopEnabled
	case store.FieldImapEnabled:
		return m.ImapEnabled
	case store.FieldWhenCreated:
		return m.WhenCreated
	case store.FieldWhenChanged:
		return m.WhenChanged
	case store.FieldLastPopLogon:
		return m.LastPopLogon
	case store.FieldLastImapLogon:
		return m.LastImapLogon
	}
	return m.DisplayName
}

// mailboxNext is the token of the page that follows m in q's order, in a
// listing of total mailboxes.
func mailboxNext(q store.MailboxQuery, m store.Mailbox, total int) string {
	t := mailboxToken{ID: m.ID, Total: total}
	field := store.FieldDisplayName
	if len(q.Sort) > 0 {
		field, t.Sort, t.Desc = q.Sort[0].Field, string(q.Sort[0].Field), q.Sort[0].Desc
	}
	v := sortValue(m, field)
	if tm, ok := v.(time.Time); ok {
		// as text, so that it comes back as a time and to the microsecond
		v = tm.UTC().Format(time.RFC3339Nano)
	}
	t.Value = v
	return encodeToken(t)
}

// mailboxAfter decodes a token into the cursor of q, which must be sorted
// as the listing that gave the token, and the listing's total (0: not
// known).
func mailboxAfter(tok string, q store.MailboxQuery) (*store.MailboxCursor, int, error) {
	var t mailboxToken
	if err := decodeToken(tok, &t); err != nil {
		return nil, 0, err
	}
	field, sort, desc := store.FieldDisplayName, "", false
	if len(q.Sort) > 0 {
		field, sort, desc = q.Sort[0].Field, string(q.Sort[0].Field), q.Sort[0].Desc
	}
	if t.Sort != sort || t.Desc != desc || t.ID <= 0 {
		return nil, 0, badToken()
	}
	c := &store.MailboxCursor{ID: t.ID}
	switch want := sortValue(store.Mailbox{}, field).(type) {
	case string:
		s, ok := t.Value.(string)
		if !ok {
			return nil, 0, badToken()
		}
		c.Value = s
	case bool:
		b, ok := t.Value.(bool)
		if !ok {
			return nil, 0, badToken()
		}
		c.Value = b
	case time.Time:
		s, ok := t.Value.(string)
		if !ok {
			return nil, 0, badToken()
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, 0, badToken()
		}
		c.Value = tm
	default:
		return nil, 0, fmt.Errorf("continuation token: sort value of type %T", want)
	}
	return c, max(t.Total, 0), nil
}
