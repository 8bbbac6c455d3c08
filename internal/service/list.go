package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// DefaultResultSize is Exchange's default -ResultSize.
const DefaultResultSize = 1000

// Unlimited is -ResultSize Unlimited.
const Unlimited = -1

// ListOptions select mailboxes for Get-Mailbox and Get-CASMailbox.
type ListOptions struct {
	// Identity, when set, selects the mailboxes it names (wildcards allowed).
	Identity string
	// Filter is an OPATH filter ("PopEnabled -eq $false -and Name -like 'Chr*'").
	Filter string
	// Search is a prefix of a name or address (the admin center's search box).
	Search string
	// SortBy is a property name; Descending reverses it.
	SortBy     string
	Descending bool
	Offset     int
	// Cursor is the continuation token of the page before (Page.Next):
	// the listing goes on after the last object of that page. Offset
	// then counts from there.
	Cursor string
	// ResultSize bounds the page: 0 means DefaultResultSize, Unlimited all.
	ResultSize int
	// EffectivePop and EffectiveImap, when set, keep the mailboxes whose
	// protocol is (true) or is not (false) allowed now: their own setting
	// under the organization's security defaults (the admin center's
	// Advanced search).
	EffectivePop  *bool
	EffectiveImap *bool
}

// Page is one page of a listing.
type Page[T any] struct {
	Items []T
	// Total is how many objects match in all.
	Total int
	// More is true when Total exceeds what this page and the ones before
	// it hold: Exchange warns that only the first ResultSize are shown.
	More bool
	// Next is the continuation token of the next page when More (see
	// ListOptions.Cursor).
	Next string
}

// MoreWarning is Exchange's warning when -ResultSize cut a listing.
func MoreWarning(resultSize int) string {
	return fmt.Sprintf("By default only the first %d items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes.", resultSize)
}

// mailboxSchema lists the properties -Filter may name, with their types.
var mailboxSchema = opath.Schema{
	"Name": opath.TypeString, "DisplayName": opath.TypeString, "Alias": opath.TypeString,
	"PrimarySmtpAddress": opath.TypeString, "UserPrincipalName": opath.TypeString, "Guid": opath.TypeString,
	"EmailAddresses": opath.TypeStrings, "PopEnabled": opath.TypeBool, "ImapEnabled": opath.TypeBool,
	"WhenCreated": opath.TypeDate, "WhenChanged": opath.TypeDate,
	"LastPopLogonTime": opath.TypeDate, "LastImapLogonTime": opath.TypeDate,
}

var schemaField = map[string]store.MailboxField{
	"Name": store.FieldName, "DisplayName": store.FieldDisplayName, "Alias": store.FieldAlias,
	"PrimarySmtpAddress": store.FieldPrimarySmtpAddress, "UserPrincipalName": store.FieldUserPrincipalName,
	"Guid": store.FieldGUID, "EmailAddresses": store.FieldEmailAddresses, "PopEnabled": store.FieldPopEnabled,
	"ImapEnabled": store.FieldImapEnabled, "WhenCreated": store.FieldWhenCreated, "WhenChanged": store.FieldWhenChanged,
	"LastPopLogonTime": store.FieldLastPopLogon, "LastImapLogonTime": store.FieldLastImapLogon,
}

// ParseFilter checks an OPATH filter against the mailbox properties and
// turns it into a store filter. Errors are *opath.Error, with the text
// Exchange gives.
func ParseFilter(filter string) (store.Filter, error) {
	e, err := opath.Parse(filter)
	if err != nil {
		return nil, err
	}
	e, err = opath.Check(filter, e, mailboxSchema)
	if err != nil {
		return nil, err
	}
	return toStoreFilter(e)
}

