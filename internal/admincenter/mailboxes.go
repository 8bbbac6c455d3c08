package admincenter

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type column struct {
	Label string
	URL   string
	// AriaSort is "ascending", "descending" or "" for the column the list
	// is sorted by.
	AriaSort string
}

type mailboxRow struct {
	service.CASMailbox
	Selected bool
}

type mailboxesData struct {
	List     listState
	Hidden   []hiddenField
	Columns  []column
	Rows     []mailboxRow
	Total    int
	First    int // 1-based number of the first row shown
	Last     int
	Pages    int
	FirstURL string
	PrevURL  string
	NextURL  string
	LastURL  string
	// Refresh reloads the list as it is.
	Refresh  string
	Selected []string
	Details  *detailsData
	// All is "every mailbox that matches" selected; AllURL selects it,
	// NoneURL clears the selection.
	All bool
	// PageAll is every row of the page selected, and more that match:
	// the bar offers them.
	PageAll bool
	// PageChecked is every row of the page selected (the header box).
	PageChecked bool
	AllURL      string
	NoneURL     string
	// Advanced is the advanced search in words; ClearAdvanced removes it.
	Advanced      []string
	ClearAdvanced string
	AdvancedURL   string
	CSVURL        string
}

// hiddenField carries the list state through a form.
type hiddenField struct{ Name, Value string }

func (l listState) hidden() []hiddenField {
	var out []hiddenField
	for _, k := range append([]string{"search", "sort", "desc", "page"}, advancedKeys...) {
		if v := l.values().Get(k); v != "" {
			out = append(out, hiddenField{k, v})
		}
	}
	return out
}

// mailboxes is Recipients > Mailboxes: the toolbar, one page of the list
// (searched, sorted and paged by the service) and the details pane of the
// selection.
func (c *Center) mailboxes(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	l := listStateFrom(q)
	o := l.options()
	o.Offset, o.ResultSize = (l.Page-1)*pageSize, pageSize
	p, err := c.svc.GetCASMailboxes(r.Context(), s.caller, o)
	if err != nil {
		return err
	}
	pages := max(1, (p.Total+pageSize-1)/pageSize)
	if l.Page > pages {
		// Past the end (the list shrank): show the last page.
		l.Page = pages
		o.Offset = (l.Page - 1) * pageSize
		if p, err = c.svc.GetCASMailboxes(r.Context(), s.caller, o); err != nil {
			return err
		}
	}
	all := q.Get("all") == "1"
	ids := selection(q)
	if all {
		ids = nil
	}
	selected := map[string]bool{}
	for _, id := range ids {
		selected[id] = true
	}
	d := mailboxesData{List: l, Hidden: l.hidden(), Total: p.Total, Pages: pages, Selected: ids, Refresh: l.url(ids...)}
	for _, m := range p.Items {
		d.Rows = append(d.Rows, mailboxRow{CASMailbox: m, Selected: all || selected[m.Guid]})
	}
	d.All = all && p.Total > 0
	d.PageChecked = len(d.Rows) > 0
	for _, row := range d.Rows {
		d.PageChecked = d.PageChecked && row.Selected
	}
	d.PageAll = !all && d.PageChecked && len(d.Rows) < p.Total
	allState := l.values()
	allState.Set("all", "1")
	d.AllURL, d.NoneURL = withQuery(mailboxesPath, allState), l.url()
	if d.All {
		d.Refresh = d.AllURL
	}
	d.Advanced = l.Adv.describe()
	noAdv := l
	noAdv.Adv, noAdv.Page = advancedSearch{}, 1
	d.ClearAdvanced = noAdv.url()
	exportState := l.values()
	exportState.Del("page")
	d.CSVURL = withQuery(mailboxesCSVPath, exportState)
	d.AdvancedURL = withQuery(advancedSearchPath, exportState)
	if len(d.Rows) > 0 {
		d.First = (l.Page-1)*pageSize + 1
		d.Last = d.First + len(d.Rows) - 1
	}
	for _, col := range sortColumns {
		next := l
		next.Page = 1
		next.Sort, next.Desc = col.Sort, false
		cl := column{Label: col.Label}
		isDefault := l.Sort == "" && col.Sort == "DisplayName"
		if l.Sort == col.Sort || isDefault {
			cl.AriaSort = "ascending"
			if l.Desc {
				cl.AriaSort = "descending"
			}
			next.Desc = !l.Desc
		}
		cl.URL = next.url()
		d.Columns = append(d.Columns, cl)
	}
	at := func(page int) string {
		x := l
		x.Page = page
		return x.url()
	}
	if l.Page > 1 {
		d.FirstURL, d.PrevURL = at(1), at(l.Page-1)
	}
	if l.Page < pages {
		d.NextURL, d.LastURL = at(l.Page+1), at(pages)
	}
	switch {
	case d.All:
		if d.Details, err = c.detailsOfAll(r, s, l); err != nil {
			return err
		}
	case len(ids) > 0:
		if d.Details, err = c.detailsOf(r, s, l, ids); err != nil {
			return err
		}
	}
	title := "Mailboxes"
	if l.Page > 1 {
		title += " (page " + strconv.Itoa(l.Page) + ")"
	}
	page := c.newPage(w, r, s, title, "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "mailboxes", page)
	return nil
}
