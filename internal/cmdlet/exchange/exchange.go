package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// bulkBatch is how many pipeline objects a Set- cmdlet gathers into one
// UpdateMany call, so that piping 10,000 mailboxes is tens of requests,
// not 10,000 round trips.
const bulkBatch = 500

// defaultResultSize is Exchange's default -ResultSize.
const defaultResultSize = 1000

// ExchangeCmdlets returns the Exchange cmdlets (CMDLETS.md), which work
// through the session's API.
func ExchangeCmdlets() []*cmdlet.Cmdlet {
	return append([]*cmdlet.Cmdlet{
		withRecipientFilters(getMailbox()), newMailbox(), setMailbox(), removeMailbox(),
		withAnr(getCASMailbox()), setCASMailbox(),
		getUser(), getRecipient(), getEXOCASMailbox(), getManagementRoleAssignment(),
		connectExchangeOnline(), disconnectExchangeOnline(), getCredential(),
		getCASMailboxPlan(), setCASMailboxPlan(),
		getOrganizationConfig(), setOrganizationConfig(), getTransportConfig(), setTransportConfig(), getQueue(), getMessage(), retryQueue(), removeMessage(),
		getAuthenticationPolicy(), newAuthenticationPolicy(), setAuthenticationPolicy(), removeAuthenticationPolicy(), setUser(),
		getAppPassword(), newAppPassword(), removeAppPassword(),
		getRoleGroup(), getRoleGroupMember(), addRoleGroupMember(), removeRoleGroupMember(),
		searchAdminAuditLog(), getEmailAppUsageReport(),
		getMailboxStatistics(),
	}, migrationCmdlets()...)
}

// DefaultRegistry returns the built-in helpers and the Exchange cmdlets.
func DefaultRegistry() *cmdlet.Registry {
	r := cmdlet.NewRegistry()
	r.Add(cmdlet.Builtins()...)
	r.Add(ExchangeCmdlets()...)
	return r
}

func identityParam(typeName, help string, mandatory bool) *cmdlet.Param {
	return &cmdlet.Param{
		Name: "Identity", Type: cmdlet.TIdentity, TypeName: typeName, Position: 1, Mandatory: mandatory,
		FromPipeline: true, FromPipelineByName: true, Help: help,
	}
}

const mailboxIdentityHelp = "The mailbox: its Name, DisplayName, Alias, any email address, UserPrincipalName or GUID (case-insensitive). Mailboxes piped in bind here."

func resultSizeParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "ResultSize", Type: cmdlet.TResultSize, Help: "The most objects to return: a number, or Unlimited. 1000 by default."}
}

func filterParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "Filter", Type: cmdlet.TFilter, Help: "An OPATH filter, e.g. \"PopEnabled -eq `$false -and Name -like 'Chr*'\"; evaluated by the server."}
}

// resultSize is the -ResultSize to ask for (Unlimited is -1).
func resultSize(c *cmdlet.Call) int64 {
	if n, ok := c.Int("ResultSize"); ok {
		return n
	}
	return defaultResultSize
}

// errEnough ends a listing once -ResultSize objects have been written and
// one more has shown that there are others.
var errEnough = errors.New("enough")

// rest returns the session's REST client.
func rest(c *cmdlet.Call) (*client.Client, error) {
	cl, ok := c.Session().API().(*client.Client)
	if !ok {
		return nil, &cmdlet.Error{Source: c.Cmdlet.Name, Msg: "The session is not connected to a Gatehouse server; run Connect-ExchangeOnline."}
	}
	return cl, nil
}

// confirmedREST asks the user to confirm action on target (not under
// -WhatIf, where the server answers what it would do) and returns the
// session's REST client: nil without an error when the user said no.
func confirmedREST(c *cmdlet.Call, target, action string) (*client.Client, error) {
	if !c.WhatIf() {
		ok, err := c.ShouldProcess(target, action)
		if err != nil || !ok {
			return nil, err
		}
	}
	return rest(c)
}

// getOne writes the object of coll that identity names.
func getOne[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], identity string) error {
	cl, err := rest(c)
	if err != nil {
		return err
	}
	o, err := client.Get(ctx, cl, coll, identity)
	if err != nil {
		return c.WriteError(cmdlet.APIMessage(err))
	}
	return c.Emit(client.Object(coll.TypeName, o))
}

// getOneOrAll runs the Get- cmdlet of a small collection (role groups,
// policies): the object -Identity names, or all of them.
func getOneOrAll[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T]) error {
	if id := c.String("Identity"); id != "" {
		return getOne(ctx, c, coll, id)
	}
	return listAll(ctx, c, coll, cmdlet.Unlimited)
}

// objectView is the default view of a collection's objects: the object
// as the server sends it.
func objectView[T any](coll client.Collection[T]) func(T) *cmdlet.Object {
	return func(v T) *cmdlet.Object { return client.Object(coll.TypeName, v) }
}

// getObjectsQuery runs a Get- cmdlet: one object by -Identity (a list when the
// identity has wildcards), or the collection with -Filter and -ResultSize,
// written as view makes them as the pages arrive; it warns as Exchange
// does when -ResultSize cut the list short. q holds more of the list's
// query (-Anr).
func getObjectsQuery[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], q url.Values, view func(T) *cmdlet.Object) error {
	cl, err := rest(c)
	if err != nil {
		return err
	}
	id := c.String("Identity")
	if v, bound := c.Get("Identity"); bound && (v == nil || id == "") {
		// Exchange returns every object for a $null identity; a typo in a
		// variable name should not list the organization, so we say "not
		// found" instead.
		return c.WriteError(fmt.Sprintf("The operation couldn't be performed because object '' couldn't be found on '%s'.", cl.Server()))
	}
	if id != "" && !strings.ContainsAny(id, "*?") {
		o, err := client.Get(ctx, cl, coll, id)
		if err != nil {
			return c.WriteError(cmdlet.APIMessage(err))
		}
		return c.Emit(view(o))
	}
	if f := c.String("Filter"); f != "" {
		q.Set("filter", f)
	}
	if id != "" {
		q.Set("identity", id)
	}
	return listLimited(ctx, c, coll, q, view)
}

