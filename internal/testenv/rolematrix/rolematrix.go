// Package rolematrix is the permission matrix of the admin surfaces, shared
// by the tests of the REST API, the admin center and the shell: every
// state-changing operation × each of the four role groups × each kind of
// target mailbox → allowed or refused, and the audit record the attempt
// leaves (docs/ARCHITECTURE.md, Roles; service/scope.go, the write scope).
//
// Each cell runs against fresh mailboxes: a new caller in the role group
// (signed in for the cell) and a new target of the kind, so that a cell
// that removes a mailbox, resets a password or changes a membership leaves
// nothing for the next.
package rolematrix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// Roles are the four built-in role groups, the rows of the matrix.
var Roles = rbac.GroupNames()

// Target is a kind of target mailbox.
type Target int

// The target kinds.
const (
	// None: the operation names no mailbox (New-Mailbox,
	// Set-CASMailboxPlan, Set-OrganizationConfig).
	None Target = iota
	// Plain: a mailbox in no role group.
	Plain
	// Same: another member of the caller's role group.
	Same
	// Higher: a member of Organization Management (for an Organization
	// Management caller there is none higher; the cell is left out).
	Higher
	// Other: a member of another role group that is not Organization
	// Management (Recipient Management for Organization Management, Help
	// Desk for Recipient Management and View-Only, View-Only for Help
	// Desk).
	Other
	// Self: the caller's own mailbox.
	Self
)

// Targets are the kinds of target mailboxes, the columns of the matrix.
var Targets = []Target{Plain, Same, Higher, Other, Self}

func (t Target) String() string {
	return [...]string{"none", "plain mailbox", "same group", "higher group", "other group", "self"}[t]
}

// Op is a state-changing operation, named by its cmdlet.
type Op struct {
	// Name names the cell in test output.
	Name   string
	Cmdlet string
	// Perm is the management role the operation needs.
	Perm rbac.Permission
	// Targeted: the operation acts on a mailbox (the write scope applies).
	Targeted bool
	// Credentials: the operation changes the target's password.
	Credentials bool
}

// The operations. Every surface maps each to its own request (or says it
// has none).
var (
	SetPassword   = Op{Name: "Set-Mailbox -Password", Cmdlet: "Set-Mailbox", Perm: rbac.ResetPassword, Targeted: true, Credentials: true}
	SetMailbox    = Op{Name: "Set-Mailbox -DisplayName", Cmdlet: "Set-Mailbox", Perm: rbac.MailRecipients, Targeted: true}
	SetCAS        = Op{Name: "Set-CASMailbox -PopEnabled", Cmdlet: "Set-CASMailbox", Perm: rbac.MailRecipients, Targeted: true}
	SetCASBulk    = Op{Name: "Set-CASMailbox bulk", Cmdlet: "Set-CASMailbox", Perm: rbac.MailRecipients, Targeted: true}
	RemoveMailbox = Op{Name: "Remove-Mailbox", Cmdlet: "Remove-Mailbox", Perm: rbac.MailRecipientCreation, Targeted: true}
	AddMember     = Op{Name: "Add-RoleGroupMember (Organization Management)", Cmdlet: "Add-RoleGroupMember", Perm: rbac.RoleManagement, Targeted: true}
	RemoveMember  = Op{Name: "Remove-RoleGroupMember", Cmdlet: "Remove-RoleGroupMember", Perm: rbac.RoleManagement, Targeted: true}
	NewMailbox    = Op{Name: "New-Mailbox", Cmdlet: "New-Mailbox", Perm: rbac.MailRecipientCreation}
	SetPlan       = Op{Name: "Set-CASMailboxPlan", Cmdlet: "Set-CASMailboxPlan", Perm: rbac.OrganizationClientAccess}
	SetOrg        = Op{Name: "Set-OrganizationConfig", Cmdlet: "Set-OrganizationConfig", Perm: rbac.OrganizationClientAccess}
	SetSmtpAuth   = Op{Name: "Set-CASMailbox -SmtpClientAuthenticationDisabled", Cmdlet: "Set-CASMailbox", Perm: rbac.MailRecipients, Targeted: true}
	SetTransport  = Op{Name: "Set-TransportConfig", Cmdlet: "Set-TransportConfig", Perm: rbac.OrganizationClientAccess}
	RetryQueue    = Op{Name: "Retry-Queue", Cmdlet: "Retry-Queue", Perm: rbac.TransportQueues}
	RemoveMessage = Op{Name: "Remove-Message", Cmdlet: "Remove-Message", Perm: rbac.TransportQueues}
	Ops           = []Op{SetPassword, SetMailbox, SetCAS, SetCASBulk, RemoveMailbox, AddMember, RemoveMember, NewMailbox, SetPlan, SetOrg, SetQuota,
		SetSmtpAuth, SetTransport, RetryQueue, RemoveMessage, NewMigrationBatch, NewAppPassword, RemoveAppPassword,
		NewAuthPolicy, SetUserAuthPolicy}
	StrongPassword = "Matrix-Pass-2026"
)

