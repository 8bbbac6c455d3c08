package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// The shell's type names of authentication policies and users.
const (
	TypeAuthenticationPolicy = "Gatehouse.AuthenticationPolicy"
	TypeUser                 = "Gatehouse.User"
)

// AuthenticationPolicies is the collection of authentication policies
// (Get-AuthenticationPolicy).
var AuthenticationPolicies = Collection[wire.AuthenticationPolicy]{Path: "authenticationpolicies", TypeName: TypeAuthenticationPolicy}

// GetUser reads the user of a mailbox: its own authentication policy
// (GET /api/v1/users/{identity}).
func (c *Client) GetUser(ctx context.Context, identity string) (wire.User, error) {
	return get[wire.User](ctx, c, "users/"+url.PathEscape(identity), nil)
}

// SetUser changes the user of a mailbox (Set-User -AuthenticationPolicy).
func (c *Client) SetUser(ctx context.Context, identity string, b wire.SetUserBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "users/"+url.PathEscape(identity), b, whatIf)
}

// SetUsers changes many users, bulkConcurrency requests at a time;
// results come back in the order of identities.
func (c *Client) SetUsers(ctx context.Context, identities []string, bodies []wire.SetUserBody, whatIf bool) []BulkResult {
	return parallel(len(identities), func(i int) (wire.ResultBody, error) {
		return c.SetUser(ctx, identities[i], bodies[i], whatIf)
	})
}

// NewAuthenticationPolicy creates an authentication policy
// (New-AuthenticationPolicy).
func (c *Client) NewAuthenticationPolicy(ctx context.Context, b wire.NewAuthPolicyBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPost, AuthenticationPolicies.Path, b, whatIf)
}

// SetAuthenticationPolicy changes an authentication policy
// (Set-AuthenticationPolicy).
func (c *Client) SetAuthenticationPolicy(ctx context.Context, name string, b wire.SetAuthPolicyBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, AuthenticationPolicies.Path+"/"+url.PathEscape(name), b, whatIf)
}

// SetAuthenticationPolicies changes many policies, bulkConcurrency
// requests at a time; results come back in the order of names.
func (c *Client) SetAuthenticationPolicies(ctx context.Context, names []string, bodies []wire.SetAuthPolicyBody, whatIf bool) []BulkResult {
	return parallel(len(names), func(i int) (wire.ResultBody, error) {
		return c.SetAuthenticationPolicy(ctx, names[i], bodies[i], whatIf)
	})
}

// RemoveAuthenticationPolicy removes an authentication policy
// (Remove-AuthenticationPolicy).
func (c *Client) RemoveAuthenticationPolicy(ctx context.Context, name string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodDelete, AuthenticationPolicies.Path+"/"+url.PathEscape(name), nil, whatIf)
}