// listLimited writes the objects of a collection, up to -ResultSize, as
// the pages arrive, and warns as Exchange does when -ResultSize (or its
// default of 1000) left some out.
func listLimited[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], q url.Values, view func(T) *cmdlet.Object) error {
	cl, err := rest(c)
	if err != nil {
		return err
	}
	limit := resultSize(c)
	ask := limit
	if limit != cmdlet.Unlimited {
		ask = limit + 1
	}
	var n int64
	more := false
	var emitErr error
	err = client.List(ctx, cl, coll, q, ask, func(v T) error {
		if limit != cmdlet.Unlimited && n >= limit {
			more = true
			return errEnough
		}
		n++
		emitErr = c.Emit(view(v))
		return emitErr
	})
	if err != nil && !errors.Is(err, errEnough) {
		if _, stop := cmdlet.IsStop(err); stop || ctx.Err() != nil || emitErr != nil {
			// what the commands after this one returned goes on as it is
			return err
		}
		return c.WriteError(cmdlet.APIMessage(err))
	}
	if more && !c.Has("ResultSize") {
		return c.WriteWarning(DefaultCapWarning(limit))
	}
	if more {
		return c.WriteWarning("There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.")
	}
	return nil
}

// DefaultCapWarning is Exchange's warning when the default -ResultSize
// left objects out.
func DefaultCapWarning(limit int64) string {
	return fmt.Sprintf("By default only the first %d items are returned. Use the ResultSize parameter to specify the number of items returned. "+
		"To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual number of items, returning all items "+
		"can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable. "+
		"Instead, pipe the results to another task or script to perform batch changes.", limit)
}

// listAll writes every object of a collection, up to limit.
func listAll[T any](ctx context.Context, c *cmdlet.Call, coll client.Collection[T], limit int64) error {
	cl, err := rest(c)
	if err != nil {
		return err
	}
	var emitErr error
	err = client.List(ctx, cl, coll, nil, limit, func(v T) error { emitErr = c.Emit(client.Object(coll.TypeName, v)); return emitErr })
	if err != nil {
		if _, stop := cmdlet.IsStop(err); stop || ctx.Err() != nil || emitErr != nil {
			return err
		}
		return c.WriteError(cmdlet.APIMessage(err))
	}
	return nil
}

func getMailbox() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-Mailbox", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.Mailbox",
		Synopsis:    "Gets mailboxes.",
		Description: "Gets one mailbox by -Identity, or the mailboxes that match -Filter, up to -ResultSize (1000 by default; Unlimited for all). Mailboxes piped into Set-CASMailbox, Set-Mailbox or Remove-Mailbox bind to their -Identity.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, false),
			filterParam(), resultSizeParam(),
		},
		Examples: []cmdlet.Example{
			{Code: "Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false", Remarks: "Turns POP3 and IMAP4 off for every mailbox."},
			{Code: "Get-Mailbox -Identity \"Christa Knapp\" | Format-List", Remarks: "Every property of Christa Knapp's mailbox."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error { return getView(ctx, c, client.Mailboxes, nil) }}
		},
	}
}

func getCASMailbox() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-CASMailbox", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.CASMailbox",
		Synopsis:    "Gets the client access settings (POP3 and IMAP4) of mailboxes.",
		Description: "Shows whether each mailbox may use POP3 and IMAP4 (PopEnabled, ImapEnabled), and with Format-List also the effective state after security defaults, the reason when blocked, and the last POP3 and IMAP4 use.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, false),
			filterParam(), resultSizeParam(),
		},
		Examples: []cmdlet.Example{
			{Code: "Get-CASMailbox -Identity \"Christa Knapp\" | Format-List Pop*,Imap*", Remarks: "Christa Knapp's POP3 and IMAP4 settings."},
			{Code: "Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation", Remarks: "Saves the mailboxes that may still use POP3."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error { return getView(ctx, c, client.CASMailboxes, nil) }}
		},
	}
}

// changes collects the bound values of the settable parameters, in the
// order the cmdlet declares them.
func changes(c *cmdlet.Call, names ...string) *cmdlet.Object {
	o := cmdlet.NewObject("")
	for _, n := range names {
		if v, ok := c.Get(n); ok {
			o.Set(n, v)
		}
	}
	return o
}

// pending is one change a Set- cmdlet has gathered: the object and the
// bound parameters that change it.
type pending struct {
	identity string
	params   *cmdlet.Object
	// guid is the GUID of the piped mailbox object the change is for
	// (pipedGUID), or "".
	guid string
}

// pipedGUID is the GUID of the mailbox object piped into a Set- cmdlet
// whose Identity it gave (Get-CASMailbox | Set-CASMailbox): the server
// finds the mailbox by it in one indexed lookup for a batch, and it names
// the very mailbox that was read, as Exchange binds a piped object. The
// pipeline binds a Gatehouse object's Guid to -Identity (cmdlet's
// identityOf), or its Identity where it has no Guid. An identity from the
// command line, or an object of another kind, has none.
func pipedGUID(c *cmdlet.Call, identity string) string {
	o, ok := c.Input.(*cmdlet.Object)
	if !ok || !c.HasInput {
		return ""
	}
	var id, guid string
	switch m := o.Origin().(type) {
	case wire.CASMailbox:
		id, guid = m.Identity, m.Guid
	case wire.Mailbox:
		id, guid = m.Identity, m.Guid
	}
	if guid == "" || (!strings.EqualFold(identity, guid) && identity != id) {
		return ""
	}
	return guid
}

// sender sends a batch of changes of one Set- cmdlet and returns one
// result per change, in order.
type sender func(ctx context.Context, cl *client.Client, items []pending, whatIf bool) []client.BulkResult

// batcher gathers the changes of a Set- cmdlet and sends them, bulkBatch
// at a time, keeping up to bulkInFlight batches in flight while the
// pipeline goes on (reading the next page of Get-Mailbox, say). Results
// are reported in order, from the pipeline's goroutine: errors, -WhatIf
// lines, and Exchange's warning for a change that changed nothing.
type batcher struct {
	send     sender
	items    []pending
	inFlight []*batch
}

