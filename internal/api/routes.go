package api

import (
	"context"
	"fmt"
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

var listParams = []param{
	{"filter", "string", "OPATH filter, e.g. PopEnabled -eq $false -and Name -like 'Chr*'"},
	{"identity", "string", "an identity (Name, DisplayName, Alias, address, UPN or GUID; wildcards allowed)"},
	{"search", "string", "prefix of a name, alias or address"},
	{"sort", "string", "property to sort by (Name, DisplayName, PrimarySmtpAddress, PopEnabled, ...)"},
	{"desc", "boolean", "sort descending"},
	{"offset", "integer", "how many to skip"},
	{"cursor", "string", "continuation token: NextCursor of the page before"},
	{"resultSize", "string", "page size: a number (default 1000) or Unlimited"},
}

var whatIfParam = param{"whatIf", "boolean", "say what would change, and which open sessions would close, without changing anything"}

func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", param: name,
			msg: fmt.Sprintf("Cannot convert '%s' to a Boolean for %s; use true or false.", v, name)}
	}
	return b, nil
}

func intQuery(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", param: name,
			msg: fmt.Sprintf("Cannot convert '%s' to a non-negative whole number for %s.", v, name)}
	}
	return n, nil
}

func resultSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("resultSize")
	if strings.EqualFold(v, "unlimited") {
		return service.Unlimited, nil
	}
	n, err := intQuery(r, "resultSize", 0)
	if err == nil && n == 0 && v != "" {
		return 0, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", param: "resultSize",
			msg: "resultSize must be at least 1, or Unlimited."}
	}
	return n, err
}

func listOptions(r *http.Request) (service.ListOptions, error) {
	q := r.URL.Query()
	o := service.ListOptions{Filter: q.Get("filter"), Identity: q.Get("identity"), Search: q.Get("search"), SortBy: q.Get("sort"),
		Cursor: q.Get("cursor")}
	var err error
	if o.Descending, err = boolQuery(r, "desc"); err != nil {
		return o, err
	}
	if o.Offset, err = intQuery(r, "offset", 0); err != nil {
		return o, err
	}
	o.ResultSize, err = resultSize(r)
	return o, err
}

func listBody[T, W any](ctx context.Context, r *http.Request, p service.Page[T], o service.ListOptions, conv func(T) W) wire.ListBody[W] {
	b := wire.ListBody[W]{Items: wireSlice(p.Items, conv), Total: p.Total, Offset: o.Offset, More: p.More, NextCursor: p.Next}
	linkNext(ctx, r, p.Next)
	if b.Items == nil {
		b.Items = []W{}
	}
	if p.More {
		size := o.ResultSize
		if size == 0 {
			size = service.DefaultResultSize
		}
		b.Warning = service.MoreWarning(size)
	}
	return b
}