func toStoreFilter(e opath.Expr) (store.Filter, error) {
	switch e := e.(type) {
	case *opath.And:
		l, err := toStoreFilter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := toStoreFilter(e.Right)
		return store.And{l, r}, err
	case *opath.Or:
		l, err := toStoreFilter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := toStoreFilter(e.Right)
		return store.Or{l, r}, err
	case *opath.Not:
		x, err := toStoreFilter(e.X)
		return store.Not{F: x}, err
	case *opath.Comparison:
		field, ok := schemaField[e.Property]
		if !ok {
			return nil, fmt.Errorf("property %s cannot be filtered", e.Property)
		}
		c := store.Cond{Field: field, Op: storeOps[e.Op]}
		switch e.Value.Kind {
		case opath.KindBool:
			c.Value = e.Value.Bool
		case opath.KindDate:
			c.Value = e.Value.Time
		case opath.KindNull:
			c.Value = nil
		default:
			v := e.Value.Str
			if field == store.FieldEmailAddresses {
				// EmailAddresses values carry a prefix in Exchange filters.
				if i := strings.Index(v, ":"); i > 0 && strings.EqualFold(v[:i], "smtp") {
					v = v[i+1:]
				}
			}
			c.Value = v
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown filter node %T", e)
}

var storeOps = map[opath.Op]store.Op{
	opath.OpEq: store.OpEq, opath.OpNe: store.OpNe, opath.OpLt: store.OpLt, opath.OpLe: store.OpLe,
	opath.OpGt: store.OpGt, opath.OpGe: store.OpGe, opath.OpLike: store.OpLike, opath.OpNotLike: store.OpNotLike,
}

// listMailboxes runs a listing in tx; next is the continuation token when
// there are more (Page.Next).
func (s *Service) listMailboxes(ctx context.Context, tx store.Tx, o ListOptions) (ms []store.Mailbox, total int, next string, err error) {
	size := o.ResultSize
	if size == 0 {
		size = DefaultResultSize
	}
	if size < 0 {
		size = 0
	}
	if o.Offset < 0 {
		return nil, 0, "", invalid("Offset", "Offset must not be negative.")
	}
	// Text no stored value holds (a NUL, bytes that are not UTF-8), which
	// PostgreSQL would refuse with an error of its own: a search for it
	// finds nothing, an identity names nothing, a filter is refused.
	if storableText("Search", o.Search) != nil {
		return nil, 0, "", nil
	}
	if err := storableText("Filter", o.Filter); err != nil {
		return nil, 0, "", err
	}
	if storableText("Identity", o.Identity) != nil {
		return nil, 0, "", &NotFoundError{Identity: o.Identity, Server: s.server}
	}
	q := store.MailboxQuery{Search: o.Search, Offset: o.Offset, Limit: size}
	var filters store.And
	var wildIdentity string
	if strings.TrimSpace(o.Filter) != "" {
		f, err := ParseFilter(o.Filter)
		if err != nil {
			var oe *opath.Error
			if errors.As(err, &oe) {
				return nil, 0, "", &ValidationError{Parameter: "Filter", Message: oe.Error()}
			}
			return nil, 0, "", invalid("Filter", "%v", err)
		}
		filters = append(filters, f)
	}
	if o.Identity != "" {
		// A wildcard identity is a filter of its own, not the list of
		// what it matches: '*' over 100,000 mailboxes would be 100,000
		// GUIDs in one statement.
		if f, wild, err := identityFilter(strings.TrimSpace(o.Identity)); wild {
			if err != nil {
				return nil, 0, "", err
			}
			filters = append(filters, f)
			wildIdentity = o.Identity
			o.Identity = ""
		}
	}
	if o.Identity != "" {
		ms, err := s.resolveAll(ctx, tx, o.Identity, 0)
		if err != nil {
			return nil, 0, "", err
		}
		var ids store.Or
		for _, m := range ms {
			ids = append(ids, store.Cond{Field: store.FieldGUID, Op: store.OpEq, Value: m.GUID})
		}
		filters = append(filters, ids)
	}
	if o.EffectivePop != nil || o.EffectiveImap != nil {
		org, err := tx.OrgConfig(ctx)
		if err != nil {
			return nil, 0, "", err
		}
		for _, e := range []struct {
			want  *bool
			field store.MailboxField
		}{{o.EffectivePop, store.FieldPopEnabled}, {o.EffectiveImap, store.FieldImapEnabled}} {
			switch {
			case e.want == nil:
			case org.SecurityDefaultsEnabled && *e.want:
				// Security defaults block both protocols for everyone.
				return nil, 0, "", nil
			case org.SecurityDefaultsEnabled:
				// Not allowed for anyone: no condition.
			default:
				filters = append(filters, store.Cond{Field: e.field, Op: store.OpEq, Value: *e.want})
			}
		}
	}
	if len(filters) > 0 {
		q.Filter = filters
	}
	if o.SortBy != "" {
		prop, ok := canonicalProperty(o.SortBy)
		field, sortable := schemaField[prop]
		if !ok || !sortable || field == store.FieldEmailAddresses {
			return nil, 0, "", invalid("SortBy", "The property '%s' cannot be used to sort. Use one of: %s.", o.SortBy,
				"Name, DisplayName, Alias, PrimarySmtpAddress, UserPrincipalName, PopEnabled, ImapEnabled, WhenCreated, WhenChanged, LastPopLogonTime, LastImapLogonTime")
		}
		q.Sort = []store.SortKey{{Field: field, Desc: o.Descending}}
	}
	var known int // the total a continuation token carries
	if o.Cursor != "" {
		if q.After, known, err = mailboxAfter(o.Cursor, q); err != nil {
			return nil, 0, "", err
		}
		q.NoCount = known > 0
	}
	if size > 0 {
		q.Limit = size + 1 // one more, to know whether there are more
	}
	ms, total, err = tx.ListMailboxes(ctx, q)
	if errors.Is(err, store.ErrInvalid) {
		return nil, 0, "", invalid("Filter", "%v", err)
	}
	if err != nil {
		return nil, 0, "", err
	}
	if q.NoCount {
		total = known
	}
	if err == nil && total == 0 && wildIdentity != "" && len(filters) == 1 && strings.TrimSpace(o.Search) == "" {
		// Exchange's answer for an identity that names nothing.
		return nil, 0, "", &NotFoundError{Identity: wildIdentity, Server: s.server}
	}
	if size > 0 && len(ms) > size {
		ms = ms[:size]
		next = mailboxNext(q, ms[size-1], total)
	}
	return ms, total, next, nil
}

func canonicalProperty(name string) (string, bool) {
	for k := range mailboxSchema {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}