// bulkInFlight is how many batches may wait for the server at once.
const bulkInFlight = 2

type batch struct {
	items   []pending
	done    chan struct{}
	results []client.BulkResult
}

func (b *batcher) add(ctx context.Context, c *cmdlet.Call, identity string, ch *cmdlet.Object) error {
	b.items = append(b.items, pending{identity: identity, params: ch, guid: pipedGUID(c, identity)})
	if !c.HasInput {
		return b.flush(ctx, c)
	}
	if len(b.items) >= bulkBatch {
		if err := b.start(ctx, c); err != nil {
			return err
		}
	}
	// report batches that are done, and wait while too many are pending
	for len(b.inFlight) > 0 {
		first := b.inFlight[0]
		if len(b.inFlight) <= bulkInFlight {
			select {
			case <-first.done:
			default:
				return nil
			}
		}
		if err := b.report(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// start sends the gathered items on their way.
func (b *batcher) start(ctx context.Context, c *cmdlet.Call) error {
	if len(b.items) == 0 {
		return nil
	}
	cl, err := rest(c)
	if err != nil {
		return err
	}
	bt := &batch{items: b.items, done: make(chan struct{})}
	b.items = nil
	b.inFlight = append(b.inFlight, bt)
	whatIf := c.WhatIf()
	go func() {
		defer close(bt.done)
		bt.results = b.send(ctx, cl, bt.items, whatIf)
	}()
	return nil
}

// report waits for the oldest batch and reports its results.
func (b *batcher) report(ctx context.Context, c *cmdlet.Call) error {
	bt := b.inFlight[0]
	b.inFlight = b.inFlight[1:]
	<-bt.done
	for i, r := range bt.results {
		if err := reportUpdate(c, bt.items[i].identity, bt.items[i].params, r.Result, r.Err); err != nil {
			b.abandon()
			return err
		}
	}
	return ctx.Err()
}

// abandon waits for the batches still in flight without reporting them.
func (b *batcher) abandon() {
	for _, bt := range b.inFlight {
		<-bt.done
	}
	b.inFlight = nil
}

// flush sends what is gathered and reports every batch.
func (b *batcher) flush(ctx context.Context, c *cmdlet.Call) error {
	if err := b.start(ctx, c); err != nil {
		return err
	}
	for len(b.inFlight) > 0 {
		if err := b.report(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// bodies turns the parameters of each pending change into the request
// body T; a change whose parameters do not fit gets its error in out, and
// ok lists the others.
func bodies[T any](items []pending, out []client.BulkResult) (ok []int, bs []T) {
	for i, it := range items {
		b, err := client.Body[T](it.params)
		if err != nil {
			out[i].Err = err
			continue
		}
		ok = append(ok, i)
		bs = append(bs, b)
	}
	return ok, bs
}

// sendCASMailboxes sends Set-CASMailbox changes as one bulk request.
func sendCASMailboxes(ctx context.Context, cl *client.Client, items []pending, whatIf bool) []client.BulkResult {
	out := make([]client.BulkResult, len(items))
	ok, bs := bodies[wire.SetCASMailboxBody](items, out)
	bulk := make([]wire.BulkCASItem, len(ok))
	for j, i := range ok {
		bulk[j] = wire.BulkCASItem{Identity: items[i].identity, Guid: items[i].guid, PopEnabled: bs[j].PopEnabled, ImapEnabled: bs[j].ImapEnabled,
			SmtpClientAuthenticationDisabled: bs[j].SmtpClientAuthenticationDisabled}
	}
	for j, r := range cl.SetCASMailboxes(ctx, bulk, whatIf) {
		out[ok[j]] = r
	}
	return out
}

// sendMailboxes sends Set-Mailbox changes.
func sendMailboxes(ctx context.Context, cl *client.Client, items []pending, whatIf bool) []client.BulkResult {
	out := make([]client.BulkResult, len(items))
	ok, bs := bodies[wire.SetMailboxBody](items, out)
	ids := make([]string, len(ok))
	for j, i := range ok {
		ids[j] = items[i].identity
	}
	for j, r := range cl.SetMailboxes(ctx, ids, bs, whatIf) {
		out[ok[j]] = r
	}
	return out
}

// reportUpdate shows the outcome of one change: -WhatIf lines, or
// Exchange's warning for a change that changed nothing.
func reportUpdate(c *cmdlet.Call, identity string, params *cmdlet.Object, r wire.ResultBody, err error) error {
	if err != nil {
		return c.WriteError(cmdlet.APIMessage(err))
	}
	name := identity
	if r.Identity != "" {
		name = r.Identity
	}
	if c.WhatIf() {
		for _, line := range whatIfLines(c.Cmdlet.Name, name, params, r) {
			c.Session().WriteHost("What if: " + line)
		}
		return nil
	}
	if r.NoChange {
		msg := r.Warning
		if msg == "" {
			msg = fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", name)
		}
		return c.WriteWarning(msg)
	}
	return nil
}

// whatIfLines words a -WhatIf report: the server's text when it gives one,
// else what would change and which open sessions would be closed. An
// answer without WhatIf (a server that does not know -WhatIf) is worded
// from the parameters.
func whatIfLines(cmdletName, name string, params *cmdlet.Object, r wire.ResultBody) []string {
	if r.WhatIf && r.WhatIfText != "" {
		return []string{strings.TrimPrefix(r.WhatIfText, "What if: ")}
	}
	var parts []string
	if r.WhatIf && len(r.Changes) > 0 {
		for _, pc := range r.Changes {
			parts = append(parts, fmt.Sprintf("%s: %s -> %s", pc.Name, cmdlet.DisplayValue(pc.OldValue), cmdlet.DisplayValue(pc.NewValue)))
		}
	} else if params != nil {
		for _, n := range params.Names() {
			v, _ := params.Get(n)
			if _, secret := v.(*cmdlet.SecureString); secret {
				parts = append(parts, n)
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %s", n, cmdlet.DisplayValue(v)))
		}
	}
	line := fmt.Sprintf("Performing the operation %q on target %q.", cmdletName, name)
	switch {
	case r.WhatIf && len(r.Changes) == 0:
		line += " Nothing would change."
	case len(parts) > 0:
		line += " " + strings.Join(parts, "; ") + "."
	}
	if r.WhatIf && len(r.Sessions) > 0 {
		counts := map[string]int64{}
		var order []string
		for _, s := range r.Sessions {
			if counts[s.Protocol] == 0 {
				order = append(order, s.Protocol)
			}
			counts[s.Protocol]++
		}
		var ps []string
		for _, p := range order {
			ps = append(ps, fmt.Sprintf("%d %s", counts[p], p))
		}
		line += " Open sessions that would be closed: " + strings.Join(ps, ", ") + "."
	}
	return []string{line}
}

// setCmdlet builds a Set- cmdlet that changes objects by identity, in
// batches that send sends.
func setCmdlet(name string, send sender, settable []string, c *cmdlet.Cmdlet) *cmdlet.Cmdlet {
	c.Name = name
	c.Source = cmdlet.SrcGate
	c.NeedsServer = true
	c.ShouldProcess = true
	c.New = func() cmdlet.Impl {
		b := &batcher{send: send}
		return cmdlet.Impl{
			Process: func(ctx context.Context, call *cmdlet.Call) error {
				id := call.String("Identity")
				ch := changes(call, settable...)
				if len(ch.Names()) == 0 {
					return call.WriteWarning(fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", id))
				}
				if !call.WhatIf() {
					ok, err := call.ShouldProcess(id, name)
					if err != nil || !ok {
						return err
					}
				}
				return b.add(ctx, call, id, ch)
			},
			End: func(ctx context.Context, call *cmdlet.Call) error { return b.flush(ctx, call) },
		}
	}
	return c
}

// unservedProtocols are the Set-CASMailbox parameters of protocols
// Gatehouse does not serve, with the protocol's name: scripts set them
// together with -PopEnabled and -ImapEnabled, so they are accepted with a
// warning and the rest of the line applies.
var unservedProtocols = []struct{ param, protocol string }{
	{"ActiveSyncEnabled", "Exchange ActiveSync"},
	{"OWAEnabled", "Outlook on the web"},
	{"MAPIEnabled", "MAPI"},
	{"EwsEnabled", "Exchange Web Services"},
}

// warnUnserved warns, once per command, about the parameters of protocols
// Gatehouse does not serve.
func warnUnserved(c *cmdlet.Call) error {
	var params, protocols []string
	for _, u := range unservedProtocols {
		if c.Has(u.param) {
			params = append(params, "-"+u.param)
			protocols = append(protocols, u.protocol)
		}
	}
	if len(params) == 0 {
		return nil
	}
	return c.WriteWarning(fmt.Sprintf("Gatehouse serves POP3 and IMAP4 only, not %s: %s %s ignored. The other settings of the command are applied.",
		joinWords(protocols, "or"), joinWords(params, "and"), map[bool]string{true: "is", false: "are"}[len(params) == 1]))
}

// joinWords joins "a", "b", "c" as "a, b and c".
func joinWords(ws []string, conj string) string {
	if len(ws) < 2 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " " + conj + " " + ws[len(ws)-1]
}

func setCASMailbox() *cmdlet.Cmdlet {
	c := setCASMailboxCmdlet()
	inner := c.New
	c.New = func() cmdlet.Impl {
		impl := inner()
		impl.Begin = func(ctx context.Context, call *cmdlet.Call) error { return warnUnserved(call) }
		return impl
	}
	for _, u := range unservedProtocols {
		c.Params = append(c.Params, &cmdlet.Param{Name: u.param, Type: cmdlet.TBool, Help: "Accepted, with a warning, for scripts written for Exchange: Gatehouse does not serve " + u.protocol + "."})
	}
	return c
}

func setCASMailboxCmdlet() *cmdlet.Cmdlet {
	return setCmdlet("Set-CASMailbox", sendCASMailboxes, []string{"PopEnabled", "ImapEnabled", "SmtpClientAuthenticationDisabled"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Turns POP3, IMAP4 and authenticated SMTP on or off for mailboxes.",
		Description: "Sets PopEnabled, ImapEnabled and SmtpClientAuthenticationDisabled of a mailbox. The change applies at once: the next login is refused with a reason, and open sessions of a protocol turned off are closed. Piped mailboxes are changed in batches. -WhatIf shows what would change and which open sessions would be closed.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, true),
			{Name: "PopEnabled", Type: cmdlet.TBool, Help: "$true allows POP3 for the mailbox; $false refuses it."},
			{Name: "ImapEnabled", Type: cmdlet.TBool, Help: "$true allows IMAP4 for the mailbox; $false refuses it."},
			{Name: "SmtpClientAuthenticationDisabled", Type: cmdlet.TBool, Nullable: true, Help: "$true refuses authenticated SMTP (submission) for the mailbox; $false allows it; $null follows the organization (Set-TransportConfig)."},
		},
		Examples: []cmdlet.Example{
			{Code: "Set-CASMailbox -Identity \"Christa Knapp\" -POPEnabled $true", Remarks: "Allows POP3 for Christa Knapp."},
			{Code: "Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false", Remarks: "Turns POP3 and IMAP4 off for every mailbox."},
			{Code: "Set-CASMailbox christa -SmtpClientAuthenticationDisabled $true", Remarks: "Refuses authenticated SMTP for Christa Knapp: 535 5.7.139 after a correct password, and her open submission sessions are closed."},
			{Code: "Set-CASMailbox christa -SmtpClientAuthenticationDisabled $null", Remarks: "Christa Knapp follows the organization's setting again."},
			{Code: "Set-CASMailbox christa -ImapEnabled $false -WhatIf", Remarks: "Shows what would change and which IMAP4 sessions would be closed, without changing anything."},
			{Code: "Set-CASMailbox christa -PopEnabled $false -ActiveSyncEnabled $false -OWAEnabled $false", Remarks: "Turns POP3 off; warns that the other two protocols are not served by Gatehouse."},
		},
	})
}

func setMailbox() *cmdlet.Cmdlet {
	return setCmdlet("Set-Mailbox", sendMailboxes, []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "EmailAddresses", "Password",
		"IssueWarningQuota", "ProhibitSendQuota", "ProhibitSendReceiveQuota"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes the properties of mailboxes, or resets a password.",
		Description: "Changes a mailbox's Name, DisplayName, Alias, PrimarySmtpAddress, EmailAddresses or storage quotas, or sets a new password. A message that would take a mailbox beyond its ProhibitSendReceiveQuota is refused (IMAP4 NO [OVERQUOTA], LMTP/SMTP 452 4.2.2); the limits must keep IssueWarningQuota <= ProhibitSendQuota <= ProhibitSendReceiveQuota.",
		Params: []*cmdlet.Param{
			identityParam("MailboxIdParameter", mailboxIdentityHelp, true),
			{Name: "Name", Type: cmdlet.TString, Help: "The new name."},
			{Name: "DisplayName", Type: cmdlet.TString, Help: "The new display name."},
			{Name: "Alias", Type: cmdlet.TString, Help: "The new alias."},
			{Name: "PrimarySmtpAddress", Aliases: []string{"WindowsEmailAddress"}, Type: cmdlet.TString, Help: "The new primary email address."},
			{Name: "EmailAddresses", Type: cmdlet.TStrings, Help: "All the addresses of the mailbox: SMTP:primary@domain (capital SMTP marks the primary one), smtp:other@domain."},
			{Name: "Password", Type: cmdlet.TSecureString, Help: "A new password: (ConvertTo-SecureString -String '...' -AsPlainText -Force)."},
			{Name: "IssueWarningQuota", Type: cmdlet.TString, Help: "The size at which Get-MailboxStatistics reports IssueWarning: 1.8GB, 500MB, a number of bytes, or Unlimited."},
			{Name: "ProhibitSendQuota", Type: cmdlet.TString, Help: "The size at which Get-MailboxStatistics reports ProhibitSend (Gatehouse sends no mail): 1.9GB, or Unlimited."},
			{Name: "ProhibitSendReceiveQuota", Type: cmdlet.TString, Help: "The size beyond which the mailbox receives nothing more (delivery, APPEND and COPY are refused): 2GB, \"2 GB (2,147,483,648 bytes)\", or Unlimited."},
		},
		Examples: []cmdlet.Example{
			{Code: "Set-Mailbox christa -DisplayName 'Christa Knapp (Sales)'", Remarks: "Changes a display name."},
			{Code: "Set-Mailbox christa -ProhibitSendReceiveQuota 2GB -ProhibitSendQuota 1.9GB -IssueWarningQuota 1.8GB", Remarks: "Limits Christa Knapp's mailbox to 2 GB."},
			{Code: "Set-Mailbox christa -ProhibitSendReceiveQuota Unlimited -ProhibitSendQuota Unlimited -IssueWarningQuota Unlimited", Remarks: "Removes the limits."},
			{Code: "Set-Mailbox christa -Password (ConvertTo-SecureString -String 'N3w-Passw0rd' -AsPlainText -Force)", Remarks: "Resets a password."},
		},
	})
}

func newMailbox() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "New-Mailbox", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "Gatehouse.Mailbox",
		Synopsis:    "Creates a mailbox.",
		Description: "Creates a mailbox. POP3 and IMAP4 are set from the CAS mailbox plan (Get-CASMailboxPlan).",
		Params: []*cmdlet.Param{
			{Name: "Name", Type: cmdlet.TString, Position: 1, Mandatory: true, Help: "The unique name."},
			{Name: "DisplayName", Type: cmdlet.TString, Help: "The name shown in address lists; the Name by default."},
			{Name: "Alias", Type: cmdlet.TString, Help: "The alias; derived from the name by default."},
			{Name: "PrimarySmtpAddress", Type: cmdlet.TString, Help: "The primary email address."},
			{Name: "MicrosoftOnlineServicesID", Aliases: []string{"UserPrincipalName"}, Type: cmdlet.TString, Help: "The sign-in name (UserPrincipalName)."},
			{Name: "Password", Type: cmdlet.TSecureString, Mandatory: true, Help: "The password: (ConvertTo-SecureString -String '...' -AsPlainText -Force)."},
		},
		Examples: []cmdlet.Example{
			{Code: "New-Mailbox -Name \"Chris Ashton\" -Alias chris -MicrosoftOnlineServicesID chris@contoso.com -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)", Remarks: "Creates a mailbox for Chris Ashton."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				name := c.String("Name")
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(name, "New-Mailbox")
					if err != nil || !ok {
						return err
					}
				}
				body := cmdlet.NewObject("")
				for _, k := range []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "MicrosoftOnlineServicesID"} {
					if v := c.String(k); v != "" {
						body.Set(k, v)
					}
				}
				if v, ok := c.Get("Password"); ok && v != nil {
					body.Set("Password", v)
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				req, err := client.Body[wire.NewMailboxBody](body)
				if err != nil {
					return c.WriteError(err.Error())
				}
				resp, err := cl.NewMailbox(ctx, req, c.WhatIf())
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				if c.WhatIf() {
					return reportUpdate(c, name, body, resp.Result, nil)
				}
				return c.Emit(client.Object(client.TypeMailbox, resp.Mailbox))
			}}
		},
	}
}

func removeMailbox() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-Mailbox", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Removes mailboxes.",
		Description: "Removes a mailbox and its mail. In an interactive shell it asks first, unless -Confirm:$false.",
		Params:      []*cmdlet.Param{identityParam("MailboxIdParameter", mailboxIdentityHelp, true)},
		Examples:    []cmdlet.Example{{Code: "Remove-Mailbox -Identity chris -Confirm:$false", Remarks: "Removes Chris's mailbox without asking."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				cl, err := confirmedREST(c, id, "Remove-Mailbox")
				if cl == nil {
					return err
				}
				r, err := cl.RemoveMailbox(ctx, id, c.WhatIf())
				return reportUpdate(c, id, nil, r, err)
			}}
		},
	}
}

