package admincenter

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

type roleGroupRow struct {
	service.RoleGroup
	URL      string
	Selected bool
}

type permissionsData struct {
	Groups   []roleGroupRow
	Selected *service.RoleGroup
	Members  []service.RoleGroupMember
	CanEdit  bool
	Deny     string
	// Member is the value typed in Add member, shown again on a refusal.
	Member string
}

func groupURL(name string) string {
	return permissionsPath + "?" + url.Values{"group": {name}}.Encode()
}

// permissions is Permissions > Admin roles: the role groups, and for the
// selected one its roles and members, with Add and Remove.
func (c *Center) permissions(w http.ResponseWriter, r *http.Request, s *session) error {
	groups, err := c.svc.GetRoleGroups(r.Context(), s.caller, "")
	if err != nil {
		return err
	}
	d := permissionsData{CanEdit: s.caller.Can(rbac.RoleManagement), Member: r.URL.Query().Get("member")}
	if !d.CanEdit {
		d.Deny = denyReason(&s.caller, string(rbac.RoleManagement))
	}
	sel := r.URL.Query().Get("group")
	for _, g := range groups {
		row := roleGroupRow{RoleGroup: g, URL: groupURL(g.Name), Selected: g.Name == sel}
		if row.Selected {
			g := g
			d.Selected = &g
		}
		d.Groups = append(d.Groups, row)
	}
	if sel != "" && d.Selected == nil {
		return userError(http.StatusNotFound, "Not found", "There is no role group with that name.")
	}
	if d.Selected != nil {
		if d.Members, err = c.svc.GetRoleGroupMembers(r.Context(), s.caller, d.Selected.Name); err != nil {
			return err
		}
	}
	title := "Admin roles"
	if d.Selected != nil {
		title = d.Selected.Name + " - Admin roles"
	}
	page := c.newPage(w, r, s, title, "permissions", "admin-roles")
	page.Data = d
	c.render(w, r, http.StatusOK, "permissions", page)
	return nil
}
