package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// The shell's type names of the API's objects; a type name selects an
// object's default view (Format-Table columns).
const (
	TypeMailbox            = "Gatehouse.Mailbox"
	TypeCASMailbox         = "Gatehouse.CASMailbox"
	TypeCASMailboxPlan     = "Gatehouse.CASMailboxPlan"
	TypeOrganizationConfig = "Gatehouse.OrganizationConfig"
	TypeRoleGroup          = "Gatehouse.RoleGroup"
	TypeRoleGroupMember    = "Gatehouse.RoleGroupMember"
	TypeAuditRecord        = "Gatehouse.AdminAuditLogEntry"
	TypeEmailAppUsage      = "Gatehouse.EmailAppUsage"
	TypeDailyActiveUsers   = "Gatehouse.DailyActiveUsers"
	TypeMailboxStatistics  = "Gatehouse.MailboxStatistics"
)

// Collection is a collection of the API (a path under /api/v1) whose
// objects are of wire type T, and the shell's type name of its objects.
type Collection[T any] struct {
	Path     string
	TypeName string
}

// The collections of the API.
var (
	Mailboxes     = Collection[wire.Mailbox]{Path: "mailboxes", TypeName: TypeMailbox}
	CASMailboxes  = Collection[wire.CASMailbox]{Path: "casmailboxes", TypeName: TypeCASMailbox}
	RoleGroups    = Collection[wire.RoleGroup]{Path: "rolegroups", TypeName: TypeRoleGroup}
	AdminAuditLog = Collection[wire.AuditRecord]{Path: "adminauditlog", TypeName: TypeAuditRecord}
)

// RoleGroupMembers is the collection of a role group's members.
func RoleGroupMembers(group string) Collection[wire.RoleGroupMember] {
	return Collection[wire.RoleGroupMember]{Path: "rolegroups/" + url.PathEscape(group) + "/members", TypeName: TypeRoleGroupMember}
}

// Get reads one object of a collection by its identity.
func Get[T any](ctx context.Context, c *Client, coll Collection[T], identity string) (T, error) {
	var v T
	_, err := c.do(ctx, http.MethodGet, c.url(coll.Path+"/"+url.PathEscape(identity), nil), nil, &v)
	return v, err
}

// get reads the resource at path into a T.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (T, error) {
	var v T
	_, err := c.do(ctx, http.MethodGet, c.url(path, q), nil, &v)
	return v, err
}

// GetCASMailboxPlan reads the CAS mailbox plan (Get-CASMailboxPlan).
func (c *Client) GetCASMailboxPlan(ctx context.Context) (wire.CASMailboxPlan, error) {
	return get[wire.CASMailboxPlan](ctx, c, "casmailboxplan", nil)
}

// GetOrganizationConfig reads the organization's settings.
func (c *Client) GetOrganizationConfig(ctx context.Context) (wire.OrganizationConfig, error) {
	return get[wire.OrganizationConfig](ctx, c, "organizationconfig", nil)
}

// GetMailboxStatistics reads the size and limits of a mailbox.
func (c *Client) GetMailboxStatistics(ctx context.Context, identity string) (wire.MailboxStatistics, error) {
	return get[wire.MailboxStatistics](ctx, c, "mailboxes/"+url.PathEscape(identity)+"/statistics", nil)
}

// GetEmailAppUsageReport reads the email apps usage report of the last
// period days ("" for the server's default).
func (c *Client) GetEmailAppUsageReport(ctx context.Context, period string) (wire.EmailAppUsageReport, error) {
	q := url.Values{}
	if period != "" {
		q.Set("period", period)
	}
	return get[wire.EmailAppUsageReport](ctx, c, "reports/emailappusage", q)
}

// change sends a change and reads its wire.ResultBody; with whatIf the
// request carries ?whatIf=true and the server changes nothing.
func change[T any](ctx context.Context, c *Client, method, path string, body any, whatIf bool) (T, error) {
	var q url.Values
	if whatIf {
		q = url.Values{"whatIf": {"true"}}
	}
	var v T
	_, err := c.do(ctx, method, c.url(path, q), body, &v)
	return v, err
}

// NewMailbox creates a mailbox (New-Mailbox).
func (c *Client) NewMailbox(ctx context.Context, b wire.NewMailboxBody, whatIf bool) (wire.NewMailboxResponse, error) {
	return change[wire.NewMailboxResponse](ctx, c, http.MethodPost, "mailboxes", b, whatIf)
}

// SetMailbox changes a mailbox (Set-Mailbox).
func (c *Client) SetMailbox(ctx context.Context, identity string, b wire.SetMailboxBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "mailboxes/"+url.PathEscape(identity), b, whatIf)
}

// RemoveMailbox removes a mailbox (Remove-Mailbox).
func (c *Client) RemoveMailbox(ctx context.Context, identity string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodDelete, "mailboxes/"+url.PathEscape(identity), nil, whatIf)
}

