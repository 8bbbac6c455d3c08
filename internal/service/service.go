// Package service is the one admin service layer: the admin shell (through
// the REST API), the admin center and the REST API itself call it, and it
// alone changes administrative state. Every operation runs, in one
// transaction: authorize (RBAC) → validate → write → audit record. After the
// commit it publishes the change events that make access changes reach open
// sessions on every node.
//
// Invariants:
//   - A denied operation changes nothing, names the missing management role,
//     and is audited with Succeeded = false.
//   - A set that changes nothing writes nothing and no audit record, and
//     says so (Result.NoChange) so that the shell prints Exchange's warning.
//   - WhatIf changes nothing and reports what would change and which open
//     sessions would be closed.
//   - Reads are not audited. Audit records are never changed or deleted.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Options configure the service.
type Options struct {
	Store    store.Store
	Hub      notify.Hub
	Registry *access.Registry
	Checker  *auth.Checker
	// Throttle slows down and locks out repeated failed admin sign-ins.
	Throttle *auth.Throttle
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	// Server names this node in Exchange's "couldn't be found on '<server>'".
	Server string
	// SessionTTL is how long an admin sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// Smarthost names the outbound queue's next hop (Get-Queue); QueueWake,
	// when set, makes the queue runner look at the queue now (Retry-Queue).
	Smarthost string
	QueueWake func()
}

// Service is the admin service layer.
type Service struct {
	st       store.Store
	hub      notify.Hub
	reg      *access.Registry
	checker  *auth.Checker
	throttle *auth.Throttle
	log      *slog.Logger
	m        *metrics.Metrics
	server   string
	ttl      time.Duration
	now      func() time.Time
	// smarthost and wake: see Options.Smarthost and QueueWake.
	smarthost string
	wake      func()
	// migration connects to the migration engine (SetMigrationHooks).
	migration MigrationHooks
}

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Server == "" {
		o.Server, _ = os.Hostname()
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	return &Service{st: o.Store, hub: o.Hub, reg: o.Registry, checker: o.Checker, throttle: o.Throttle,
		log: o.Logger, m: o.Metrics, server: o.Server, ttl: o.SessionTTL, now: func() time.Time { return time.Now().UTC() },
		smarthost: o.Smarthost, wake: o.QueueWake}
}

// Surfaces, as the audit log names them.
const (
	SurfaceShell       = "shell"
	SurfaceAdminCenter = "admincenter"
	SurfaceAPI         = "api"
)

// Caller is the signed-in administrator an operation runs for.
type Caller struct {
	MailboxID int64
	// Name is how the audit log names the caller (the user principal name).
	Name        string
	DisplayName string
	Address     string // client IP address
	Surface     string
	Groups      []string
	Permissions rbac.Set
}

// Can reports whether the caller holds a permission.
func (c Caller) Can(p rbac.Permission) bool { return c.Permissions.Has(p) }

// Result is what a change did (or, with WhatIf, would do).
type Result struct {
	// Identity is the name of the object changed.
	Identity string
	Cmdlet   string
	Changes  []store.PropertyChange
	// NoChange: the object already had the requested values.
	NoChange bool
	WhatIf   bool
	// Sessions are the open sessions this change closes (or would close),
	// on this node.
	Sessions []OpenSession
	// OtherNodes: the store is shared by several nodes (PostgreSQL) and
	// Sessions lists this node's only (the other nodes close theirs all the
	// same). A WhatIf asks every node instead, and leaves this false unless
	// the question failed.
	OtherNodes bool

	// sessionQuery says which sessions Sessions holds, so that a WhatIf
	// can ask the whole cluster afterwards (nil: none).
	sessionQuery *sessionQuery
}

// sessionQuery selects the sessions a change closes.
type sessionQuery struct {
	mailboxID int64 // 0: all
	name      string
	protos    []access.Protocol
}