func getCASMailboxPlan() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-CASMailboxPlan", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.CASMailboxPlan",
		Synopsis:    "Gets the CAS mailbox plan: whether new mailboxes get POP3 and IMAP4.",
		Description: "Shows the PopEnabled and ImapEnabled values that new mailboxes take. Changing the plan does not change existing mailboxes.",
		Params:      []*cmdlet.Param{planIdentityParam()},
		Examples:    []cmdlet.Example{{Code: "Get-CASMailboxPlan", Remarks: "Shows the defaults for new mailboxes."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				p, err := cl.GetCASMailboxPlan(ctx)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				if id := c.String("Identity"); id != "" && !planMatches(id, p.Identity, p.Name) {
					return c.WriteError(notFound(c, id))
				}
				return c.Emit(client.Object(client.TypeCASMailboxPlan, p))
			}}
		},
	}
}

func planIdentityParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "MailboxPlanIdParameter", FromPipeline: true, FromPipelineByName: true,
		Help: "The plan: its Name or Identity (wildcards allowed); there is one, Default, so this may be left out. A plan piped from Get-CASMailboxPlan binds here."}
}

// planMatches reports whether an identity (wildcards allowed) names the
// plan (or the organization) by one of its names.
func planMatches(id string, names ...string) bool {
	for _, n := range names {
		if n != "" && cmdlet.Like(id, n, false) {
			return true
		}
	}
	return false
}

