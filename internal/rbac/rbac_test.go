package rbac

import (
	"slices"
	"testing"
)

// TestMatrix pins what each built-in role group may do.
func TestMatrix(t *testing.T) {
	all := []Permission{ViewRecipients, MailRecipients, MailRecipientCreation, ResetPassword, ViewConfiguration,
		OrganizationClientAccess, RoleManagement, ViewAuditLogs, Migration}
	want := map[string][]Permission{
		OrganizationManagement:         all,
		RecipientManagement:            {ViewRecipients, MailRecipients, MailRecipientCreation, ResetPassword, ViewConfiguration, Migration},
		HelpDesk:                       {ViewRecipients, ResetPassword},
		ViewOnlyOrganizationManagement: {ViewRecipients, ViewConfiguration, ViewAuditLogs},
	}
	for _, g := range GroupNames() {
		s := For([]string{g})
		for _, p := range all {
			if got, w := s.Has(p), slices.Contains(want[g], p); got != w {
				t.Errorf("%s has %s: got %v; want %v", g, p, got, w)
			}
		}
	}
	if got := GroupsWith(MailRecipients); !slices.Equal(got, []string{OrganizationManagement, RecipientManagement}) {
		t.Errorf("groups with Mail Recipients: %v", got)
	}
	if got := GroupsWith(Migration); !slices.Equal(got, []string{OrganizationManagement, RecipientManagement}) {
		t.Errorf("groups with Migration: %v", got)
	}
	if s := For([]string{"help desk", "view-only organization management"}); !s.Has(ViewAuditLogs) || !s.Has(ResetPassword) || s.Has(MailRecipients) {
		t.Errorf("union of two groups: %v", s.List())
	}
	if len(For([]string{"Nobody"})) != 0 {
		t.Errorf("unknown group grants nothing")
	}
}
