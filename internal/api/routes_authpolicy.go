package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// authPolicyRoutes are the routes of authentication policies
// (Get/New/Set/Remove-AuthenticationPolicy) and of a user's policy
// (Get-User, Set-User -AuthenticationPolicy).
func (a *API) authPolicyRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/authenticationpolicies", summary: "Get-AuthenticationPolicy", response: []wire.AuthenticationPolicy{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				p, err := a.svc.GetAuthenticationPolicies(ctx, c, "")
				if p == nil {
					p = []service.AuthenticationPolicy{}
				}
				return http.StatusOK, wireSlice(p, authPolicyWire), err
			}},
		{method: "GET", path: "/api/v1/authenticationpolicies/{name}", summary: "Get-AuthenticationPolicy -Identity", response: wire.AuthenticationPolicy{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				p, err := a.svc.GetAuthenticationPolicies(ctx, c, r.PathValue("name"))
				if err != nil {
					return 0, nil, err
				}
				return http.StatusOK, authPolicyWire(p[0]), nil
			}},
		{method: "POST", path: "/api/v1/authenticationpolicies", summary: "New-AuthenticationPolicy", query: []param{whatIfParam},
			body: wire.NewAuthPolicyBody{}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.NewAuthPolicyBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.NewAuthenticationPolicy(ctx, c, service.NewAuthenticationPolicyRequest{Name: b.Name,
					AllowBasicAuthPop: b.AllowBasicAuthPop, AllowBasicAuthImap: b.AllowBasicAuthImap, AllowBasicAuthSmtp: b.AllowBasicAuthSmtp,
					WhatIf: whatIf})
				status := http.StatusCreated
				if whatIf {
					status = http.StatusOK
				}
				return status, resultBody(res), err
			}},
		{method: "PATCH", path: "/api/v1/authenticationpolicies/{name}", summary: "Set-AuthenticationPolicy", query: []param{whatIfParam},
			body: wire.SetAuthPolicyBody{}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.SetAuthPolicyBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.SetAuthenticationPolicy(ctx, c, r.PathValue("name"), service.SetAuthenticationPolicyRequest{
					AllowBasicAuthPop: b.AllowBasicAuthPop, AllowBasicAuthImap: b.AllowBasicAuthImap, AllowBasicAuthSmtp: b.AllowBasicAuthSmtp,
					WhatIf: whatIf})
				return http.StatusOK, resultBody(res), err
			}},
		{method: "DELETE", path: "/api/v1/authenticationpolicies/{name}", summary: "Remove-AuthenticationPolicy", query: []param{whatIfParam},
			response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				res, err := a.svc.RemoveAuthenticationPolicy(ctx, c, r.PathValue("name"), whatIf)
				return http.StatusOK, resultBody(res), err
			}},
		{method: "GET", path: "/api/v1/users/{identity}", summary: "Get-User", response: wire.User{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				u, err := a.svc.GetUser(ctx, c, r.PathValue("identity"))
				return http.StatusOK, userWire(u), err
			}},
		{method: "PATCH", path: "/api/v1/users/{identity}", summary: "Set-User -AuthenticationPolicy", query: []param{whatIfParam},
			body: wire.SetUserBody{}, response: wire.ResultBody{},
			h: func(ctx context.Context, c service.Caller, r *http.Request) (int, any, error) {
				var b wire.SetUserBody
				if err := decode(r, &b); err != nil {
					return 0, nil, err
				}
				whatIf, err := boolQuery(r, "whatIf")
				if err != nil {
					return 0, nil, err
				}
				if b.AuthenticationPolicy == nil {
					return 0, nil, &service.ValidationError{Parameter: "AuthenticationPolicy", Message: "Set-User: give AuthenticationPolicy (a policy name, or \"\" for none)."}
				}
				res, err := a.svc.SetUserAuthenticationPolicy(ctx, c, r.PathValue("identity"), *b.AuthenticationPolicy, whatIf)
				return http.StatusOK, resultBody(res), err
			}},
	}
}
