package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/opath"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// resolve finds the one mailbox an -Identity names: by Name, DisplayName,
// Alias, any email address, UserPrincipalName or GUID, case-insensitively;
// with wildcards (*, ?) by pattern over the same names. Where Exchange
// would return every object for an empty identity, we say "not found".
func (s *Service) resolve(ctx context.Context, tx store.Tx, identity string) (store.Mailbox, error) {
	ms, err := s.resolveAll(ctx, tx, identity, 2)
	if err != nil {
		return store.Mailbox{}, err
	}
	if len(ms) > 1 {
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		return store.Mailbox{}, &AmbiguousError{Identity: identity, Matches: names}
	}
	return ms[0], nil
}

// maxIdentity is the longest -Identity, in characters: nothing it can name
// is longer than an email address (RFC 5321 §4.5.3.1).
const maxIdentity = opath.MaxPatternLength

// identityFilter returns the store filter of an identity with wildcards
// (*, ?): the pattern over every name an identity may be. ok is false for
// an identity without wildcards. A pattern beyond opath's limits is a
// ValidationError on Identity, since the database matches it against
// every mailbox.
func identityFilter(id string) (f store.Filter, ok bool, err error) {
	if !opath.HasWildcard(id) {
		return nil, false, nil
	}
	if err := opath.CheckPattern(id); err != nil {
		return nil, true, invalid("Identity", "%v", err)
	}
	return store.Or{
		store.Cond{Field: store.FieldName, Op: store.OpLike, Value: id},
		store.Cond{Field: store.FieldDisplayName, Op: store.OpLike, Value: id},
		store.Cond{Field: store.FieldAlias, Op: store.OpLike, Value: id},
		store.Cond{Field: store.FieldEmailAddresses, Op: store.OpLike, Value: id},
		store.Cond{Field: store.FieldUserPrincipalName, Op: store.OpLike, Value: id},
	}, true, nil
}

// storableText refuses a text parameter that no stored value can equal and
// that the database may refuse outright (PostgreSQL takes no NUL in text,
// nor bytes that are not UTF-8), naming the parameter, where the
// database's error would be an internal one. Callers where such text
// simply matches nothing (a search, an identity) answer so instead.
func storableText(param, v string) error {
	if !utf8.ValidString(v) {
		return invalid(param, "The %s parameter is not valid UTF-8 text.", param)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid(param, "The %s parameter contains a NUL character.", param)
	}
	return nil
}

// resolveAll returns up to limit mailboxes an identity names (0: no limit),
// and a NotFoundError when there is none.
func (s *Service) resolveAll(ctx context.Context, tx store.Tx, identity string, limit int) ([]store.Mailbox, error) {
	id := strings.TrimSpace(identity)
	if id == "" {
		return nil, &NotFoundError{Identity: identity, Server: s.server}
	}
	if n := utf8.RuneCountInString(id); n > maxIdentity {
		return nil, invalid("Identity", "The identity is %d characters long; at most %d are allowed.", n, maxIdentity)
	}
	if storableText("Identity", id) != nil {
		// No name or address holds it.
		return nil, &NotFoundError{Identity: identity, Server: s.server}
	}
	var ms []store.Mailbox
	f, wild, err := identityFilter(id)
	switch {
	case err != nil:
		return nil, err
	case wild:
		ms, _, err = tx.ListMailboxes(ctx, store.MailboxQuery{Filter: f, Limit: limit,
			Sort: []store.SortKey{{Field: store.FieldName}}})
	default:
		ms, err = tx.FindMailboxes(ctx, id, limit)
	}
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, &NotFoundError{Identity: identity, Server: s.server}
	}
	return ms, nil
}

