package exchange

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The cmdlets Exchange admins reach for around mailboxes: Get-User,
// Get-Recipient and Get-EXOCASMailbox, which are views of the mailboxes
// and CAS mailboxes the REST API lists; -Anr and -RecipientTypeDetails of
// Get-Mailbox; and Get-ManagementRoleAssignment, a view of the role
// groups.

// recipientTypes are the values of Exchange's RecipientTypeDetails. Every
// Gatehouse mailbox is a UserMailbox.
var recipientTypes = []string{
	"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox", "SchedulingMailbox",
	"TeamMailbox", "GroupMailbox", "DiscoveryMailbox", "RemoteUserMailbox", "MailUser", "GuestMailUser",
	"MailContact", "MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "DynamicDistributionGroup",
	"User", "DisabledUser",
}

func anrParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "Anr", Type: cmdlet.TString, Help: "Ambiguous name resolution: the mailboxes whose name, alias or address starts with this text."}
}

func recipientTypeDetailsParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "RecipientTypeDetails", Type: cmdlet.TStrings, TypeName: "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails[]",
		Help: "Only recipients of these types: UserMailbox (every Gatehouse mailbox), SharedMailbox, RoomMailbox, MailUser, MailContact, ..."}
}

// withRecipientFilters adds -Anr and -RecipientTypeDetails to a Get-
// cmdlet of mailboxes.
func withRecipientFilters(c *cmdlet.Cmdlet) *cmdlet.Cmdlet {
	c.Params = append(c.Params, anrParam(), recipientTypeDetailsParam())
	c.Examples = append(c.Examples, cmdlet.Example{Code: c.Name + " -Anr chr", Remarks: "The mailboxes whose name, alias or address starts with chr."})
	return c
}

// withAnr adds -Anr to a Get- cmdlet of mailboxes.
func withAnr(c *cmdlet.Cmdlet) *cmdlet.Cmdlet {
	c.Params = append(c.Params, anrParam())
	return c
}

// recipientQuery checks -Anr and -RecipientTypeDetails and adds them to a
// list query; none is false when the types asked for exclude every
// Gatehouse mailbox.
func recipientQuery(c *cmdlet.Call, q url.Values) (none bool, err error) {
	if anr := c.String("Anr"); anr != "" {
		if c.Has("Identity") {
			return false, &cmdlet.Error{Source: c.Cmdlet.Name, Msg: "Parameter set cannot be resolved using the specified named parameters. -Anr and -Identity cannot be used together."}
		}
		q.Set("search", anr)
	}
	if !c.Has("RecipientTypeDetails") {
		return false, nil
	}
	user := false
	for _, t := range c.Strings("RecipientTypeDetails") {
		known := false
		for _, k := range recipientTypes {
			if strings.EqualFold(strings.TrimSpace(t), k) {
				known = true
				user = user || k == "UserMailbox"
			}
		}
		if !known {
			return false, &cmdlet.Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot bind parameter 'RecipientTypeDetails'. Cannot convert value %q to type \"Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the following enumerator names and try again: %s\"",
				t, t, strings.Join(recipientTypes, ", "))}
		}
	}
	return !user, nil
}

// getView runs a Get- cmdlet over a collection, writing each object as
// view makes it (nil: as the server sends it): one object by -Identity,
// or the list with -Filter, -Anr and -ResultSize.
func getView[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], view func(T) *cmdlet.Object) error {
	q := url.Values{}
	none, err := recipientQuery(c, q)
	if err != nil || none {
		return err
	}
	if view == nil {
		view = objectView(coll)
	}
	return getObjectsQuery(ctx, c, coll, q, view)
}