// notFound is Exchange's message for an identity that names nothing.
func notFound(c *cmdlet.Call, id string) string {
	return fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on '%s'.", id, c.Session().API().Server())
}

// singleton is the one object of a resource that Set-CASMailboxPlan or
// Set-OrganizationConfig changes: how to read its names, and how to
// change it.
type singleton struct {
	// what names the object in messages when no -Identity is given
	what  string
	names func(ctx context.Context, cl *client.Client) (identity, name string, err error)
	set   func(ctx context.Context, cl *client.Client, params *cmdlet.Object, whatIf bool) (wire.ResultBody, error)
}

var casMailboxPlan = singleton{what: "casmailboxplan",
	names: func(ctx context.Context, cl *client.Client) (string, string, error) {
		p, err := cl.GetCASMailboxPlan(ctx)
		return p.Identity, p.Name, err
	},
	set: func(ctx context.Context, cl *client.Client, params *cmdlet.Object, whatIf bool) (wire.ResultBody, error) {
		b, err := client.Body[wire.SetPlanBody](params)
		if err != nil {
			return wire.ResultBody{}, err
		}
		return cl.SetCASMailboxPlan(ctx, b, whatIf)
	}}

var organizationConfig = singleton{what: "organizationconfig",
	names: func(ctx context.Context, cl *client.Client) (string, string, error) {
		o, err := cl.GetOrganizationConfig(ctx)
		return o.Identity, o.Name, err
	},
	set: func(ctx context.Context, cl *client.Client, params *cmdlet.Object, whatIf bool) (wire.ResultBody, error) {
		b, err := client.Body[wire.SetOrgBody](params)
		if err != nil {
			return wire.ResultBody{}, err
		}
		return cl.SetOrganizationConfig(ctx, b, whatIf)
	}}

