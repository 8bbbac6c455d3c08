package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// TypeAppPassword is the shell's type name of an app password.
const TypeAppPassword = "Gatehouse.AppPassword"

func appPasswordsPath(identity string) string {
	return "mailboxes/" + url.PathEscape(identity) + "/apppasswords"
}

// GetAppPasswords lists a mailbox's app passwords, never their secrets
// (Get-AppPassword). The list is whole: a mailbox has at most 40.
func (c *Client) GetAppPasswords(ctx context.Context, identity string) ([]wire.AppPassword, error) {
	return get[[]wire.AppPassword](ctx, c, appPasswordsPath(identity), nil)
}

// NewAppPassword makes an app password (New-AppPassword); the answer holds
// its secret, this once.
func (c *Client) NewAppPassword(ctx context.Context, identity string, b wire.NewAppPasswordBody, whatIf bool) (wire.NewAppPasswordResponse, error) {
	return change[wire.NewAppPasswordResponse](ctx, c, http.MethodPost, appPasswordsPath(identity), b, whatIf)
}

// RemoveAppPassword revokes an app password (Remove-AppPassword).
func (c *Client) RemoveAppPassword(ctx context.Context, identity, name string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodDelete, appPasswordsPath(identity)+"/"+url.PathEscape(name), nil, whatIf)
}
