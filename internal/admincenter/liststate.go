package admincenter

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// pageSize is how many mailboxes one page of the list shows. Paging and
// sorting happen in the database, so the list stays fast with 100,000
// mailboxes.
const pageSize = 100

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
	// Adv is the Advanced search, which narrows the list further.
	Adv advancedSearch
}

// advancedSearch is the Advanced search of the Mailboxes list: the fields
// the list can filter on. Text fields match anywhere in the value.
type advancedSearch struct {
	DisplayName string
	Alias       string
	Address     string // any email address
	// Pop and Imap are the mailbox's own setting: "enabled", "disabled"
	// or "" (any).
	Pop  string
	Imap string
	// PopNow and ImapNow are the effective state under security defaults:
	// "allowed", "notallowed" or "" (any).
	PopNow  string
	ImapNow string
}

// advancedKeys are the query parameters of an advanced search, in order.
var advancedKeys = []string{"name", "alias", "address", "pop", "imap", "popnow", "imapnow"}

func (a *advancedSearch) fields() []*string {
	return []*string{&a.DisplayName, &a.Alias, &a.Address, &a.Pop, &a.Imap, &a.PopNow, &a.ImapNow}
}

func (a advancedSearch) empty() bool { return a == advancedSearch{} }

func advancedFrom(q url.Values) advancedSearch {
	var a advancedSearch
	for i, f := range a.fields() {
		*f = capText(strings.TrimSpace(q.Get(advancedKeys[i])))
	}
	oneOf := func(v *string, allowed ...string) {
		for _, x := range allowed {
			if *v == x {
				return
			}
		}
		*v = ""
	}
	oneOf(&a.Pop, "enabled", "disabled")
	oneOf(&a.Imap, "enabled", "disabled")
	oneOf(&a.PopNow, "allowed", "notallowed")
	oneOf(&a.ImapNow, "allowed", "notallowed")
	return a
}

func capText(s string) string {
	if utf8.RuneCountInString(s) > 256 {
		return string([]rune(s)[:256])
	}
	return s
}

// filter is the advanced search as an OPATH filter for the service ("" for
// none); the effective states are ListOptions fields of their own.
func (a advancedSearch) filter() string {
	var terms []string
	// A * or ? typed in a field is a wildcard, as in the shell's -like.
	contains := func(prop, v string) string { return prop + " -like " + opathLiteral("*"+v+"*") }
	if a.DisplayName != "" {
		terms = append(terms, contains("DisplayName", a.DisplayName))
	}
	if a.Alias != "" {
		terms = append(terms, contains("Alias", a.Alias))
	}
	if a.Address != "" {
		terms = append(terms, "("+contains("PrimarySmtpAddress", a.Address)+" -or "+contains("EmailAddresses", a.Address)+")")
	}
	for _, p := range []struct{ prop, v string }{{"PopEnabled", a.Pop}, {"ImapEnabled", a.Imap}} {
		switch p.v {
		case "enabled":
			terms = append(terms, p.prop+" -eq $true")
		case "disabled":
			terms = append(terms, p.prop+" -eq $false")
		}
	}
	return strings.Join(terms, " -and ")
}

// opathLiteral quotes text for an OPATH filter (a quote is doubled).
func opathLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func effective(v string) *bool {
	switch v {
	case "allowed":
		t := true
		return &t
	case "notallowed":
		f := false
		return &f
	}
	return nil
}

// options are the service's list options for this state, without paging.
func (l listState) options() service.ListOptions {
	return service.ListOptions{Search: l.Search, Filter: l.Adv.filter(), SortBy: l.Sort, Descending: l.Desc,
		EffectivePop: effective(l.Adv.PopNow), EffectiveImap: effective(l.Adv.ImapNow)}
}

// describe says in words what the advanced search selects, one item per
// field given.
func (a advancedSearch) describe() []string {
	var out []string
	if a.DisplayName != "" {
		out = append(out, "Display name contains \""+a.DisplayName+"\"")
	}
	if a.Alias != "" {
		out = append(out, "Alias contains \""+a.Alias+"\"")
	}
	if a.Address != "" {
		out = append(out, "Email address contains \""+a.Address+"\"")
	}
	own := map[string]string{"enabled": "Enabled", "disabled": "Disabled"}
	now := map[string]string{"allowed": "allowed now", "notallowed": "not allowed now"}
	if a.Pop != "" {
		out = append(out, "POP3 setting: "+own[a.Pop])
	}
	if a.PopNow != "" {
		out = append(out, "POP3 "+now[a.PopNow])
	}
	if a.Imap != "" {
		out = append(out, "IMAP4 setting: "+own[a.Imap])
	}
	if a.ImapNow != "" {
		out = append(out, "IMAP4 "+now[a.ImapNow])
	}
	return out
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
	l := listState{Search: capText(strings.TrimSpace(q.Get("search"))), Desc: q.Get("desc") == "1", Page: 1, Adv: advancedFrom(q)}
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
	for i, f := range l.Adv.fields() {
		if *f != "" {
			v.Set(advancedKeys[i], *f)
		}
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