// OpenSession is an open POP3 or IMAP4 session.
type OpenSession struct {
	Mailbox    string
	Protocol   string // "POP3" or "IMAP4"
	RemoteAddr string
	Since      time.Time
}

// Warning is Exchange's warning for a set that changed nothing, or "".
func (r Result) Warning() string {
	if !r.NoChange {
		return ""
	}
	return fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", r.Identity)
}

// WhatIfText is what -WhatIf prints: PowerShell's ShouldProcess line with
// the changes and the sessions that would be closed.
func (r Result) WhatIfText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "What if: Performing the operation %q on target %q.", r.Cmdlet, r.Identity)
	if r.NoChange {
		b.WriteString(" Nothing would change.")
		return b.String()
	}
	var parts []string
	for _, c := range r.Changes {
		parts = append(parts, fmt.Sprintf("%s: %s -> %s", c.Name, orNone(c.OldValue), orNone(c.NewValue)))
	}
	if len(parts) > 0 {
		b.WriteString(" " + strings.Join(parts, "; ") + ".")
	}
	if n := len(r.Sessions); n > 0 {
		by := map[string]int{}
		for _, s := range r.Sessions {
			by[s.Protocol]++
		}
		var ps []string
		for _, p := range []string{"POP3", "IMAP4"} {
			if by[p] > 0 {
				ps = append(ps, fmt.Sprintf("%d %s", by[p], p))
			}
		}
		if r.OtherNodes {
			fmt.Fprintf(&b, " Open sessions on this node that would be closed: %s; sessions on other nodes are not counted.", strings.Join(ps, ", "))
		} else {
			fmt.Fprintf(&b, " Open sessions that would be closed: %s.", strings.Join(ps, ", "))
		}
	} else if affectsAccess(r.Changes) {
		if r.OtherNodes {
			b.WriteString(" No open sessions on this node would be closed; sessions on other nodes are not counted.")
		} else {
			b.WriteString(" No open sessions would be closed.")
		}
	}
	return b.String()
}

func affectsAccess(changes []store.PropertyChange) bool {
	for _, c := range changes {
		switch c.Name {
		case "PopEnabled", "ImapEnabled", "SecurityDefaultsEnabled", "Password":
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func boolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// op describes one audited operation.
type op struct {
	cmdlet string
	perm   rbac.Permission
	object string
	params []store.Parameter
	whatIf bool
	// self: the operation acts on the caller's own mailbox (self-service)
	// and needs no role.
	self bool
}

// mutation is what an operation's body returns inside the transaction.
type mutation struct {
	result Result
	events []notify.Event
	// audit is false for no-ops and WhatIf: nothing was written.
	audit bool
}

// change runs one audited operation: authorize → (validate → write →
// audit) in one transaction → publish. A failure after authorization is
// audited with Succeeded = false in a transaction of its own, since the
// change's transaction rolled back.
func (s *Service) change(ctx context.Context, c Caller, o op, body func(tx store.Tx) (mutation, error)) (Result, error) {
	if err := s.authorize(ctx, c, []op{o}); err[0] != nil {
		return Result{}, err[0]
	}
	var mu mutation
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if mu, err = body(tx); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, o, &mu)
	})
	if err != nil {
		if !o.whatIf {
			s.auditFailure(ctx, c, o, err)
		}
		return Result{}, err
	}
	s.committed(ctx, []mutation{mu})
	if o.whatIf {
		s.clusterWhatIf(ctx, []*Result{&mu.result})
	}
	return mu.result, nil
}