// resolved holds the mailboxes a bulk edit's identities name, looked up in
// one query for a chunk of items (resolveMany), so that each item resolves
// as resolve would without a query of its own.
type resolved struct {
	s *Service
	// byID is each found mailbox as the transaction now has it.
	byID map[int64]store.Mailbox
	// names maps a trimmed, lower-cased identity to the IDs it names (at
	// most 2, in ID order); an identity looked up and not found maps to
	// an empty slice.
	names map[string][]int64
	// guids maps the lower-cased GUIDs of the chunk's piped objects to
	// their mailboxes' IDs (resolveGUIDs); nil when none was looked up.
	guids map[string]int64
}

// resolveGUIDs looks up, in one query, the mailboxes of a chunk's items
// that name a piped object by its GUID.
func (r *resolved) resolveGUIDs(ctx context.Context, tx store.Tx, guids []string) error {
	var want []string
	for _, g := range guids {
		if g = strings.TrimSpace(g); g != "" && utf8.RuneCountInString(g) <= maxIdentity {
			want = append(want, g)
		}
	}
	if len(want) == 0 {
		return nil
	}
	found, err := tx.MailboxesByGUID(ctx, want)
	if err != nil {
		return err
	}
	r.guids = make(map[string]int64, len(found))
	for g, m := range found {
		if cur, ok := r.byID[m.ID]; ok {
			m = cur // changed earlier in this chunk
		}
		r.byID[m.ID] = m
		r.guids[g] = m.ID
	}
	return nil
}

// resolveItem resolves an item of a bulk edit: by the GUID of its piped
// object when it has one (identity then only names it in messages),
// else by its identity.
func (r *resolved) resolveItem(ctx context.Context, tx store.Tx, identity, guid string) (store.Mailbox, error) {
	if guid == "" {
		return r.resolve(ctx, tx, identity)
	}
	if r.guids == nil {
		// not looked up with the chunk: the GUID is an identity too
		return r.s.resolve(ctx, tx, guid)
	}
	id, ok := r.guids[strings.ToLower(strings.TrimSpace(guid))]
	if !ok {
		if identity == "" {
			identity = guid
		}
		return store.Mailbox{}, &NotFoundError{Identity: identity, Server: r.s.server}
	}
	return r.byID[id], nil
}

// resolveMany looks up the plain identities (no wildcard, not too long)
// among ids in one go; the others are left to resolve.
func (s *Service) resolveMany(ctx context.Context, tx store.Tx, ids []string) (*resolved, error) {
	r := &resolved{s: s, byID: map[int64]store.Mailbox{}, names: map[string][]int64{}}
	var plain []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || opath.HasWildcard(id) || utf8.RuneCountInString(id) > maxIdentity || storableText("Identity", id) != nil {
			continue
		}
		plain = append(plain, id)
	}
	found, err := tx.FindMailboxesMany(ctx, plain, 2)
	if err != nil {
		return nil, err
	}
	for i, id := range plain {
		key := strings.ToLower(id)
		ms := make([]int64, 0, len(found[i]))
		for _, m := range found[i] {
			r.byID[m.ID] = m
			ms = append(ms, m.ID)
		}
		r.names[key] = ms
	}
	return r, nil
}

// resolve is s.resolve, from what resolveMany found when it looked the
// identity up.
func (r *resolved) resolve(ctx context.Context, tx store.Tx, identity string) (store.Mailbox, error) {
	ids, ok := r.names[strings.ToLower(strings.TrimSpace(identity))]
	if !ok {
		return r.s.resolve(ctx, tx, identity)
	}
	switch len(ids) {
	case 0:
		return store.Mailbox{}, &NotFoundError{Identity: identity, Server: r.s.server}
	case 1:
		return r.byID[ids[0]], nil
	}
	var names []string
	for _, id := range ids {
		names = append(names, r.byID[id].Name)
	}
	return store.Mailbox{}, &AmbiguousError{Identity: identity, Matches: names}
}

// changed records a mailbox written in the transaction.
func (r *resolved) changed(m store.Mailbox) {
	if _, ok := r.byID[m.ID]; ok {
		r.byID[m.ID] = m
	}
}