// SetCASMailbox changes the POP3, IMAP4 and authenticated SMTP settings
// of a mailbox.
func (c *Client) SetCASMailbox(ctx context.Context, identity string, b wire.SetCASMailboxBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "casmailboxes/"+url.PathEscape(identity), b, whatIf)
}

// SetCASMailboxPlan changes the CAS mailbox plan.
func (c *Client) SetCASMailboxPlan(ctx context.Context, b wire.SetPlanBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "casmailboxplan", b, whatIf)
}

// SetOrganizationConfig changes the organization's settings.
func (c *Client) SetOrganizationConfig(ctx context.Context, b wire.SetOrgBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "organizationconfig", b, whatIf)
}

// AddRoleGroupMember adds a member to a role group.
func (c *Client) AddRoleGroupMember(ctx context.Context, group, member string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPost, "rolegroups/"+url.PathEscape(group)+"/members", wire.AddMemberBody{Member: member}, whatIf)
}

// RemoveRoleGroupMember removes a member from a role group.
func (c *Client) RemoveRoleGroupMember(ctx context.Context, group, member string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodDelete, "rolegroups/"+url.PathEscape(group)+"/members/"+url.PathEscape(member), nil, whatIf)
}

// BulkResult is the outcome of one change of many.
type BulkResult struct {
	Result wire.ResultBody
	Err    error
}

// SetMailboxes changes many mailboxes, bulkConcurrency requests at a time
// over kept-alive connections; results come back in the order of items.
func (c *Client) SetMailboxes(ctx context.Context, identities []string, bodies []wire.SetMailboxBody, whatIf bool) []BulkResult {
	return parallel(len(identities), func(i int) (wire.ResultBody, error) {
		return c.SetMailbox(ctx, identities[i], bodies[i], whatIf)
	})
}

// SetCASMailboxes changes many mailboxes in one PATCH of the collection
// (wire.BulkCASBody answered by wire.BulkCASResponse) when the server
// offers it; otherwise (404, 405: an older server) it sends single PATCH
// requests, bulkConcurrency at a time, and remembers not to try again.
// Results come back in the order of items.
func (c *Client) SetCASMailboxes(ctx context.Context, items []wire.BulkCASItem, whatIf bool) []BulkResult {
	if len(items) == 0 {
		return nil
	}
	c.mu.Lock()
	noBulk := c.noBulk
	c.mu.Unlock()
	if !noBulk && len(items) > 1 {
		res, ok := c.setCASBulk(ctx, items, whatIf)
		if ok {
			return res
		}
		c.mu.Lock()
		c.noBulk = true
		c.mu.Unlock()
	}
	return parallel(len(items), func(i int) (wire.ResultBody, error) {
		return c.SetCASMailbox(ctx, items[i].Identity, wire.SetCASMailboxBody{PopEnabled: items[i].PopEnabled, ImapEnabled: items[i].ImapEnabled,
			SmtpClientAuthenticationDisabled: items[i].SmtpClientAuthenticationDisabled}, whatIf)
	})
}

// setCASBulk tries the bulk form; ok is false when the server does not
// offer it (404, 405).
func (c *Client) setCASBulk(ctx context.Context, items []wire.BulkCASItem, whatIf bool) ([]BulkResult, bool) {
	var resp wire.BulkCASResponse
	_, err := c.do(ctx, http.MethodPatch, c.url(CASMailboxes.Path, nil), wire.BulkCASBody{Items: items, WhatIf: whatIf}, &resp)
	var ae *cmdlet.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
		return nil, false
	}
	out := make([]BulkResult, len(items))
	if err == nil && len(resp.Results) != len(items) {
		err = fmt.Errorf("the server answered %d results for %d changes", len(resp.Results), len(items))
	}
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out, true
	}
	for i, r := range resp.Results {
		if r.Error != nil {
			out[i].Err = &cmdlet.APIError{Status: http.StatusBadRequest, Code: r.Error.Code, Message: r.Error.Message}
			continue
		}
		out[i].Result = r.Result
	}
	return out, true
}

// parallel runs n changes, bulkConcurrency at a time.
func parallel(n int, one func(i int) (wire.ResultBody, error)) []BulkResult {
	out := make([]BulkResult, n)
	sem := make(chan struct{}, bulkConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].Result, out[i].Err = one(i)
		}()
	}
	wg.Wait()
	return out
}

// Body turns the bound parameters of a cmdlet (property name → shell
// value: bool, string, string array, SecureString) into the request body
// T of package wire. A parameter T has no property for is an error, so
// that a cmdlet and the contract cannot disagree in silence.
func Body[T any](params *cmdlet.Object) (T, error) {
	var b T
	if params == nil {
		return b, nil
	}
	data, err := cmdlet.EncodeJSON(params)
	if err != nil {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("the parameters do not fit the request %T: %v", b, err)
	}
	return b, nil
}