var transportConfig = singleton{what: "transportconfig",
	names: func(ctx context.Context, cl *client.Client) (string, string, error) {
		o, err := cl.GetTransportConfig(ctx)
		return o.Identity, o.Identity, err
	},
	set: func(ctx context.Context, cl *client.Client, params *cmdlet.Object, whatIf bool) (wire.ResultBody, error) {
		b, err := client.Body[wire.SetTransportConfigBody](params)
		if err != nil {
			return wire.ResultBody{}, err
		}
		return cl.SetTransportConfig(ctx, b, whatIf)
	}}

// singletonSet builds Set-CASMailboxPlan and Set-OrganizationConfig, which
// change the one object of a resource. An -Identity must name that object:
// Exchange has several plans, and a script that names one Gatehouse does
// not have must fail rather than change the one it has.
func singletonSet(name string, obj singleton, settable []string, c *cmdlet.Cmdlet) *cmdlet.Cmdlet {
	c.Name = name
	c.Source = cmdlet.SrcGate
	c.NeedsServer = true
	c.ShouldProcess = true
	c.New = func() cmdlet.Impl {
		return cmdlet.Impl{Process: func(ctx context.Context, call *cmdlet.Call) error {
			cl, err := rest(call)
			if err != nil {
				return err
			}
			ch := changes(call, settable...)
			for _, p := range c.Params {
				// A text setting given $null is sent as "": the API's
				// "none" (JSON null would mean "leave it").
				if v, ok := ch.Get(p.Name); ok && v == nil && p.Type == cmdlet.TString {
					ch.Set(p.Name, "")
				}
			}
			target := call.String("Identity")
			if target != "" {
				identity, objName, err := obj.names(ctx, cl)
				if err != nil {
					return call.WriteError(cmdlet.APIMessage(err))
				}
				if !planMatches(target, identity, objName) {
					return call.WriteError(notFound(call, target))
				}
				target = objName
			}
			if target == "" {
				target = obj.what
			}
			if len(ch.Names()) == 0 {
				return call.WriteWarning(fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", target))
			}
			if !call.WhatIf() {
				ok, err := call.ShouldProcess(target, name)
				if err != nil || !ok {
					return err
				}
			}
			r, err := obj.set(ctx, cl, ch, call.WhatIf())
			return reportUpdate(call, target, ch, r, err)
		}}
	}
	return c
}

func setCASMailboxPlan() *cmdlet.Cmdlet {
	return singletonSet("Set-CASMailboxPlan", casMailboxPlan, []string{"PopEnabled", "ImapEnabled"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes whether new mailboxes get POP3 and IMAP4.",
		Description: "Sets the PopEnabled and ImapEnabled values that mailboxes created from now on take; existing mailboxes keep theirs, as in Exchange.",
		Params: []*cmdlet.Param{
			planIdentityParam(),
			{Name: "PopEnabled", Type: cmdlet.TBool, Help: "Whether new mailboxes may use POP3."},
			{Name: "ImapEnabled", Type: cmdlet.TBool, Help: "Whether new mailboxes may use IMAP4."},
		},
		Examples: []cmdlet.Example{
			{Code: "Set-CASMailboxPlan -PopEnabled $false", Remarks: "New mailboxes start without POP3."},
			{Code: "Get-CASMailboxPlan | Set-CASMailboxPlan -ImapEnabled $false", Remarks: "The same through the pipeline, as Exchange scripts do it."},
		},
	})
}

func getOrganizationConfig() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-OrganizationConfig", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.OrganizationConfig",
		Synopsis:    "Gets the organization's settings, including security defaults.",
		Description: "Shows the organization's settings; SecurityDefaultsEnabled blocks POP3 and IMAP4 for every mailbox whatever its own settings.",
		Examples:    []cmdlet.Example{{Code: "Get-OrganizationConfig | Format-List SecurityDefaultsEnabled", Remarks: "Whether security defaults are on."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				o, err := cl.GetOrganizationConfig(ctx)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeOrganizationConfig, o))
			}}
		},
	}
}

