package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

var migrationPageParams = []param{
	{"resultSize", "string", "a number (default 1000) or Unlimited"},
	{"cursor", "string", "continuation token: NextCursor of the page before, or from its Link header"},
}

var migrationUserParams = append([]param{{"batchId", "string", "the users of this batch only"}}, migrationPageParams...)

// migrationPage reads a migration listing's page: resultSize and cursor.
func migrationPage(r *http.Request) (service.MigrationPage, error) {
	size, err := resultSize(r)
	return service.MigrationPage{Cursor: r.URL.Query().Get("cursor"), ResultSize: size}, err
}

// migrationList answers a page of a migration listing as the other REST
// lists do: a wire.ListBody, the next page in NextCursor and the Link header.
func migrationList[T, W any](ctx context.Context, r *http.Request, get func(service.MigrationPage) (service.Page[T], error), conv func(T) W) (int, any, error) {
	p, err := migrationPage(r)
	if err != nil {
		return 0, nil, err
	}
	page, err := get(p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listBody(ctx, r, page, service.ListOptions{ResultSize: p.ResultSize}, conv), nil
}

func (a *API) migrationRoutes() []route {
	ok := func(err error) (int, any, error) { return http.StatusNoContent, nil, err }
	return []route{
		{method: "GET", path: "/api/v1/migrationendpoints", summary: "Get-MigrationEndpoint: a page of endpoints by name, the next in NextCursor and the Link header",
			query: migrationPageParams, response: wire.ListBody[wire.MigrationEndpoint]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return migrationList(ctx, r, func(p service.MigrationPage) (service.Page[service.MigrationEndpoint], error) {
					return a.svc.GetMigrationEndpoints(ctx, c, "", p)
				}, migrationEndpointWire)
			}},
		{method: "GET", path: "/api/v1/migrationendpoints/{identity}", summary: "Get-MigrationEndpoint -Identity", response: wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				e, err := a.svc.GetMigrationEndpoints(ctx, c, r.PathValue("identity"), service.MigrationPage{})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationEndpointWire(e.Items[0]), nil
			}},
		{method: "POST", path: "/api/v1/migrationendpoints", summary: "New-MigrationEndpoint -IMAP (tests the connection first unless SkipVerification)",
			body: wire.NewMigrationEndpointBody{}, response: wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.NewMigrationEndpointBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				e, err := a.svc.NewMigrationEndpoint(ctx, c, service.NewMigrationEndpointRequest{Name: b.Name, RemoteServer: b.RemoteServer, Port: b.Port,
					Security: b.Security, Authentication: b.Authentication, MaxConcurrentMigrations: b.MaxConcurrentMigrations,
					TrustedCertificate: b.TrustedCertificate, SkipVerification: b.SkipVerification})
				return http.StatusCreated, migrationEndpointWire(e), err
			}},
		{method: "PATCH", path: "/api/v1/migrationendpoints/{identity}", summary: "Set-MigrationEndpoint (tests the connection with the new settings first unless SkipVerification)",
			body: wire.SetMigrationEndpointBody{}, response: wire.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.SetMigrationEndpointBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				req := service.SetMigrationEndpointRequest{Identity: r.PathValue("identity"), RemoteServer: b.RemoteServer, Port: b.Port,
					Security: b.Security, MaxConcurrentMigrations: b.MaxConcurrentMigrations, SkipVerification: b.SkipVerification}
				if b.TrustedCertificate != nil {
					req.TrustedCertificate, req.SetTrust = *b.TrustedCertificate, true
				}
				e, err := a.svc.SetMigrationEndpoint(ctx, c, req)
				return http.StatusOK, migrationEndpointWire(e), err
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
				res, err := a.svc.TestMigrationServerAvailability(ctx, c, b.RemoteServer, b.Port, b.Security, b.TrustedCertificate, b.UserName, b.Password)
				return http.StatusOK, serverAvailabilityWire(res), err
			}},
		{method: "GET", path: "/api/v1/migrationbatches", summary: "Get-MigrationBatch: a page of batches by name, the next in NextCursor and the Link header",
			query: migrationPageParams, response: wire.ListBody[wire.MigrationBatch]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return migrationList(ctx, r, func(p service.MigrationPage) (service.Page[service.MigrationBatch], error) {
					return a.svc.GetMigrationBatches(ctx, c, "", p)
				}, migrationBatchWire)
			}},
		{method: "GET", path: "/api/v1/migrationbatches/{identity}", summary: "Get-MigrationBatch -Identity", response: wire.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				b, err := a.svc.GetMigrationBatches(ctx, c, r.PathValue("identity"), service.MigrationPage{})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, migrationBatchWire(b.Items[0]), nil
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
				return http.StatusOK, migrationUserWire(u.Items[0]), nil
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
				return http.StatusOK, migrationUserWire(u.Items[0]), nil
			}},
	}
}

func (a *API) migrationUsers(ctx context.Context, c service.Caller, r *http.Request, stats bool) (int, any, error) {
	return migrationList(ctx, r, func(p service.MigrationPage) (service.Page[service.MigrationUser], error) {
		return a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{BatchId: r.URL.Query().Get("batchId"), MigrationPage: p, Statistics: stats})
	}, migrationUserWire)
}