func (a *API) table() []route {
	return append([]route{
		{method: "POST", path: "/api/v1/session", public: true, summary: "Sign in; returns a bearer token and sets the admin center's session cookie",
			body: wire.SignInRequest{}, response: wire.SignInResponse{}, h: a.signIn},
		{method: "DELETE", path: "/api/v1/session", summary: "Sign out", h: a.signOut},
		{method: "GET", path: "/api/v1/me", summary: "The signed-in administrator and their role groups", response: wire.Me{},
			h: func(_ context.Context, c service.Caller, _ *http.Request) (int, any, error) {
				return http.StatusOK, me(c), nil
			}},

		{method: "GET", path: "/api/v1/mailboxes", summary: "Get-Mailbox", query: listParams, response: wire.ListBody[wire.Mailbox]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				o, err := listOptions(r)
				if err != nil {
					return 0, nil, err
				}
				p, err := a.svc.GetMailboxes(ctx, c, o)
				return http.StatusOK, listBody(ctx, r, p, o, mailboxWire), err
			}},
		{method: "POST", path: "/api/v1/mailboxes", summary: "New-Mailbox", query: []param{whatIfParam}, body: wire.NewMailboxBody{},
			response: wire.NewMailboxResponse{}, h: a.newMailbox},
		{method: "GET", path: "/api/v1/mailboxes/{identity}", summary: "Get-Mailbox -Identity", response: wire.Mailbox{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				m, err := a.svc.GetMailbox(ctx, c, r.PathValue("identity"))
				return http.StatusOK, mailboxWire(m), err
			}},
		{method: "PATCH", path: "/api/v1/mailboxes/{identity}", summary: "Set-Mailbox (Password alone needs only the Reset Password role)",
			query: []param{whatIfParam}, body: wire.SetMailboxBody{}, response: wire.ResultBody{}, h: a.setMailbox},
		{method: "GET", path: "/api/v1/mailboxes/{identity}/statistics", summary: "Get-MailboxStatistics", response: wire.MailboxStatistics{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				s, err := a.svc.GetMailboxStatistics(ctx, c, r.PathValue("identity"))
				return http.StatusOK, statisticsWire(s), err
			}},
		{method: "DELETE", path: "/api/v1/mailboxes/{identity}", summary: "Remove-Mailbox", query: []param{whatIfParam}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RemoveMailbox(ctx, c, r.PathValue("identity"), whatIf)
				return http.StatusOK, resultBody(res), err
			}},

		{method: "GET", path: "/api/v1/casmailboxes", summary: "Get-CASMailbox", query: listParams, response: wire.ListBody[wire.CASMailbox]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				o, err := listOptions(r)
				if err != nil {
					return 0, nil, err
				}
				p, err := a.svc.GetCASMailboxes(ctx, c, o)
				return http.StatusOK, listBody(ctx, r, p, o, casMailboxWire), err
			}},
		{method: "PATCH", path: "/api/v1/casmailboxes", summary: "Set-CASMailbox over many mailboxes in one request", body: wire.BulkCASBody{},
			response: wire.BulkCASResponse{}, h: a.bulkCAS},
		{method: "GET", path: "/api/v1/casmailboxes/{identity}", summary: "Get-CASMailbox -Identity", response: wire.CASMailbox{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				m, err := a.svc.GetCASMailbox(ctx, c, r.PathValue("identity"))
				return http.StatusOK, casMailboxWire(m), err
			}},
		{method: "PATCH", path: "/api/v1/casmailboxes/{identity}", summary: "Set-CASMailbox -PopEnabled -ImapEnabled", query: []param{whatIfParam},
			body: wire.SetCASMailboxBody{}, response: wire.ResultBody{}, h: a.setCAS},

		{method: "GET", path: "/api/v1/casmailboxplan", summary: "Get-CASMailboxPlan", response: wire.CASMailboxPlan{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				p, err := a.svc.GetCASMailboxPlan(ctx, c)
				return http.StatusOK, planWire(p), err
			}},
		{method: "PATCH", path: "/api/v1/casmailboxplan", summary: "Set-CASMailboxPlan (applies to mailboxes created afterwards)",
			query: []param{whatIfParam}, body: wire.SetPlanBody{}, response: wire.ResultBody{}, h: a.setPlan},
		{method: "GET", path: "/api/v1/organizationconfig", summary: "Get-OrganizationConfig", response: wire.OrganizationConfig{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				o, err := a.svc.GetOrganizationConfig(ctx, c)
				return http.StatusOK, orgWire(o), err
			}},
		{method: "PATCH", path: "/api/v1/organizationconfig", summary: "Set-OrganizationConfig -SecurityDefaultsEnabled -DefaultAuthenticationPolicy",
			query: []param{whatIfParam}, body: wire.SetOrgBody{}, response: wire.ResultBody{}, h: a.setOrg},
		{method: "GET", path: "/api/v1/transportconfig", summary: "Get-TransportConfig", response: wire.TransportConfig{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				o, err := a.svc.GetTransportConfig(ctx, c)
				return http.StatusOK, transportConfigWire(o), err
			}},
		{method: "PATCH", path: "/api/v1/transportconfig", summary: "Set-TransportConfig -SmtpClientAuthenticationDisabled",
			query: []param{whatIfParam}, body: wire.SetTransportConfigBody{}, response: wire.ResultBody{}, h: a.setTransport},

		{method: "GET", path: "/api/v1/rolegroups", summary: "Get-RoleGroup", response: []wire.RoleGroup{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				g, err := a.svc.GetRoleGroups(ctx, c, "")
				return http.StatusOK, wireSlice(g, roleGroupWire), err
			}},
		{method: "GET", path: "/api/v1/rolegroups/{name}", summary: "Get-RoleGroup -Identity", response: wire.RoleGroup{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				g, err := a.svc.GetRoleGroups(ctx, c, r.PathValue("name"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, roleGroupWire(g[0]), nil
			}},
		{method: "GET", path: "/api/v1/rolegroups/{name}/members", summary: "Get-RoleGroupMember", response: []wire.RoleGroupMember{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				m, err := a.svc.GetRoleGroupMembers(ctx, c, r.PathValue("name"))
				if m == nil {
					m = []service.RoleGroupMember{}
				}
				return http.StatusOK, wireSlice(m, roleGroupMemberWire), err
			}},
		{method: "POST", path: "/api/v1/rolegroups/{name}/members", summary: "Add-RoleGroupMember", query: []param{whatIfParam},
			body: wire.AddMemberBody{}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.AddMemberBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.AddRoleGroupMember(ctx, c, r.PathValue("name"), b.Member, whatIf)
				return http.StatusOK, resultBody(res), err
			}},
		{method: "DELETE", path: "/api/v1/rolegroups/{name}/members/{member}", summary: "Remove-RoleGroupMember", query: []param{whatIfParam},
			response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RemoveRoleGroupMember(ctx, c, r.PathValue("name"), r.PathValue("member"), whatIf)
				return http.StatusOK, resultBody(res), err
			}},

		{method: "GET", path: "/api/v1/queues", summary: "Get-Queue: the outbound queue to the smarthost", response: []wire.Queue{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				q, err := a.svc.GetQueues(ctx, c)
				return http.StatusOK, wireSlice(q, queueWire), err
			}},
		{method: "POST", path: "/api/v1/queues/{identity}/retry", summary: "Retry-Queue: every waiting message is tried now",
			query: []param{whatIfParam}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RetryQueue(ctx, c, service.RetryQueueRequest{Identity: r.PathValue("identity"), WhatIf: whatIf})
				return http.StatusOK, resultBody(res), err
			}},
		{method: "GET", path: "/api/v1/queuemessages", summary: "Get-Message: the messages of the outbound queue, oldest first",
			query:    []param{{"queue", "string", "the queue (Smarthost)"}, {"resultSize", "string", "page size: a number (default 1000) or Unlimited"}, {"cursor", "string", "continuation token: NextCursor of the page before"}},
			response: wire.ListBody[wire.QueueMessage]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				size, err := resultSize(r)
				if err != nil {
					return 0, nil, err
				}
				req := service.GetMessagesRequest{Queue: r.URL.Query().Get("queue"), ResultSize: size, Cursor: r.URL.Query().Get("cursor")}
				p, err := a.svc.GetMessages(ctx, c, req)
				return http.StatusOK, listBody(ctx, r, p, service.ListOptions{ResultSize: size}, queueMessageWire), err
			}},
		{method: "GET", path: "/api/v1/queuemessages/{identity}", summary: "Get-Message -Identity", response: wire.QueueMessage{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				p, err := a.svc.GetMessages(ctx, c, service.GetMessagesRequest{Identity: r.PathValue("identity")})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, queueMessageWire(p.Items[0]), nil
			}},
		{method: "DELETE", path: "/api/v1/queuemessages/{identity}", summary: "Remove-Message (no notice to the sender)",
			query: []param{whatIfParam}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RemoveMessage(ctx, c, service.RemoveMessageRequest{Identity: r.PathValue("identity"), WhatIf: whatIf})
				return http.StatusOK, resultBody(res), err
			}},

		{method: "GET", path: "/api/v1/adminauditlog", summary: "Search-AdminAuditLog (newest first); a page of resultSize records, the next page in the Link header (rel=\"next\")", response: []wire.AuditRecord{},
			query: []param{
				{"cmdlets", "string", "comma-separated cmdlet names"}, {"objectIds", "string", "comma-separated objects"},
				{"userIds", "string", "comma-separated callers"}, {"startDate", "string", "from this date/time"},
				{"endDate", "string", "until this date/time"}, {"isSuccess", "boolean", "only successes or only failures"},
				{"resultSize", "string", "a number (default 1000) or Unlimited"},
				{"cursor", "string", "continuation token of the page before, from its Link header"},
			}, h: a.auditLog},
		{method: "GET", path: "/api/v1/reports/emailappusage", summary: "Email apps usage: who used POP3 and IMAP4, per mailbox and per day",
			query:    []param{{"period", "integer", "7, 30, 90 or 180 days (default 30)"}},
			response: wire.EmailAppUsageReport{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				period, err := intQuery(r, "period", 30)
				if err != nil {
					return 0, nil, err
				}
				rep, err := a.svc.EmailAppUsage(ctx, c, period)
				return http.StatusOK, emailAppUsageWire(rep), err
			}},
	}, append(append(a.authPolicyRoutes(), a.migrationRoutes()...), a.appPasswordRoutes()...)...)
}

