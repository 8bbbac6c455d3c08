package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// appPasswordRoutes are the routes of a mailbox's app passwords
// (Get-/New-/Remove-AppPassword).
func (a *API) appPasswordRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/mailboxes/{identity}/apppasswords", summary: "Get-AppPassword (never the secrets)",
			response: []wire.AppPassword{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				ps, err := a.svc.GetAppPasswords(ctx, c, r.PathValue("identity"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, wireSlice(ps, appPasswordWire), nil
			}},
		{method: "POST", path: "/api/v1/mailboxes/{identity}/apppasswords", summary: "New-AppPassword: the answer holds the secret, this once",
			query: []param{whatIfParam}, body: wire.NewAppPasswordBody{}, response: wire.NewAppPasswordResponse{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.NewAppPasswordBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.NewAppPassword(ctx, c, r.PathValue("identity"), b.Name, whatIf)
				if err != nil {
					return 0, nil, err
				}
				status := http.StatusCreated
				if whatIf {
					status = http.StatusOK
				}
				return status, wire.NewAppPasswordResponse{AppPassword: appPasswordWire(res.AppPassword), Password: res.Password,
					Result: resultBody(res.Result)}, nil
			}},
		{method: "DELETE", path: "/api/v1/mailboxes/{identity}/apppasswords/{name}", summary: "Remove-AppPassword: revokes it and closes its sessions",
			query: []param{whatIfParam}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RemoveAppPassword(ctx, c, r.PathValue("identity"), r.PathValue("name"), whatIf)
				return http.StatusOK, resultBody(res), err
			}},
	}
}

func appPasswordWire(p service.AppPassword) wire.AppPassword {
	w := wire.AppPassword{Identity: p.Identity, Mailbox: p.Mailbox, Name: p.Name, WhenCreated: p.WhenCreated,
		LastUsedProtocol: p.LastUsedProtocol, LastUsedAddress: p.LastUsedAddress}
	if !p.LastUsed.IsZero() {
		t := p.LastUsed
		w.LastUsed = &t
	}
	return w
}