// changeMany is change for a bulk edit (objects piped into a Set- cmdlet,
// a Bulk Edit in the admin center): every item goes through the same
// permission check, audit and events as with change, and is audited on its
// own, but bulkChunk items share one transaction. In each transaction,
// begin (may be nil) reads what the chunk's items (indexes into ops)
// need, then body(tx, i) is
// ops[i]'s body. An item error (not found, ambiguous, invalid, conflict:
// see isItemError) fails that item only and is audited with Succeeded =
// false in the same transaction; body must return it before it writes
// anything. Any other error rolls the chunk back, audits its items as
// failed and ends the edit: earlier chunks stay committed, later ones are
// not tried, and the error is returned with the results.
func (s *Service) changeMany(ctx context.Context, c Caller, ops []op, begin func(tx store.Tx, chunk []int) error,
	body func(tx store.Tx, i int) (mutation, error)) ([]ItemResult, error) {
	out := make([]ItemResult, len(ops))
	var allowed []int
	for i, err := range s.authorize(ctx, c, ops) {
		out[i] = ItemResult{Result: Result{Identity: ops[i].object, Cmdlet: ops[i].cmdlet, WhatIf: ops[i].whatIf}, Err: err}
		if err == nil {
			allowed = append(allowed, i)
		}
	}
	var whatIf []*Result
	for start := 0; start < len(allowed); start += bulkChunk {
		chunk := allowed[start:min(start+bulkChunk, len(allowed))]
		var done []mutation
		var failures, records []*store.AuditRecord
		err := s.st.Update(ctx, func(tx store.Tx) error {
			done, failures, records = done[:0], failures[:0], records[:0]
			if begin != nil {
				if err := begin(tx, chunk); err != nil {
					return err
				}
			}
			for _, i := range chunk {
				o := ops[i]
				mu, err := body(tx, i)
				if isItemError(err) {
					out[i].Err = err
					if !o.whatIf {
						failures = append(failures, s.record(c, o, o.object, nil, err))
					}
					continue
				}
				if err != nil {
					return err
				}
				if r := s.auditRecord(c, o, &mu); r != nil {
					records = append(records, r)
				}
				out[i] = ItemResult{Result: mu.result}
				done = append(done, mu)
			}
			// The chunk's records in one go: the changes in their order,
			// then the items that failed, as one by one before.
			return tx.InsertAudits(ctx, append(records, failures...))
		})
		if err != nil {
			err = fmt.Errorf("%s over %d objects: %w", ops[chunk[0]].cmdlet, len(chunk), err)
			var lost []*store.AuditRecord
			for _, i := range chunk {
				o := ops[i]
				out[i] = ItemResult{Result: Result{Identity: o.object, Cmdlet: o.cmdlet, WhatIf: o.whatIf}, Err: err}
				if !o.whatIf {
					lost = append(lost, s.record(c, o, o.object, nil, err))
				}
			}
			s.auditFailures(ctx, lost)
			return out, err
		}
		for _, f := range failures {
			s.m.AdminOperation(f.CmdletName, false)
		}
		s.committed(ctx, done)
		for _, i := range chunk {
			if out[i].Err == nil && out[i].WhatIf {
				whatIf = append(whatIf, &out[i].Result)
			}
		}
	}
	s.clusterWhatIf(ctx, whatIf)
	return out, nil
}

// authorize checks the caller's permission for each operation and returns
// an error per operation (nil: allowed). Denials are audited with
// Succeeded = false, except for WhatIf.
func (s *Service) authorize(ctx context.Context, c Caller, ops []op) []error {
	errs := make([]error, len(ops))
	var denials []*store.AuditRecord
	for i, o := range ops {
		if o.self || c.Can(o.perm) {
			continue
		}
		errs[i] = s.denied(c, o)
		if !o.whatIf {
			denials = append(denials, s.record(c, o, o.object, nil, errs[i]))
		}
	}
	s.auditFailures(ctx, denials)
	return errs
}

// audit completes an operation's result inside its transaction and, when
// the operation wrote something (not a no-op, not a WhatIf), writes its
// audit record.
func (s *Service) audit(ctx context.Context, tx store.Tx, c Caller, o op, mu *mutation) error {
	if r := s.auditRecord(c, o, mu); r != nil {
		return tx.InsertAudit(ctx, r)
	}
	return nil
}