// SetQuota: Exchange lets Organization Management and Recipient Management
// (the Mail Recipients role) set quotas, not Help Desk.
var SetQuota = Op{Name: "Set-Mailbox -ProhibitSendReceiveQuota", Cmdlet: "Set-Mailbox", Perm: rbac.MailRecipients, Targeted: true}

// NewAppPassword makes a credential of the target, as a password reset
// does: the Reset Password role, and Role Management for an
// administrator's mailbox (service/apppasswords.go).
var NewAppPassword = Op{Name: "New-AppPassword", Cmdlet: "New-AppPassword", Perm: rbac.ResetPassword, Targeted: true, Credentials: true}

// RemoveAppPassword revokes one of the target's app passwords (see
// AppPassword): the Reset Password role, on a mailbox in the write scope.
var RemoveAppPassword = Op{Name: "Remove-AppPassword", Cmdlet: "Remove-AppPassword", Perm: rbac.ResetPassword, Targeted: true}

// NewAuthPolicy creates an authentication policy named after the cell
// (Organization Client Access, as the organization's other client access
// settings).
var NewAuthPolicy = Op{Name: "New-AuthenticationPolicy", Cmdlet: "New-AuthenticationPolicy", Perm: rbac.OrganizationClientAccess}

// SetUserAuthPolicy assigns the policy AuthPolicy makes to the target
// (Set-User -AuthenticationPolicy).
var SetUserAuthPolicy = Op{Name: "Set-User -AuthenticationPolicy", Cmdlet: "Set-User", Perm: rbac.OrganizationClientAccess, Targeted: true}

// AuthPolicy makes sure the policy the matrix assigns exists and returns
// its name.
func AuthPolicy(t testing.TB, env *testenv.Env) string {
	t.Helper()
	const name = "Matrix Policy"
	_, err := env.Service.NewAuthenticationPolicy(context.Background(), Admin(t, env), service.NewAuthenticationPolicyRequest{Name: name,
		AllowBasicAuthPop: true, AllowBasicAuthImap: true, AllowBasicAuthSmtp: true})
	var ce *service.ConflictError
	if err != nil && !errors.As(err, &ce) {
		t.Fatalf("create the authentication policy: %v", err)
	}
	return name
}

// AppPassword gives the cell's target an app password, made by the
// server's administrator, and returns its name (for Remove-AppPassword).
func (c Cell) AppPassword(t testing.TB, env *testenv.Env) string {
	t.Helper()
	const name = "Matrix Phone"
	if _, err := env.Service.NewAppPassword(context.Background(), Admin(t, env), c.TargetID, name, false); err != nil {
		t.Fatalf("app password for %s: %v", c.TargetID, err)
	}
	return name
}