func me(c service.Caller) wire.Me {
	m := wire.Me{UserPrincipalName: c.Name, DisplayName: c.DisplayName, RoleGroups: c.Groups, Roles: []string{}}
	for _, p := range c.Permissions.List() {
		m.Roles = append(m.Roles, string(p))
	}
	return m
}

func (a *API) signIn(ctx context.Context, _ service.Caller, r *http.Request) (int, any, error) {
	var b wire.SignInRequest
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	if b.UserName == "" || b.Password == "" {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", param: "UserName",
			msg: "Give UserName and Password."}
	}
	tok, c, err := a.svc.SignIn(ctx, b.UserName, b.Password, surface(r), clientIP(r))
	if err != nil {
		return 0, nil, err
	}
	exp := time.Now().Add(12 * time.Hour).UTC()
	if w, ok := r.Context().Value(responseWriterKey{}).(http.ResponseWriter); ok {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
			SameSite: http.SameSiteStrictMode, Expires: exp})
	}
	m := me(c)
	return http.StatusOK, wire.SignInResponse{Token: tok, ExpiresAt: exp, UserPrincipalName: m.UserPrincipalName,
		DisplayName: m.DisplayName, RoleGroups: m.RoleGroups, Roles: m.Roles}, nil
}

// responseWriterKey lets the sign-in handler set its cookie.
type responseWriterKey struct{}

