package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// The typed calls of SMTP submission: authenticated SMTP
// (Get-/Set-TransportConfig) and the outbound queue (Get-Queue,
// Get-Message, Retry-Queue, Remove-Message).

// The shell's type names of the submission objects.
const (
	TypeTransportConfig = "Gatehouse.TransportConfig"
	TypeQueue           = "Gatehouse.Queue"
	TypeQueueMessage    = "Gatehouse.QueueMessage"
)

// QueueMessages is the collection of the outbound queue's messages, oldest
// first.
var QueueMessages = Collection[wire.QueueMessage]{Path: "queuemessages", TypeName: TypeQueueMessage}

// GetTransportConfig reads the organization's transport settings.
func (c *Client) GetTransportConfig(ctx context.Context) (wire.TransportConfig, error) {
	return get[wire.TransportConfig](ctx, c, "transportconfig", nil)
}

// SetTransportConfig changes the organization's transport settings.
func (c *Client) SetTransportConfig(ctx context.Context, b wire.SetTransportConfigBody, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPatch, "transportconfig", b, whatIf)
}

// GetQueues reads the outbound queues (one: Smarthost).
func (c *Client) GetQueues(ctx context.Context) ([]wire.Queue, error) {
	return get[[]wire.Queue](ctx, c, "queues", nil)
}

// RetryQueue makes every waiting message of a queue due now.
func (c *Client) RetryQueue(ctx context.Context, identity string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodPost, "queues/"+url.PathEscape(identity)+"/retry", nil, whatIf)
}

// RemoveMessage removes a message from the outbound queue, without a
// notice to its sender.
func (c *Client) RemoveMessage(ctx context.Context, identity string, whatIf bool) (wire.ResultBody, error) {
	return change[wire.ResultBody](ctx, c, http.MethodDelete, "queuemessages/"+url.PathEscape(identity), nil, whatIf)
}