// NewMigrationBatch: Exchange's Migration role, in Organization Management
// and Recipient Management. The cell's batch migrates its own caller
// from MigrationEndpoint (see MigrationCSV).
var NewMigrationBatch = Op{Name: "New-MigrationBatch", Cmdlet: "New-MigrationBatch", Perm: rbac.Migration}

// MigrationEndpoint makes sure the endpoint the matrix's batches use
// exists (created without trying the server) and returns its name.
func MigrationEndpoint(t testing.TB, env *testenv.Env) string {
	t.Helper()
	const name = "Matrix Source"
	_, err := env.Service.NewMigrationEndpoint(context.Background(), Admin(t, env), service.NewMigrationEndpointRequest{Name: name,
		RemoteServer: "imap.fabrikam.com", Security: "Ssl", SkipVerification: true})
	var ce *service.ConflictError
	if err != nil && !errors.As(err, &ce) {
		t.Fatalf("create the migration endpoint: %v", err)
	}
	return name
}

// MigrationCSV is the CSV file of the cell's batch: its caller's mailbox.
func (c Cell) MigrationCSV() string {
	return "EmailAddress,UserName,Password\n" + c.User + ",source-user,Source-Pass-1\n"
}

// Outcome is what an attempt got.
type Outcome int

// The outcomes.
const (
	Allowed Outcome = iota
	// Denied: refused for the caller's roles or write scope (HTTP 403).
	Denied
	// Refused: allowed to try, but refused for the values (already a
	// member, not a member): neither a permission question nor a change.
	Refused
)

func (o Outcome) String() string { return [...]string{"allowed", "denied", "refused"}[o] }

// Want is the expected outcome of op by a member of role on a target.
func Want(role string, op Op, t Target) Outcome {
	if !rbac.For([]string{role}).Has(op.Perm) {
		return Denied
	}
	if op.Targeted && role != rbac.OrganizationManagement {
		// The write scope: no role group the caller lacks; an
		// administrator's password needs Organization Management.
		if t == Higher || t == Other || op.Credentials && t != Plain {
			return Denied
		}
	}
	switch {
	case op == AddMember && (t == Same || t == Self):
		return Refused // already a member of Organization Management
	case op == RemoveMember && t == Plain:
		return Refused // not a member of any group
	}
	return Allowed
}

// Cell is one run of the matrix: a fresh caller of Role and, unless Target
// is None, a fresh target.
type Cell struct {
	Role   string
	Op     Op
	Target Target
	// User and Password sign the caller in.
	User, Password string
	// TargetID is the target's user principal name, TargetGUID its GUID,
	// TargetGroup the role group it is in ("" for a plain mailbox).
	TargetID, TargetGUID, TargetGroup string
	// Name is a fresh name for New-Mailbox.
	Name string
}

var seq atomic.Int64

// otherGroup is the group of an Other target for a caller of role.
func otherGroup(role string) string {
	switch role {
	case rbac.OrganizationManagement:
		return rbac.RecipientManagement
	case rbac.HelpDesk:
		return rbac.ViewOnlyOrganizationManagement
	}
	return rbac.HelpDesk
}

// Cells returns the cells of the matrix for the operations a surface has.
func Cells(ops []Op) []Cell {
	var out []Cell
	for _, op := range ops {
		for _, role := range Roles {
			if !op.Targeted {
				out = append(out, Cell{Role: role, Op: op, Target: None})
				continue
			}
			for _, t := range Targets {
				if t == Higher && role == rbac.OrganizationManagement {
					continue
				}
				out = append(out, Cell{Role: role, Op: op, Target: t})
			}
		}
	}
	return out
}

func (c Cell) String() string {
	return fmt.Sprintf("%s/%s/%s", c.Op.Name, c.Role, c.Target)
}

// Want is the cell's expected outcome.
func (c Cell) Want() Outcome { return Want(c.Role, c.Op, c.Target) }

