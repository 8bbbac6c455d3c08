package admincenter

import "net/http"

type advancedData struct {
	Adv    advancedSearch
	List   listState
	Cancel string
}

// advancedSearchPage is "Advanced search" of the Mailboxes list's "..."
// menu: a form over the fields the list can filter on. It is sent to the
// list with GET, so the result is a link like any other list state, and the
// "Select all N mailboxes that match" of the list applies to it.
func (c *Center) advancedSearchPage(w http.ResponseWriter, r *http.Request, s *session) error {
	l := listStateFrom(r.URL.Query())
	back := l
	back.Page = 1
	page := c.newPage(w, r, s, "Advanced search", "recipients", "mailboxes")
	page.Data = advancedData{Adv: l.Adv, List: l, Cancel: back.url()}
	c.render(w, r, http.StatusOK, "advancedsearch", page)
	return nil
}