func setOrganizationConfig() *cmdlet.Cmdlet {
	return singletonSet("Set-OrganizationConfig", organizationConfig, []string{"SecurityDefaultsEnabled", "DefaultAuthenticationPolicy"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes the organization's settings: security defaults, the default authentication policy.",
		Description: "-SecurityDefaultsEnabled $true blocks POP3 and IMAP4 for every mailbox at once and closes their open sessions; the per-mailbox settings are kept and apply again when it is turned off. -DefaultAuthenticationPolicy names the authentication policy of users without one of their own ($null: none).",
		Params: []*cmdlet.Param{
			{Name: "SecurityDefaultsEnabled", Type: cmdlet.TBool, Help: "$true blocks POP3 and IMAP4 for everyone."},
			{Name: "DefaultAuthenticationPolicy", Type: cmdlet.TString, TypeName: "AuthPolicyIdParameter", Help: "The authentication policy of users without one of their own; $null for none."},
		},
		Examples: []cmdlet.Example{{Code: "Set-OrganizationConfig -SecurityDefaultsEnabled $true -WhatIf", Remarks: "Shows how many open POP3 and IMAP4 sessions would be closed."}},
	})
}

func getTransportConfig() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-TransportConfig", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.TransportConfig",
		Synopsis:    "Gets the organization's transport settings: authenticated SMTP.",
		Description: "Shows SmtpClientAuthenticationDisabled, which turns authenticated SMTP (submission) off for every mailbox whose own value is $null.",
		Examples:    []cmdlet.Example{{Code: "Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled", Remarks: "Whether authenticated SMTP is off for the organization."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				o, err := cl.GetTransportConfig(ctx)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeTransportConfig, o))
			}}
		},
	}
}

func setTransportConfig() *cmdlet.Cmdlet {
	return singletonSet("Set-TransportConfig", transportConfig, []string{"SmtpClientAuthenticationDisabled"}, &cmdlet.Cmdlet{
		OutputType:  "None",
		Synopsis:    "Changes the organization's transport settings: authenticated SMTP.",
		Description: "-SmtpClientAuthenticationDisabled $true turns authenticated SMTP off for every mailbox whose own SmtpClientAuthenticationDisabled is $null and closes their open submission sessions; a mailbox's own $false or $true wins.",
		Params: []*cmdlet.Param{
			{Name: "SmtpClientAuthenticationDisabled", Type: cmdlet.TBool, Help: "$true turns authenticated SMTP off for the organization; $false (the default) turns it on."},
		},
		Examples: []cmdlet.Example{{Code: "Set-TransportConfig -SmtpClientAuthenticationDisabled $true", Remarks: "Turns authenticated SMTP off, except for mailboxes set to $false."}},
	})
}

func getRoleGroup() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-RoleGroup", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.RoleGroup",
		Synopsis: "Gets the role groups: who may do what.",
		Params:   []*cmdlet.Param{{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "RoleGroupIdParameter", FromPipelineByName: true, Help: "The role group, e.g. \"Organization Management\"."}},
		Examples: []cmdlet.Example{{Code: "Get-RoleGroup", Remarks: "Lists the role groups."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				return getOneOrAll(ctx, c, client.RoleGroups)
			}}
		},
	}
}

func roleGroupIdentity() *cmdlet.Param {
	return &cmdlet.Param{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "RoleGroupIdParameter", FromPipeline: true, FromPipelineByName: true, Help: "The role group, e.g. \"Recipient Management\"."}
}

func getRoleGroupMember() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-RoleGroupMember", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.RoleGroupMember",
		Synopsis: "Gets the members of a role group.",
		Params:   []*cmdlet.Param{roleGroupIdentity(), resultSizeParam()},
		Examples: []cmdlet.Example{{Code: "Get-RoleGroupMember \"Organization Management\"", Remarks: "Who may do everything."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				return listAll(ctx, c, client.RoleGroupMembers(c.String("Identity")), resultSize(c))
			}}
		},
	}
}

func memberParam() *cmdlet.Param {
	return &cmdlet.Param{Name: "Member", Type: cmdlet.TIdentity, Mandatory: true, TypeName: "SecurityPrincipalIdParameter", Help: "The administrator (a mailbox or admin user) to add or remove."}
}

func addRoleGroupMember() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Add-RoleGroupMember", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis: "Adds a member to a role group.",
		Params:   []*cmdlet.Param{roleGroupIdentity(), memberParam()},
		Examples: []cmdlet.Example{{Code: "Add-RoleGroupMember \"Help Desk\" -Member christa", Remarks: "Lets Christa view mailboxes and reset passwords."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				group, member := c.String("Identity"), c.String("Member")
				cl, err := confirmedREST(c, group, fmt.Sprintf("Add-RoleGroupMember %s", member))
				if cl == nil {
					return err
				}
				params := cmdlet.NewObject("")
				params.Set("Member", member)
				r, err := cl.AddRoleGroupMember(ctx, group, member, c.WhatIf())
				return reportUpdate(c, group, params, r, err)
			}}
		},
	}
}