// Prepare creates the cell's caller and target through the service, as
// the server's administrator, and fills in the names.
func (c *Cell) Prepare(t testing.TB, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	admin := Admin(t, env)
	n := seq.Add(1)
	mk := func(kind string, group string) (upn, guid string) {
		t.Helper()
		name := fmt.Sprintf("Matrix %s %d", kind, n)
		alias := fmt.Sprintf("mx-%s-%d", kind, n)
		m, _, err := env.Service.NewMailbox(ctx, admin, service.NewMailboxRequest{Name: name, Alias: alias, Password: StrongPassword})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if group != "" {
			if _, err := env.Service.AddRoleGroupMember(ctx, admin, group, m.UserPrincipalName, false); err != nil {
				t.Fatalf("add %s to %s: %v", name, group, err)
			}
		}
		return m.UserPrincipalName, m.Guid
	}
	var callerGUID string
	c.User, callerGUID = mk("caller", c.Role)
	c.Password = StrongPassword
	c.Name = fmt.Sprintf("Matrix New %d", n)
	switch c.Target {
	case Plain:
		c.TargetID, c.TargetGUID = mk("target", "")
	case Same:
		c.TargetGroup = c.Role
	case Higher:
		c.TargetGroup = rbac.OrganizationManagement
	case Other:
		c.TargetGroup = otherGroup(c.Role)
	case Self:
		c.TargetID, c.TargetGUID, c.TargetGroup = c.User, callerGUID, c.Role
	}
	if c.Target == Same || c.Target == Higher || c.Target == Other {
		c.TargetID, c.TargetGUID = mk("target", c.TargetGroup)
	}
}

// QueuedMessage puts a message in the outbound queue, waiting for its next
// attempt in an hour (so that Retry-Queue has something to change), and
// returns its identity (Smarthost\<number>).
func QueuedMessage(t testing.TB, env *testenv.Env) string {
	t.Helper()
	now := time.Now()
	id, err := env.Store.Enqueue(context.Background(), store.OutboundMessage{MailboxID: 1, From: "admin@contoso.com",
		Recipients: []string{"matrix@fabrikam.com"}, Data: []byte("Subject: matrix\r\n\r\nx\r\n"),
		DateReceived: now, NextRetry: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`%s\%d`, service.QueueName, id)
}

// Admin is the server's first administrator, signed in through the
// service.
func Admin(t testing.TB, env *testenv.Env) service.Caller {
	t.Helper()
	_, c, err := env.Service.SignIn(context.Background(), "admin", testenv.AdminPassword, service.SurfaceShell, "127.0.0.1")
	if err != nil {
		t.Fatalf("sign in admin: %v", err)
	}
	return c
}

// CheckAudit checks the newest audit record of the cell's caller: one for
// the cell's cmdlet, from surface, succeeded as got says; a denial's error
// says so in Exchange's words.
func (c Cell) CheckAudit(t testing.TB, env *testenv.Env, surface string, got Outcome) {
	t.Helper()
	recs, err := env.Service.SearchAdminAuditLog(context.Background(), Admin(t, env),
		service.AuditSearch{UserIDs: []string{c.User}, ResultSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(recs, func(r service.AuditRecord) bool { return r.CmdletName == c.Op.Cmdlet })
	if i < 0 {
		t.Fatalf("no audit record of %s by %s; got %+v", c.Op.Cmdlet, c.User, recs)
	}
	r := recs[i]
	if r.Surface != surface || r.Succeeded != (got == Allowed) {
		t.Errorf("audit record: got surface %q, Succeeded %v; want %q, %v (%+v)", r.Surface, r.Succeeded, surface, got == Allowed, r)
	}
	if got == Denied && !strings.Contains(r.Error, "Access denied") && !strings.Contains(r.Error, "out of the current user's write scope") {
		t.Errorf("audit record of a denial: got error %q; want Exchange's access denied or write scope text", r.Error)
	}
	if got == Allowed && r.Error != "" {
		t.Errorf("audit record of a success has an error: %q", r.Error)
	}
}
