package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// NewMigrationEndpointBody is the body of POST /api/v1/migrationendpoints
// (New-MigrationEndpoint -IMAP).
type NewMigrationEndpointBody struct {
	Name                    string
	RemoteServer            string
	Port                    int
	Security                string
	Authentication          string
	MaxConcurrentMigrations int
	SkipVerification        bool
}

// TestMigrationServerBody is the body of POST
// /api/v1/migrationserveravailability (Test-MigrationServerAvailability -IMAP).
type TestMigrationServerBody struct {
	RemoteServer string
	Port         int
	Security     string
	// UserName and Password, when given, are tried at the source.
	UserName string
	Password string
}

// NewMigrationBatchBody is the body of POST /api/v1/migrationbatches.
type NewMigrationBatchBody struct {
	Name           string
	SourceEndpoint string
	// CSVData is the CSV file (EmailAddress,UserName,Password), base64 in
	// JSON as every byte[] value.
	CSVData        []byte
	ExcludeFolders []string
	AutoStart      bool
}

var migrationUserParams = []param{
	{"batchId", "string", "the users of this batch only"},
	{"resultSize", "string", "a number (default 1000) or Unlimited"},
	{"cursor", "string", "continuation token of the page before, from its Link header"},
}

func (a *API) migrationRoutes() []route {
	ok := func(err error) (int, any, error) { return http.StatusNoContent, nil, err }
	return []route{
		{method: "GET", path: "/api/v1/migrationendpoints", summary: "Get-MigrationEndpoint", response: []service.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				e, err := a.svc.GetMigrationEndpoints(ctx, c, "")
				if e == nil {
					e = []service.MigrationEndpoint{}
				}
				return http.StatusOK, e, err
			}},
		{method: "GET", path: "/api/v1/migrationendpoints/{identity}", summary: "Get-MigrationEndpoint -Identity", response: service.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				e, err := a.svc.GetMigrationEndpoints(ctx, c, r.PathValue("identity"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, e[0], nil
			}},
		{method: "POST", path: "/api/v1/migrationendpoints", summary: "New-MigrationEndpoint -IMAP (tests the connection first unless SkipVerification)",
			body: NewMigrationEndpointBody{}, response: service.MigrationEndpoint{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b NewMigrationEndpointBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				e, err := a.svc.NewMigrationEndpoint(ctx, c, service.NewMigrationEndpointRequest{Name: b.Name, RemoteServer: b.RemoteServer, Port: b.Port,
					Security: b.Security, Authentication: b.Authentication, MaxConcurrentMigrations: b.MaxConcurrentMigrations, SkipVerification: b.SkipVerification})
				return http.StatusCreated, e, err
			}},
		{method: "DELETE", path: "/api/v1/migrationendpoints/{identity}", summary: "Remove-MigrationEndpoint",
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return ok(a.svc.RemoveMigrationEndpoint(ctx, c, r.PathValue("identity")))
			}},
		{method: "POST", path: "/api/v1/migrationserveravailability", summary: "Test-MigrationServerAvailability -IMAP",
			body: TestMigrationServerBody{}, response: service.ServerAvailability{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b TestMigrationServerBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				res, err := a.svc.TestMigrationServerAvailability(ctx, c, b.RemoteServer, b.Port, b.Security, b.UserName, b.Password)
				return http.StatusOK, res, err
			}},
		{method: "GET", path: "/api/v1/migrationbatches", summary: "Get-MigrationBatch", response: []service.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				b, err := a.svc.GetMigrationBatches(ctx, c, "")
				if b == nil {
					b = []service.MigrationBatch{}
				}
				return http.StatusOK, b, err
			}},
		{method: "GET", path: "/api/v1/migrationbatches/{identity}", summary: "Get-MigrationBatch -Identity", response: service.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				b, err := a.svc.GetMigrationBatches(ctx, c, r.PathValue("identity"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, b[0], nil
			}},
		{method: "POST", path: "/api/v1/migrationbatches", summary: "New-MigrationBatch (IMAP; the CSV file is checked whole, every bad row named, before anything is created)",
			body: NewMigrationBatchBody{}, response: service.MigrationBatch{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b NewMigrationBatchBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				v, err := a.svc.NewMigrationBatch(ctx, c, service.NewMigrationBatchRequest{Name: b.Name, SourceEndpoint: b.SourceEndpoint,
					CSVData: b.CSVData, ExcludeFolders: b.ExcludeFolders, AutoStart: b.AutoStart})
				return http.StatusCreated, v, err
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
			query: migrationUserParams, response: ListBody[service.MigrationUser]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return a.migrationUsers(ctx, c, r, false)
			}},
		{method: "GET", path: "/api/v1/migrationusers/{identity}", summary: "Get-MigrationUser -Identity", response: service.MigrationUser{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				u, err := a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{Identity: r.PathValue("identity")})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, u[0], nil
			}},
		{method: "GET", path: "/api/v1/migrationuserstatistics", summary: "Get-MigrationUserStatistics: a page of users with skipped items and folders",
			query: migrationUserParams, response: ListBody[service.MigrationUser]{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				return a.migrationUsers(ctx, c, r, true)
			}},
		{method: "GET", path: "/api/v1/migrationuserstatistics/{identity}", summary: "Get-MigrationUserStatistics -Identity", response: service.MigrationUser{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				u, err := a.svc.GetMigrationUsers(ctx, c, service.MigrationUserQuery{Identity: r.PathValue("identity"), Statistics: true})
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, u[0], nil
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
	b := ListBody[service.MigrationUser]{Items: us, Total: len(us)}
	if size > 0 && len(us) > size {
		b.Items, b.More = us[:size], true
		b.NextCursor = us[size-1].Identity
		b.Warning = service.MoreWarning(size)
		linkNext(ctx, r, b.NextCursor)
	}
	if b.Items == nil {
		b.Items = []service.MigrationUser{}
	}
	return http.StatusOK, b, nil
}