// stringList is a string list as a shell value (nil stays $null).
func stringList(ss []string) any {
	if ss == nil {
		return nil
	}
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// userView is a mailbox as Get-User shows it.
func userView(m wire.Mailbox) *cmdlet.Object {
	u := cmdlet.NewObject("Gatehouse.User")
	u.Set("Identity", m.Identity)
	u.Set("Name", m.Name)
	u.Set("DisplayName", m.DisplayName)
	u.Set("UserPrincipalName", m.UserPrincipalName)
	first, last := splitName(m.DisplayName)
	u.Set("FirstName", first)
	u.Set("LastName", last)
	u.Set("WindowsEmailAddress", m.PrimarySmtpAddress)
	u.Set("RecipientType", "UserMailbox")
	u.Set("RecipientTypeDetails", "UserMailbox")
	u.Set("Guid", m.Guid)
	u.Set("WhenCreated", m.WhenCreated)
	u.Set("WhenChanged", m.WhenChanged)
	return u
}

// splitName guesses first and last name from the display name, as the
// directory would hold them.
func splitName(dn string) (string, string) {
	first, last, ok := strings.Cut(strings.TrimSpace(dn), " ")
	if !ok {
		return dn, ""
	}
	return first, strings.TrimSpace(last)
}

// recipientView is a mailbox as Get-Recipient shows it.
func recipientView(m wire.Mailbox) *cmdlet.Object {
	r := cmdlet.NewObject("Gatehouse.Recipient")
	r.Set("Identity", m.Identity)
	r.Set("Name", m.Name)
	r.Set("DisplayName", m.DisplayName)
	r.Set("Alias", m.Alias)
	r.Set("PrimarySmtpAddress", m.PrimarySmtpAddress)
	r.Set("EmailAddresses", stringList(m.EmailAddresses))
	r.Set("RecipientType", "UserMailbox")
	r.Set("RecipientTypeDetails", "UserMailbox")
	r.Set("Guid", m.Guid)
	r.Set("WhenCreated", m.WhenCreated)
	r.Set("WhenChanged", m.WhenChanged)
	return r
}

func getUser() *cmdlet.Cmdlet {
	return withRecipientFilters(&cmdlet.Cmdlet{
		Name: "Get-User", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.User",
		Synopsis:    "Gets the user accounts of the mailboxes.",
		Description: "Shows the user behind each mailbox: Name, DisplayName, FirstName, LastName, UserPrincipalName, WindowsEmailAddress, RecipientType and AuthenticationPolicy (the user's own authentication policy; empty when the organization's default applies). Every Gatehouse user has a mailbox.",
		Params:      []*cmdlet.Param{identityParam("UserIdParameter", mailboxIdentityHelp, false), filterParam(), resultSizeParam()},
		Examples:    []cmdlet.Example{{Code: "Get-User -ResultSize Unlimited | Select-Object Name,UserPrincipalName", Remarks: "Lists every user's sign-in name."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				// The user's own authentication policy is kept on the
				// user (GET /api/v1/users/{identity}), one request per
				// user; an organization without any policy needs none
				// of them (every user's is $null).
				anyPolicy := false
				if err := client.List(ctx, cl, client.AuthenticationPolicies, nil, 1, func(wire.AuthenticationPolicy) error {
					anyPolicy = true
					return nil
				}); err != nil {
					return err
				}
				var failed error
				err = getView(ctx, c, client.Mailboxes, func(m wire.Mailbox) *cmdlet.Object {
					if !anyPolicy {
						u := userView(m)
						u.Set("AuthenticationPolicy", nil)
						return u
					}
					return userPolicy(ctx, c, cl, userView(m), m.Identity, &failed)
				})
				if err == nil {
					err = failed
				}
				return err
			}}
		},
	})
}

func getRecipient() *cmdlet.Cmdlet {
	c := withRecipientFilters(&cmdlet.Cmdlet{
		Name: "Get-Recipient", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.Recipient",
		Synopsis:    "Gets the recipients: everything that has an email address.",
		Description: "Lists the recipients of the organization. Gatehouse's recipients are its mailboxes (RecipientType UserMailbox); -RecipientType and -RecipientTypeDetails of other kinds find none.",
		Params:      []*cmdlet.Param{identityParam("RecipientIdParameter", mailboxIdentityHelp, false), filterParam(), resultSizeParam()},
		Examples:    []cmdlet.Example{{Code: "Get-Recipient -RecipientTypeDetails UserMailbox -ResultSize Unlimited | Measure-Object", Remarks: "Counts the mailboxes."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				if c.Has("RecipientType") {
					ok := false
					for _, t := range c.Strings("RecipientType") {
						ok = ok || strings.EqualFold(t, "UserMailbox")
					}
					if !ok {
						return nil
					}
				}
				return getView(ctx, c, client.Mailboxes, recipientView)
			}}
		},
	})
	c.Params = append(c.Params, &cmdlet.Param{Name: "RecipientType", Type: cmdlet.TStrings, TypeName: "Microsoft.Exchange.Data.Directory.Recipient.RecipientType[]", Help: "Only recipients of these types; UserMailbox is every Gatehouse mailbox."})
	return c
}

// exoPropertySets are the property sets of Get-EXOCASMailbox, as far as a
// Gatehouse CAS mailbox has the properties.
var exoPropertySets = map[string][]string{
	"minimum":          {"Identity", "Name", "DisplayName", "PrimarySmtpAddress", "Guid", "PopEnabled", "ImapEnabled"},
	"pop":              {"PopEnabled", "EffectivePopEnabled", "PopAccess", "LastPopLogonTime"},
	"imap":             {"ImapEnabled", "EffectiveImapEnabled", "ImapAccess", "LastImapLogonTime"},
	"protocolsettings": {"PopEnabled", "ImapEnabled", "EffectivePopEnabled", "EffectiveImapEnabled"},
	"activesync":       {},
	"ews":              {},
	"mapi":             {},
	"all":              nil, // every property
}

var exoPropertySetNames = []string{"All", "Minimum", "ActiveSync", "Ews", "Imap", "Mapi", "Pop", "ProtocolSettings"}

