package admincenter

import (
	"fmt"
	"net/http"
	"net/url"
)

// addMember adds a mailbox to a role group (Add-RoleGroupMember). A refusal
// of the member (not found, ambiguous, already a member) comes back to the
// group with the message and the value typed.
func (c *Center) addMember(w http.ResponseWriter, r *http.Request, s *session) error {
	group, member := r.PostForm.Get("group"), r.PostForm.Get("member")
	res, err := c.svc.AddRoleGroupMember(r.Context(), s.caller, group, member, false)
	if err != nil {
		p := describe(err)
		if p.Internal || p.Status == http.StatusForbidden {
			return err
		}
		to := permissionsPath + "?" + url.Values{"group": {group}, "member": {member}}.Encode()
		return c.redirect(w, r, to, &flash{Kind: "error", Text: p.Message})
	}
	added := member
	if len(res.Changes) > 0 {
		added = res.Changes[0].NewValue[1:]
	}
	return c.redirect(w, r, groupURL(res.Identity), &flash{Kind: "success", Text: fmt.Sprintf("Added %s to %s.", added, res.Identity)})
}