// auditRecord completes an operation's result and returns the audit record
// to write, nil when the operation wrote nothing.
func (s *Service) auditRecord(c Caller, o op, mu *mutation) *store.AuditRecord {
	mu.result.Cmdlet, mu.result.WhatIf = o.cmdlet, o.whatIf
	if mu.result.Identity == "" {
		mu.result.Identity = o.object
	}
	if !mu.audit || o.whatIf {
		mu.audit = false
		return nil
	}
	return s.record(c, o, mu.result.Identity, mu.result.Changes, nil)
}

// committed counts the operations that wrote something and publishes
// their events, once their transaction has committed.
func (s *Service) committed(ctx context.Context, mus []mutation) {
	var events []notify.Event
	for _, mu := range mus {
		if mu.audit {
			s.m.AdminOperation(mu.result.Cmdlet, true)
			events = append(events, mu.events...)
		}
	}
	if len(events) > 0 {
		s.publish(ctx, events)
	}
}

// clusterSessionsWait is how long a WhatIf waits for the other nodes to
// list their sessions (PostgreSQL only).
const clusterSessionsWait = 300 * time.Millisecond

// clusterWhatIf replaces the sessions of WhatIf results, listed from this
// node's registry, by those of every node, when several may share the store.
// It asks once, after the transaction, for all of them.
func (s *Service) clusterWhatIf(ctx context.Context, results []*Result) {
	if !s.clustered() || s.hub == nil {
		return
	}
	var mailbox int64 = -1
	for _, r := range results {
		if q := r.sessionQuery; q != nil {
			if mailbox == -1 || mailbox == q.mailboxID {
				mailbox = q.mailboxID
			} else {
				mailbox = 0 // several mailboxes: ask for all
			}
		}
	}
	if mailbox == -1 {
		return
	}
	reports, err := access.ClusterSessions(ctx, s.hub, s.st, mailbox, clusterSessionsWait)
	if err != nil {
		s.log.Warn("asking the cluster for open sessions", "err", err)
		return
	}
	for _, r := range results {
		q := r.sessionQuery
		if q == nil {
			continue
		}
		r.Sessions = r.Sessions[:0]
		for _, rep := range reports {
			if q.mailboxID != 0 && rep.MailboxID != q.mailboxID {
				continue
			}
			for _, p := range q.protos {
				if string(p) == rep.Protocol {
					r.Sessions = append(r.Sessions, OpenSession{Mailbox: q.name, Protocol: p.Display(), RemoteAddr: rep.RemoteAddr, Since: rep.Since})
				}
			}
		}
		sort.Slice(r.Sessions, func(i, j int) bool { return r.Sessions[i].Since.Before(r.Sessions[j].Since) })
		r.OtherNodes = false
	}
}

func (s *Service) publish(ctx context.Context, events []notify.Event) {
	// Many access changes at once (a bulk Set-CASMailbox) become one
	// organization-wide event: every node re-checks its sessions once.
	access := 0
	for _, e := range events {
		if e.Kind == notify.AccessChanged {
			access++
		}
	}
	published := false
	for _, e := range events {
		if e.Kind == notify.AccessChanged && access > 50 {
			if published {
				continue
			}
			e, published = notify.Event{Kind: notify.AccessChanged}, true
		}
		if e.Kind == notify.CredentialsChanged && s.checker != nil {
			// The old password must not sign a kicked client back in from
			// the cache, even for the moment before the hub brings the
			// event to the cache's own subscriber.
			s.checker.Forget(e.MailboxID)
		}
		// The registry enforces an access change on this node before it
		// publishes it to the others (and only once here).
		var err error
		if s.reg != nil {
			err = s.reg.Publish(ctx, e)
		} else {
			err = s.hub.Publish(context.WithoutCancel(ctx), e)
		}
		if err != nil {
			s.log.Error("publish change event", "event", e, "err", err)
		}
	}
}

