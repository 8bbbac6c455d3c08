package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

var migrationUserParams = []param{
	{"batchId", "string", "the users of this batch only"},
	{"resultSize", "string", "a number (default 1000) or Unlimited"},
	{"cursor", "string", "continuation token of the page before, from its Link header"},
}

func (a *API) migrationRoutes() []route {
	ok := func(err error) (int, any, error) { return http.StatusNoContent, nil, err }
	return []route{
		{method: "GET", path: "/api/v1/migrationendpoints", summary: "Get-MigrationEndpoint", response: []wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				e, err := a.svc.GetMigrationEndpoints(ctx, c, "")
				if err != nil {
					return 0, nil, err
				}
				out := wireSlice(e, migrationEndpointWire)
				if out == nil {
					out = []wire.MigrationEndpoint{}
				}
				return http.StatusOK, out, nil
			}},
		{method: "GET", path: "/api/v1/migrationendpoints/{identity}", summary: "Get-MigrationEndpoint -Identity", response: wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				e, err := a.svc.GetMigrationEndpoints(ctx, c, r.PathValue("identity"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationEndpointWire(e[0]), nil
			}},
		{method: "POST", path: "/api/v1/migrationendpoints", summary: "New-MigrationEndpoint -IMAP (tests the connection first unless SkipVerification)",
			body: wire.NewMigrationEndpointBody{}, response: wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.NewMigrationEndpointBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				e, err := a.svc.NewMigrationEndpoint(ctx, c, service.NewMigrationEndpointRequest{Name: b.Name, RemoteServer: b.RemoteServer, Port: b.Port,
					Security: b.Security, Authentication: b.Authentication, MaxConcurrentMigrations: b.MaxConcurrentMigrations, SkipVerification: b.SkipVerification})
				return http.StatusCreated, migrationEndpointWire(e), err
			}},
		{method: "DELETE", path: "/api/v1/migrationendpoints/{identity}", summary: "Remove-MigrationEndpoint",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.RemoveMigrationEndpoint(ctx, c, r.PathValue("identity")))
			}},
		{method: "POST", path: "/api/v1/migrationserveravailability", summary: "Test-MigrationServerAvailability -IMAP",
			body: wire.TestMigrationServerBody{}, response: wire.ServerAvailability{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.TestMigrationServerBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				res, err := a.svc.TestMigrationServerAvailability(ctx, c, b.RemoteServer, b.Port, b.Security, b.UserName, b.Password)
				return http.StatusOK, serverAvailabilityWire(res), err
			}},
		{method: "GET", path: "/api/v1/migrationbatches", summary: "Get-MigrationBatch", response: []wire.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				b, err := a.svc.GetMigrationBatches(ctx, c, "")
				if err != nil {
					return 0, nil, err
				}
				out := wireSlice(b, migrationBatchWire)
				if out == nil {
					out = []wire.MigrationBatch{}
				}
				return http.StatusOK, out, nil
			}},
		{method: "GET", path: "/api/v1/migrationbatches/{identity}", summary: "Get-MigrationBatch -Identity", response: wire.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				b, err := a.svc.GetMigrationBatches(ctx, c, r.PathValue("identity"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationBatchWire(b[0]), nil
			}},
		{method: "POST", path: "/api/v1/migrationbatches", summary: "New-MigrationBatch (IMAP; the CSV file is checked whole, every bad row named, before anything is created)",
			body: wire.NewMigrationBatchBody{}, response: wire.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.NewMigrationBatchBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				v, err := a.svc.NewMigrationBatch(ctx, c, service.NewMigrationBatchRequest{Name: b.Name, SourceEndpoint: b.SourceEndpoint,
					CSVData: b.CSVData, ExcludeFolders: b.ExcludeFolders, AutoStart: b.AutoStart})
				return http.StatusCreated, migrationBatchWire(v), err
			}},
		{method: "POST", path: "/api/v1/migrationbatches/{identity}/start", summary: "Start-MigrationBatch",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.StartMigrationBatch(ctx, c, r.PathValue("identity")))
			}},
		{method: "POST", path: "/api/v1/migrationbatches/{identity}/stop", summary: "Stop-MigrationBatch",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.StopMigrationBatch(ctx, c, r.PathValue("identity")))
			}},
		{method: "POST", path: "/api/v1/migrationbatches/{identity}/complete", summary: "Complete-MigrationBatch",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.CompleteMigrationBatch(ctx, c, r.PathValue("identity")))
			}},
		{method: "DELETE", path: "/api/v1/migrationbatches/{identity}", summary: "Remove-MigrationBatch",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.RemoveMigrationBatch(ctx, c, r.PathValue("identity")))
			}},
		{method: "GET", path: "/api/v1/migrationusers", summary: "Get-MigrationUser: a page of users, the next in the Link header (rel=\"next\")",
			query: migrationUserParams, response: wire.ListBody[wire.MigrationUser]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return a.migrationUsers(ctx, c, r, false)
			}},
		{method: "GET", path: "/api/v1/migrationusers/{identity}", summary: "Get-MigrationUser -Identity", response: wire.MigrationUser{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				u, err := a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{Identity: r.PathValue("identity")})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationUserWire(u[0]), nil
			}},
		{method: "GET", path: "/api/v1/migrationuserstatistics", summary: "Get-MigrationUserStatistics: a page of users with skipped items and folders",
			query: migrationUserParams, response: wire.ListBody[wire.MigrationUser]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return a.migrationUsers(ctx, c, r, true)
			}},
		{method: "GET", path: "/api/v1/migrationuserstatistics/{identity}", summary: "Get-MigrationUserStatistics -Identity", response: wire.MigrationUser{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				u, err := a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{Identity: r.PathValue("identity"), Statistics: true})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationUserWire(u[0]), nil
			}},
	}
}

func (a *API) migrationUsers(ctx context.Context, c service.Caller, r *http.Request, stats bool) (int, any, error) {
	size, err := resultSize(r)
	if err != nil {
		return 0, nil, err
	}
	if size == 0 {
		size = service.DefaultResultSize
	}
	q := r.URL.Query()
	limit := max(size, 0) // Unlimited: no limit
	if limit > 0 {
		limit++ // one more, to know whether there is a next page
	}
	us, err := a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{BatchId: q.Get("batchId"), After: q.Get("cursor"), Limit: limit, Statistics: stats})
	if err != nil {
		return 0, nil, err
	}
	b := wire.ListBody[wire.MigrationUser]{Total: len(us)}
	if size > 0 && len(us) > size {
		us, b.More = us[:size], true
		b.NextCursor = us[size-1].Identity
		b.Warning = service.MoreWarning(size)
		linkNext(ctx, r, b.NextCursor)
	}
	b.Items = wireSlice(us, migrationUserWire)
	if b.Items == nil {
		b.Items = []wire.MigrationUser{}
	}
	return http.StatusOK, b, nil
}
