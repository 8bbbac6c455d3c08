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