func (s *Service) record(c Caller, o op, object string, changes []store.PropertyChange, failure error) *store.AuditRecord {
	r := &store.AuditRecord{RunDate: s.now(), Caller: c.Name, ClientAddress: c.Address, Surface: c.Surface,
		CmdletName: o.cmdlet, CmdletParameters: o.params, ObjectModified: object, ModifiedProperties: changes,
		Succeeded: failure == nil}
	if failure != nil {
		r.Error = failure.Error()
	}
	return r
}

func (s *Service) auditFailure(ctx context.Context, c Caller, o op, failure error) {
	s.auditFailures(ctx, []*store.AuditRecord{s.record(c, o, o.object, nil, failure)})
}

// auditFailures writes the records of failed operations in transactions of
// their own (bulkChunk records each), since the operations wrote nothing.
func (s *Service) auditFailures(ctx context.Context, recs []*store.AuditRecord) {
	ctx = context.WithoutCancel(ctx)
	for start := 0; start < len(recs); start += bulkChunk {
		chunk := recs[start:min(start+bulkChunk, len(recs))]
		for _, r := range chunk {
			s.m.AdminOperation(r.CmdletName, false)
		}
		// The names are looked up in a read transaction of their own: a
		// lookup that fails (the mailbox is gone, or the engine refused) is
		// only skipped, and on PostgreSQL a failed statement would leave a
		// write transaction able to do nothing more (25P02), losing the
		// records.
		s.st.View(ctx, func(tx store.Tx) error {
			for _, r := range chunk {
				s.nameObject(ctx, tx, r)
			}
			return nil
		})
		err := s.st.Update(ctx, func(tx store.Tx) error {
			return tx.InsertAudits(ctx, chunk)
		})
		if err != nil {
			s.log.Error("audit records of failed operations lost", "cmdlet", chunk[0].CmdletName, "records", len(chunk), "err", err)
		}
	}
}

// mailboxCmdlets are the audited cmdlets whose object is an existing
// mailbox.
var mailboxCmdlets = map[string]bool{"Set-CASMailbox": true, "Set-Mailbox": true, "Remove-Mailbox": true}

// nameObject records a refused change of a mailbox under the mailbox's Name,
// as a change that succeeded is recorded, rather than under whatever
// identity the caller gave (the admin center sends GUIDs): a search of the
// audit log for the mailbox then finds its refusals too. The identity as
// given stays in the parameters (-Identity).
func (s *Service) nameObject(ctx context.Context, tx store.Tx, r *store.AuditRecord) {
	if !mailboxCmdlets[r.CmdletName] || r.ObjectModified == "" || strings.ContainsAny(r.ObjectModified, "*?") {
		return
	}
	if m, err := s.resolve(ctx, tx, r.ObjectModified); err == nil {
		r.ObjectModified = m.Name
	}
}

// auditObjects widens an audit search for objects to every name of the
// mailboxes they name (Name, display name, alias, addresses, GUID), so
// that "Christa Knapp", christa@contoso.com and her GUID each find all of
// her records, including those written under another of her names.
func (s *Service) auditObjects(ctx context.Context, tx store.Tx, ids []string) []string {
	out := append([]string(nil), ids...)
	seen := map[string]bool{}
	for _, id := range ids {
		seen[strings.ToLower(id)] = true
	}
	add := func(v string) {
		if v != "" && !seen[strings.ToLower(v)] {
			seen[strings.ToLower(v)] = true
			out = append(out, v)
		}
	}
	for _, id := range ids {
		if strings.ContainsAny(id, "*?") {
			continue
		}
		m, err := s.resolve(ctx, tx, id)
		if err != nil {
			continue
		}
		for _, v := range append([]string{m.Name, m.DisplayName, m.Alias, m.GUID, m.PrimarySmtpAddress, m.UserPrincipalName}, m.EmailAddresses...) {
			add(v)
		}
	}
	return out
}

func (s *Service) denied(c Caller, o op) error {
	return &ForbiddenError{Caller: c.Name, Cmdlet: o.cmdlet, Role: o.perm, Groups: rbac.GroupsWith(o.perm)}
}