func getEXOCASMailbox() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-EXOCASMailbox", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.CASMailbox",
		Synopsis:    "Gets the client access settings of mailboxes, by property sets (the REST-based cmdlet of the EXO module).",
		Description: "Like Get-CASMailbox, with the properties of -PropertySets (Minimum by default; Pop, Imap, ProtocolSettings, All) and -Properties, always with Identity, Name and Guid. ActiveSync, Ews and Mapi add nothing: Gatehouse does not serve those protocols.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, false),
			filterParam(), resultSizeParam(), anrParam(),
			{Name: "PropertySets", Type: cmdlet.TStrings, Help: "The groups of properties to return: Minimum (the default), Pop, Imap, ProtocolSettings, ActiveSync, Ews, Mapi, All."},
			{Name: "Properties", Type: cmdlet.TStrings, Help: "More properties to return, by name."},
		},
		Examples: []cmdlet.Example{{Code: "Get-EXOCASMailbox -PropertySets Minimum,Pop,Imap -ResultSize Unlimited", Remarks: "POP3 and IMAP4 settings and last use of every mailbox."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				sets := c.Strings("PropertySets")
				if len(sets) == 0 {
					sets = []string{"Minimum"}
				}
				// every set comes with what names the mailbox
				names := []string{"Identity", "Name", "Guid"}
				all := false
				for _, s := range sets {
					props, ok := exoPropertySets[strings.ToLower(strings.TrimSpace(s))]
					if !ok {
						return &cmdlet.Error{Source: c.Cmdlet.Name, Msg: fmt.Sprintf("Cannot bind parameter 'PropertySets'. Cannot convert value %q to type \"Microsoft.Exchange.Management.RestApiClient.PropertySet\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the following enumerator names and try again: %s\"",
							s, s, strings.Join(exoPropertySetNames, ", "))}
					}
					if props == nil {
						all = true
					}
					names = append(names, props...)
				}
				names = append(names, c.Strings("Properties")...)
				view := func(m wire.CASMailbox) *cmdlet.Object {
					o := client.Object(client.TypeCASMailbox, m)
					if all {
						return o
					}
					// the property sets select by name from the object
					// as the server sends it
					out := cmdlet.NewObject(o.TypeName)
					for _, n := range names {
						if _, done := out.Get(n); done {
							continue
						}
						if v, ok := o.Get(n); ok {
							out.Set(n, v)
						}
					}
					return out
				}
				return getView(ctx, c, client.CASMailboxes, view)
			}}
		},
	}
}

func getManagementRoleAssignment() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-ManagementRoleAssignment", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.ManagementRoleAssignment",
		Synopsis:    "Gets the management role assignments: which role each role group grants.",
		Description: "Lists one assignment per role of each role group (Name \"<Role>-<RoleGroup>\"). -Role and -Identity take wildcards; -RoleAssignee names a role group or one of its members, and then lists the assignments that apply to them.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TString, Position: 1, Help: "The assignment's name, e.g. \"Mail Recipients-Organization Management\" (wildcards allowed)."},
			{Name: "Role", Type: cmdlet.TString, Help: "Only assignments of this role (wildcards allowed)."},
			{Name: "RoleAssignee", Type: cmdlet.TString, Help: "Only the assignments of this role group, or that apply to this user through a role group."},
		},
		Examples: []cmdlet.Example{{Code: "Get-ManagementRoleAssignment -RoleAssignee holly", Remarks: "What Holly may do, and through which role group."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				var groups []wire.RoleGroup
				err = client.List(ctx, cl, client.RoleGroups, nil, cmdlet.Unlimited, func(g wire.RoleGroup) error { groups = append(groups, g); return nil })
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				assignee := strings.TrimSpace(c.String("RoleAssignee"))
				var user []string // the names the assignee goes by, when a member
				if assignee != "" {
					user = []string{assignee}
					if m, err := client.Get(ctx, cl, client.Mailboxes, assignee); err == nil {
						user = append(user, m.Name, m.Alias, m.PrimarySmtpAddress, m.UserPrincipalName, m.DisplayName)
					}
				}
				found := assignee == ""
				for _, g := range groups {
					gname := g.Name
					if assignee != "" && !strings.EqualFold(gname, assignee) && !memberOf(g, user) {
						continue
					}
					found = true
					for _, rname := range g.Roles {
						name := rname + "-" + gname
						if r := c.String("Role"); r != "" && !cmdlet.Like(r, rname, false) {
							continue
						}
						if id := c.String("Identity"); id != "" && !cmdlet.Like(id, name, false) {
							continue
						}
						a := cmdlet.NewObject("Gatehouse.ManagementRoleAssignment")
						a.Set("Name", name)
						a.Set("Identity", name)
						a.Set("Role", rname)
						a.Set("RoleAssigneeName", gname)
						a.Set("RoleAssigneeType", "RoleGroup")
						a.Set("AssignmentMethod", "Direct")
						a.Set("EffectiveUserName", "All Group Members")
						a.Set("Enabled", true)
						a.Set("RecipientWriteScope", "Organization")
						a.Set("ConfigWriteScope", "OrganizationConfig")
						if err := c.Emit(a); err != nil {
							return err
						}
					}
				}
				if !found {
					return c.WriteError(notFound(c, assignee))
				}
				return nil
			}}
		},
	}
}

// memberOf reports whether a role group's members include any of names.
func memberOf(g wire.RoleGroup, names []string) bool {
	for _, m := range g.Members {
		for _, n := range names {
			if strings.EqualFold(m, n) {
				return true
			}
		}
	}
	return false
}