func removeRoleGroupMember() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-RoleGroupMember", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis: "Removes a member from a role group.",
		Params:   []*cmdlet.Param{roleGroupIdentity(), memberParam()},
		Examples: []cmdlet.Example{{Code: "Remove-RoleGroupMember \"Help Desk\" -Member christa -Confirm:$false", Remarks: "Removes Christa from Help Desk."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				group, member := c.String("Identity"), c.String("Member")
				cl, err := confirmedREST(c, group, fmt.Sprintf("Remove-RoleGroupMember %s", member))
				if cl == nil {
					return err
				}
				r, err := cl.RemoveRoleGroupMember(ctx, group, member, c.WhatIf())
				return reportUpdate(c, group, nil, r, err)
			}}
		},
	}
}

func searchAdminAuditLog() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Search-AdminAuditLog", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.AdminAuditLogEntry",
		Synopsis:    "Searches the administrator audit log.",
		Description: "Finds the audit records of changes made through the shell, the admin center and the REST API: who ran what, on which object, what changed (OldValue → NewValue), and whether it succeeded.",
		Params: []*cmdlet.Param{
			{Name: "Cmdlets", Type: cmdlet.TStrings, Help: "Cmdlet names, e.g. Set-CASMailbox."},
			{Name: "ObjectIds", Type: cmdlet.TStrings, Help: "The objects changed."},
			{Name: "UserIds", Type: cmdlet.TStrings, Help: "The administrators who made the changes."},
			{Name: "StartDate", Type: cmdlet.TDateTime, Help: "The earliest date."},
			{Name: "EndDate", Type: cmdlet.TDateTime, Help: "The latest date."},
			{Name: "IsSuccess", Type: cmdlet.TBool, Help: "$true for successful changes only, $false for refused or failed ones."},
			{Name: "ResultSize", Type: cmdlet.TResultSize, Help: "The most records to return: a number or Unlimited; 1000 by default."},
		},
		Examples: []cmdlet.Example{
			{Code: "Search-AdminAuditLog -Cmdlets Set-CASMailbox -StartDate (Get-Date).AddDays(-7)", Remarks: "Who changed POP3/IMAP4 settings this week."},
			{Code: "Search-AdminAuditLog -IsSuccess $false", Remarks: "Denied or failed changes."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				q := url.Values{}
				for _, k := range []string{"Cmdlets", "ObjectIds", "UserIds"} {
					if vs := c.Strings(k); len(vs) > 0 {
						q.Set(lowerFirst(k), strings.Join(vs, ","))
					}
				}
				for _, k := range []string{"StartDate", "EndDate"} {
					if v, ok := c.Get(k); ok && v != nil {
						q.Set(lowerFirst(k), v.(time.Time).UTC().Format(time.RFC3339))
					}
				}
				if v, ok := c.Get("IsSuccess"); ok {
					q.Set("isSuccess", strconv.FormatBool(v.(bool)))
				}
				return listLimited(ctx, c, client.AdminAuditLog, q, objectView(client.AdminAuditLog))
			}}
		},
	}
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func getEmailAppUsageReport() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-EmailAppUsageReport", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.EmailAppUsage",
		Synopsis:    "Reports who still uses POP3 and IMAP4.",
		Description: "For each mailbox: UserPrincipalName, DisplayName, the last POP3 and IMAP4 use within the period, how many logins, and how many logins with the right password the access rule refused. -Daily writes the number of active POP3 and IMAP4 users per day instead.",
		Params: []*cmdlet.Param{
			{Name: "Period", Type: cmdlet.TEnum, Enum: []string{"7", "30", "90", "180"}, Position: 1, Help: "The number of days to look back: 7, 30, 90 or 180; 30 by default."},
			{Name: "Daily", Type: cmdlet.TSwitch, Help: "Writes the active users per day."},
		},
		Examples: []cmdlet.Example{
			{Code: "Get-EmailAppUsageReport -Period 7 | Where-Object { $_.LastPopDate } | Format-Table", Remarks: "Who used POP3 in the last week."},
			{Code: "Get-EmailAppUsageReport -Period 90 -Daily", Remarks: "Active POP3 and IMAP4 users per day over three months."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				rep, err := cl.GetEmailAppUsageReport(ctx, c.String("Period"))
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				if c.Switch("Daily") {
					for _, d := range rep.Daily {
						if err := c.Emit(client.Object(client.TypeDailyActiveUsers, d)); err != nil {
							return err
						}
					}
					return nil
				}
				for _, u := range rep.Users {
					if err := c.Emit(client.Object(client.TypeEmailAppUsage, u)); err != nil {
						return err
					}
				}
				return nil
			}}
		},
	}
}

func getMailboxStatistics() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-MailboxStatistics", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.MailboxStatistics",
		Synopsis:    "Gets the size and item count of mailboxes.",
		Description: "Shows the size (TotalItemSize) and number of messages (ItemCount) of a mailbox over all its folders, and StorageLimitStatus: BelowLimit, IssueWarning, ProhibitSend, or MailboxDisabled (at its ProhibitSendReceiveQuota: it receives nothing more). Mailboxes piped in bind to -Identity.",
		Params: []*cmdlet.Param{
			identityParam("GeneralMailboxOrMailUserIdParameter", mailboxIdentityHelp, true),
		},
		Examples: []cmdlet.Example{
			{Code: "Get-MailboxStatistics -Identity christa", Remarks: "Christa Knapp's mailbox size and limit status."},
			{Code: "Get-Mailbox -ResultSize Unlimited | Get-MailboxStatistics | Where-Object StorageLimitStatus -ne BelowLimit", Remarks: "The mailboxes that reached one of their limits."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				if id == "" {
					return c.WriteError(fmt.Sprintf("The operation couldn't be performed because object '' couldn't be found on '%s'.", c.Session().API().Server()))
				}
				cl, err := rest(c)
				if err != nil {
					return err
				}
				st, err := cl.GetMailboxStatistics(ctx, id)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return c.Emit(client.Object(client.TypeMailboxStatistics, st))
			}}
		},
	}
}