// read authorizes a read and runs fn in a read transaction. Reads are not
// audited.
func (s *Service) read(ctx context.Context, c Caller, cmdlet string, perm rbac.Permission, fn func(tx store.Tx) error) error {
	if !c.Can(perm) {
		return s.denied(c, op{cmdlet: cmdlet, perm: perm})
	}
	return s.st.View(ctx, fn)
}

// clustered reports whether other nodes may share the store (and hold
// sessions this node's registry does not know).
func (s *Service) clustered() bool { return s.st.Engine() == "postgres" }

// sessionsClosed fills res.Sessions with the sessions of a mailbox (0: all)
// on this node whose protocol is in protos, and remembers the question for
// clusterWhatIf.
func (s *Service) sessionsClosed(res *Result, mailboxID int64, name string, protos ...access.Protocol) {
	res.Sessions = s.openSessions(mailboxID, name, protos...)
	res.OtherNodes = s.clustered()
	res.sessionQuery = &sessionQuery{mailboxID: mailboxID, name: name, protos: protos}
}

// openSessions lists the sessions of a mailbox (0: all) on this node whose
// protocol is in protos.
func (s *Service) openSessions(mailboxID int64, name string, protos ...access.Protocol) []OpenSession {
	if s.reg == nil {
		return nil
	}
	var out []OpenSession
	for _, ss := range s.reg.Sessions(mailboxID) {
		for _, p := range protos {
			if ss.Protocol == p {
				out = append(out, OpenSession{Mailbox: name, Protocol: p.Display(), RemoteAddr: ss.RemoteAddr, Since: ss.Since})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// Errors.

// ErrForbidden matches every *ForbiddenError.
var ErrForbidden = errors.New("forbidden")

// ErrUnauthenticated means no valid sign-in.
var ErrUnauthenticated = errors.New("not signed in")

// ForbiddenError is an operation the caller's role groups do not allow:
// either the caller lacks the management role Role, or (Target set) the
// caller holds it but the mailbox Target is out of the caller's write
// scope (see inScope) for Reason.
type ForbiddenError struct {
	Caller string
	Cmdlet string
	Role   rbac.Permission
	Groups []string
	// Target is the mailbox out of the caller's write scope; Properties
	// are the parameters the operation sets, and Reason says why.
	Target     string
	Properties []string
	Reason     string
}

func (e *ForbiddenError) Error() string {
	if e.Target != "" {
		action := fmt.Sprintf("'%s'", e.Cmdlet)
		if len(e.Properties) > 0 {
			action += fmt.Sprintf(", '%s',", strings.Join(e.Properties, "', '"))
		}
		return fmt.Sprintf("The operation on mailbox \"%s\" failed because it's out of the current user's write scope. "+
			"The action %s can't be performed on the object '%s' because %s.", e.Target, action, e.Target, e.Reason)
	}
	return fmt.Sprintf("Access denied: '%s' isn't assigned to any management roles that allow %s; it needs the '%s' role (role groups: %s).",
		e.Caller, e.Cmdlet, e.Role, strings.Join(e.Groups, ", "))
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// NotFoundError is an identity that matches nothing (Exchange's text).
type NotFoundError struct {
	Identity string
	Server   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on '%s'.", e.Identity, e.Server)
}

// Is makes errors.Is(err, store.ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == store.ErrNotFound }

// AmbiguousError is an identity that matches several objects.
type AmbiguousError struct {
	Identity string
	Matches  []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("The operation couldn't be performed because '%s' matches multiple entries.", e.Identity)
}

// ValidationError is a parameter value that cannot be accepted.
type ValidationError struct {
	Parameter string
	Message   string
}

func (e *ValidationError) Error() string { return e.Message }

// ConflictError is a name, alias or address already in use.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

func invalid(param, format string, args ...any) error {
	return &ValidationError{Parameter: param, Message: fmt.Sprintf(format, args...)}
}
