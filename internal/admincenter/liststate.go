package admincenter

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pageSize is how many mailboxes one page of the list shows. Paging and
// sorting happen in the database, so the list stays fast with 100,000
// mailboxes.
const pageSize = 100

// maxSelection bounds how many mailboxes one Bulk Edit changes.
const maxSelection = 1000

// listState is where the administrator is in the mailbox list: search,
// sort and page. Dialogs carry it, so that Save and Cancel come back to the
// same place.
type listState struct {
	Search string
	// Sort is an Exchange property name; "" is the default order (display
	// name).
	Sort string
	Desc bool
	Page int // from 1
}

// sortColumns are the list's columns in order, with the property each sorts by.
var sortColumns = []struct{ Label, Sort string }{
	{"Display name", "DisplayName"},
	{"Email address", "PrimarySmtpAddress"},
	{"POP3", "PopEnabled"},
	{"IMAP4", "ImapEnabled"},
	{"Last POP3 use", "LastPopLogonTime"},
	{"Last IMAP4 use", "LastImapLogonTime"},
}

func listStateFrom(q url.Values) listState {
	l := listState{Search: strings.TrimSpace(q.Get("search")), Desc: q.Get("desc") == "1", Page: 1}
	if utf8.RuneCountInString(l.Search) > 256 {
		l.Search = string([]rune(l.Search)[:256])
	}
	for _, c := range sortColumns {
		if q.Get("sort") == c.Sort {
			l.Sort = c.Sort
		}
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 && p < 1_000_000 {
		l.Page = p
	}
	return l
}

func (l listState) values() url.Values {
	v := url.Values{}
	if l.Search != "" {
		v.Set("search", l.Search)
	}
	if l.Sort != "" {
		v.Set("sort", l.Sort)
	}
	if l.Desc {
		v.Set("desc", "1")
	}
	if l.Page > 1 {
		v.Set("page", strconv.Itoa(l.Page))
	}
	return v
}

// url is the list at this state, with the given mailboxes selected.
func (l listState) url(ids ...string) string {
	return withQuery(mailboxesPath, l.values(), ids...)
}

// withQuery builds path?state&id=...
func withQuery(path string, v url.Values, ids ...string) string {
	q := url.Values{}
	for k, vs := range v {
		q[k] = append([]string(nil), vs...)
	}
	for _, id := range ids {
		q.Add("id", id)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// selection reads the selected mailboxes (their GUIDs, or any identity the
// service resolves) from a request, without duplicates.
func selection(q url.Values) []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range q["id"] {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids
}
