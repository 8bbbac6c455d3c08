package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// fieldColumn maps a filterable field to its column; text fields map to
// their lower-case copy so that comparisons are case-insensitive.
var fieldColumn = map[store.MailboxField]struct {
	col  string
	kind byte // 's' text, 'b' boolean, 't' time
}{
	store.FieldName:               {"name_lc", 's'},
	store.FieldDisplayName:        {"display_name_lc", 's'},
	store.FieldAlias:              {"alias_lc", 's'},
	store.FieldPrimarySmtpAddress: {"primary_lc", 's'},
	store.FieldUserPrincipalName:  {"upn_lc", 's'},
	store.FieldGUID:               {"guid", 's'},
	store.FieldEmailAddresses:     {"address_lc", 's'}, // through mailbox_addresses
	store.FieldPopEnabled:         {"pop_enabled", 'b'},
	store.FieldImapEnabled:        {"imap_enabled", 'b'},
	store.FieldWhenCreated:        {"when_created", 't'},
	store.FieldWhenChanged:        {"when_changed", 't'},
	store.FieldLastPopLogon:       {"last_pop_logon", 't'},
	store.FieldLastImapLogon:      {"last_imap_logon", 't'},
}

var sqlOps = map[store.Op]string{
	store.OpEq: "=", store.OpNe: "<>", store.OpLt: "<", store.OpLe: "<=", store.OpGt: ">", store.OpGe: ">=",
	store.OpLike: "LIKE", store.OpNotLike: "NOT LIKE",
}

// filterSQL turns a filter into a WHERE fragment over the mailboxes table.
//
// The SQL stays shallow whatever the shape of the filter: nested -and (or
// -or) chains are flattened into one list, a double negation is dropped,
// and a long list is grouped as a balanced tree, so that n terms nest
// O(log n) deep. A parser builds a left-deep tree of a chain of n -or terms,
// and SQLite refuses an expression deeper than 1,000 levels (PostgreSQL's
// limit is its stack); the filter's own size is bounded before it gets
// here (opath.MaxComparisons).
func filterSQL(f store.Filter) (string, []any, error) {
	switch f := f.(type) {
	case store.And:
		return listSQL(flatten(nil, f, true), " AND ", "1 = 1")
	case store.Or:
		return listSQL(flatten(nil, f, false), " OR ", "1 = 0")
	case store.Not:
		if inner, ok := f.F.(store.Not); ok {
			return filterSQL(inner.F)
		}
		s, a, err := filterSQL(f.F)
		if err != nil {
			return "", nil, err
		}
		return "NOT (" + s + ")", a, nil
	case store.Cond:
		return condSQL(f)
	case nil:
		return "1 = 1", nil, nil
	}
	return "", nil, fmt.Errorf("filter: unknown node %T: %w", f, store.ErrInvalid)
}

// flatten appends to out the operands of parts, replacing an operand of
// the same kind (an And in an And, an Or in an Or) by its own operands.
func flatten(out, parts []store.Filter, and bool) []store.Filter {
	for _, p := range parts {
		switch p := p.(type) {
		case store.And:
			if and {
				out = flatten(out, p, and)
				continue
			}
		case store.Or:
			if !and {
				out = flatten(out, p, and)
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// listSQL joins the SQL of parts with join (" AND " or " OR "); empty is
// the SQL of an empty list.
func listSQL(parts []store.Filter, join, empty string) (string, []any, error) {
	if len(parts) == 0 {
		return empty, nil, nil
	}
	ss := make([]string, len(parts))
	var args []any
	for i, p := range parts {
		s, a, err := filterSQL(p)
		if err != nil {
			return "", nil, err
		}
		ss[i] = "(" + s + ")"
		args = append(args, a...)
	}
	return balanced(ss, join), args, nil
}

// balancedRun is the longest run of operands joined flat.
const balancedRun = 8

// balanced joins ss with join, grouping long lists in halves so that the
// expression nests O(log n) deep. The order of the operands, and so of
// their arguments, is kept.
func balanced(ss []string, join string) string {
	if len(ss) <= balancedRun {
		return strings.Join(ss, join)
	}
	mid := len(ss) / 2
	return "(" + balanced(ss[:mid], join) + ")" + join + "(" + balanced(ss[mid:], join) + ")"
}

func condSQL(c store.Cond) (string, []any, error) {
	fc, ok := fieldColumn[c.Field]
	if !ok {
		return "", nil, fmt.Errorf("filter: property %q cannot be filtered: %w", c.Field, store.ErrInvalid)
	}
	op, ok := sqlOps[c.Op]
	if !ok {
		return "", nil, fmt.Errorf("filter: unknown operator %q: %w", c.Op, store.ErrInvalid)
	}
	like := c.Op == store.OpLike || c.Op == store.OpNotLike
	var arg any
	switch fc.kind {
	case 's':
		var s string
		switch v := c.Value.(type) {
		case string:
			s = v
		case nil:
			s = ""
		default:
			s = fmt.Sprint(v)
		}
		s = strings.ToLower(s)
		if like {
			arg = wildcardToLike(s)
		} else {
			arg = s
		}
	case 'b':
		if like {
			return "", nil, fmt.Errorf("filter: %s is a Boolean and cannot be compared with -%s: %w", c.Field, c.Op, store.ErrInvalid)
		}
		b, ok := c.Value.(bool)
		if !ok {
			return "", nil, fmt.Errorf("filter: %s takes $true or $false, not %v: %w", c.Field, c.Value, store.ErrInvalid)
		}
		arg = b
	case 't':
		if like {
			return "", nil, fmt.Errorf("filter: %s is a date and cannot be compared with -%s: %w", c.Field, c.Op, store.ErrInvalid)
		}
		switch v := c.Value.(type) {
		case time.Time:
			arg = micros(v)
		case nil:
			arg = int64(0)
		default:
			return "", nil, fmt.Errorf("filter: %s takes a date, not %v: %w", c.Field, c.Value, store.ErrInvalid)
		}
	}
	expr := fc.col + " " + op + " ?"
	if like {
		expr += ` ESCAPE '\'`
	}
	if c.Field == store.FieldEmailAddresses {
		// Any address matches for positive operators; for negative ones no
		// address may match, as Exchange evaluates multi-valued properties.
		switch c.Op {
		case store.OpNe:
			return "id NOT IN (SELECT mailbox_id FROM mailbox_addresses WHERE address_lc = ?)", []any{arg}, nil
		case store.OpNotLike:
			return `id NOT IN (SELECT mailbox_id FROM mailbox_addresses WHERE address_lc LIKE ? ESCAPE '\')`, []any{arg}, nil
		}
		return "id IN (SELECT mailbox_id FROM mailbox_addresses WHERE " + expr + ")", []any{arg}, nil
	}
	return expr, []any{arg}, nil
}

// wildcardToLike turns a PowerShell wildcard (* and ?) into a LIKE pattern,
// escaping LIKE's own metacharacters.
func wildcardToLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// orderSQL builds the ORDER BY clause; ID breaks ties so pages are stable.
func orderSQL(keys []store.SortKey) (string, error) {
	if len(keys) == 0 {
		return " ORDER BY display_name_lc, id", nil
	}
	var parts []string
	for _, k := range keys {
		fc, ok := fieldColumn[k.Field]
		if !ok || k.Field == store.FieldEmailAddresses {
			return "", fmt.Errorf("sort: property %q cannot be sorted: %w", k.Field, store.ErrInvalid)
		}
		p := fc.col
		if k.Desc {
			p += " DESC"
		}
		parts = append(parts, p)
	}
	return " ORDER BY " + strings.Join(parts, ", ") + ", id", nil
}
