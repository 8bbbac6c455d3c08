package admincenter

import (
	"fmt"
	"net/http"
)

// removeMember removes a mailbox from a role group
// (Remove-RoleGroupMember); the service keeps the last member of
// Organization Management.
func (c *Center) removeMember(w http.ResponseWriter, r *http.Request, s *session) error {
	group, member := r.PostForm.Get("group"), r.PostForm.Get("member")
	res, err := c.svc.RemoveRoleGroupMember(r.Context(), s.caller, group, member, false)
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		return c.redirect(w, r, groupURL(group), &flash{Kind: "error", Text: p.Message})
	}
	removed := member
	if len(res.Changes) > 0 {
		removed = res.Changes[0].NewValue[1:]
	}
	return c.redirect(w, r, groupURL(res.Identity), &flash{Kind: "success", Text: fmt.Sprintf("Removed %s from %s.", removed, res.Identity)})
}