func (a *API) signOut(ctx context.Context, _ service.Caller, r *http.Request) (int, any, error) {
	if err := a.svc.SignOut(ctx, token(r)); err != nil {
		return 0, nil, err
	}
	if w, ok := r.Context().Value(responseWriterKey{}).(http.ResponseWriter); ok {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	return http.StatusNoContent, nil, nil
}

func (a *API) newMailbox(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.NewMailboxBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	m, res, err := a.svc.NewMailbox(ctx, c, service.NewMailboxRequest{Name: b.Name, DisplayName: b.DisplayName, Alias: b.Alias,
		PrimarySmtpAddress: b.PrimarySmtpAddress, UserPrincipalName: b.MicrosoftOnlineServicesID, Password: b.Password, WhatIf: whatIf})
	status := http.StatusCreated
	if whatIf {
		status = http.StatusOK
	}
	return status, wire.NewMailboxResponse{Mailbox: mailboxWire(m), Result: resultBody(res)}, err
}

func (a *API) setMailbox(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.SetMailboxBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.svc.SetMailbox(ctx, c, r.PathValue("identity"), service.SetMailboxRequest{Name: b.Name, DisplayName: b.DisplayName,
		Alias: b.Alias, PrimarySmtpAddress: b.PrimarySmtpAddress, EmailAddresses: b.EmailAddresses, Password: b.Password, WhatIf: whatIf,
		IssueWarningQuota: b.IssueWarningQuota, ProhibitSendQuota: b.ProhibitSendQuota, ProhibitSendReceiveQuota: b.ProhibitSendReceiveQuota})
	return http.StatusOK, resultBody(res), err
}

func (a *API) setCAS(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.SetCASMailboxBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.svc.SetCASMailbox(ctx, c, service.SetCASMailboxRequest{Identity: r.PathValue("identity"),
		PopEnabled: b.PopEnabled, ImapEnabled: b.ImapEnabled, SmtpClientAuthenticationDisabled: nullableBoolService(b.SmtpClientAuthenticationDisabled), WhatIf: whatIf})
	return http.StatusOK, resultBody(res), err
}

func (a *API) bulkCAS(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.BulkCASBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	reqs := make([]service.SetCASMailboxRequest, len(b.Items))
	for i, it := range b.Items {
		reqs[i] = service.SetCASMailboxRequest{Identity: it.Identity, Guid: it.Guid, PopEnabled: it.PopEnabled, ImapEnabled: it.ImapEnabled,
			SmtpClientAuthenticationDisabled: nullableBoolService(it.SmtpClientAuthenticationDisabled), WhatIf: b.WhatIf}
	}
	results, err := a.svc.SetCASMailboxes(ctx, c, reqs)
	if err != nil {
		return 0, nil, err
	}
	out := wire.BulkCASResponse{Results: make([]wire.BulkItemResult, len(results))}
	for i, res := range results {
		if res.Err != nil {
			e := httpError(res.Err)
			out.Results[i] = wire.BulkItemResult{Result: wire.ResultBody{Identity: b.Items[i].Identity, Cmdlet: "Set-CASMailbox",
				Changes: []wire.Change{}, Sessions: []wire.OpenSession{}},
				Error: &wire.ErrorDetail{Code: e.code, Message: e.msg, Parameter: e.param}}
			out.Failed++
			continue
		}
		out.Results[i] = wire.BulkItemResult{Result: resultBody(res.Result)}
		if res.NoChange {
			out.Unchanged++
		} else {
			out.Changed++
		}
	}
	return http.StatusOK, out, nil
}

func (a *API) setPlan(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.SetPlanBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.svc.SetCASMailboxPlan(ctx, c, service.SetCASMailboxPlanRequest{PopEnabled: b.PopEnabled, ImapEnabled: b.ImapEnabled, WhatIf: whatIf})
	return http.StatusOK, resultBody(res), err
}

func (a *API) setOrg(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.SetOrgBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.svc.SetOrganizationConfig(ctx, c, service.SetOrganizationConfigRequest{SecurityDefaultsEnabled: b.SecurityDefaultsEnabled,
		DefaultAuthenticationPolicy: b.DefaultAuthenticationPolicy, WhatIf: whatIf})
	return http.StatusOK, resultBody(res), err
}

func (a *API) setTransport(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	var b wire.SetTransportConfigBody
	if err := decode(r, &b); err != nil {
		return 0, nil, err
	}
	whatIf, err := boolQuery(r, "whatIf")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.svc.SetTransportConfig(ctx, c, service.SetTransportConfigRequest{SmtpClientAuthenticationDisabled: b.SmtpClientAuthenticationDisabled, WhatIf: whatIf})
	return http.StatusOK, resultBody(res), err
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (a *API) auditLog(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	s := service.AuditSearch{Cmdlets: splitList(q.Get("cmdlets")), ObjectIDs: splitList(q.Get("objectIds")), UserIDs: splitList(q.Get("userIds"))}
	var err error
	if s.StartDate, err = timeParam(r, "startDate"); err != nil {
		return 0, nil, err
	}
	if s.EndDate, err = timeParam(r, "endDate"); err != nil {
		return 0, nil, err
	}
	if q.Get("isSuccess") != "" {
		b, err := boolQuery(r, "isSuccess")
		if err != nil {
			return 0, nil, err
		}
		s.IsSuccess = &b
	}
	if s.ResultSize, err = resultSize(r); err != nil {
		return 0, nil, err
	}
	s.Cursor = q.Get("cursor")
	p, err := a.svc.SearchAdminAuditLogPage(ctx, c, s)
	if err != nil {
		return 0, nil, err
	}
	linkNext(ctx, r, p.Next)
	if p.Items == nil {
		p.Items = []service.AuditRecord{}
	}
	return http.StatusOK, wireSlice(p.Items, auditRecordWire), nil
}

// linkNext sets the Link header (RFC 8288) of a page that has a next one:
// the same request with ?cursor=next.
func linkNext(ctx context.Context, r *http.Request, next string) {
	if next == "" {
		return
	}
	w, ok := ctx.Value(responseWriterKey{}).(http.ResponseWriter)
	if !ok {
		return
	}
	q := r.URL.Query()
	q.Set("cursor", next)
	q.Del("offset")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+u.String()+">; rel=\"next\"")
}
