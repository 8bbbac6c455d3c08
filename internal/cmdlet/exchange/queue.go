package exchange

import (
	"context"
	"net/url"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/client"
)

// The queue viewer cmdlets of Exchange, over the outbound queue of SMTP
// submission (one queue, Smarthost; messages Smarthost\<number>).

func getQueue() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-Queue", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.Queue",
		Synopsis:    "Gets the outbound queue: submitted mail on its way to the smarthost.",
		Description: "Shows the one outbound queue (Smarthost): its next hop, status (Ready, Active, Retry), message count, and the last error and next retry of its oldest message.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "QueueIdentity", Help: "The queue: Smarthost."},
		},
		Examples: []cmdlet.Example{{Code: "Get-Queue | Format-List", Remarks: "The outbound queue with its last error."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				cl, err := rest(c)
				if err != nil {
					return err
				}
				id := c.String("Identity")
				queues, err := cl.GetQueues(ctx)
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				var found bool
				for _, q := range queues {
					if id != "" && !strings.EqualFold(q.Identity, id) {
						continue
					}
					found = true
					if err := c.Emit(client.Object(client.TypeQueue, q)); err != nil {
						return err
					}
				}
				if !found && id != "" {
					return c.WriteError(notFound(c, id))
				}
				return nil
			}}
		},
	}
}

func getMessage() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Get-Message", Source: cmdlet.SrcGate, NeedsServer: true, OutputType: "Gatehouse.QueueMessage",
		Synopsis:    "Gets the messages in the outbound queue.",
		Description: "Lists the queued messages, oldest first: Identity, Status, Size, FromAddress, Recipients (those still to be sent), LastError, RetryCount, DateReceived, NextRetryTime. Pages through all of them with -ResultSize Unlimited.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, TypeName: "MessageIdentity", FromPipelineByName: true, Help: "One message: Smarthost\\<number>."},
			{Name: "Queue", Type: cmdlet.TIdentity, TypeName: "QueueIdentity", Help: "The queue: Smarthost."},
			resultSizeParam(),
		},
		Examples: []cmdlet.Example{
			{Code: "Get-Message -Queue Smarthost | Format-Table Identity,Status,FromAddress,RetryCount,LastError", Remarks: "What waits for the smarthost, and why."},
			{Code: "Get-Message -ResultSize Unlimited | Where-Object RetryCount -gt 5 | Remove-Message -Confirm:$false", Remarks: "Removes messages that failed more than five times."},
		},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				if id := c.String("Identity"); id != "" {
					return getOne(ctx, c, client.QueueMessages, id)
				}
				q := url.Values{}
				if v := c.String("Queue"); v != "" {
					q.Set("queue", v)
				}
				return listLimited(ctx, c, client.QueueMessages, q, objectView(client.QueueMessages))
			}}
		},
	}
}

func retryQueue() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Retry-Queue", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, OutputType: "None",
		Synopsis:    "Tries the messages of the outbound queue now.",
		Description: "Makes every message that waits for its next attempt due at once and wakes the queue runner, as after the smarthost came back.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "QueueIdentity", FromPipelineByName: true, Help: "The queue: Smarthost."},
		},
		Examples: []cmdlet.Example{{Code: "Retry-Queue -Identity Smarthost", Remarks: "Sends what waits, now."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				cl, err := confirmedREST(c, id, "Retry-Queue")
				if cl == nil {
					return err
				}
				r, err := cl.RetryQueue(ctx, id, c.WhatIf())
				return reportUpdate(c, id, nil, r, err)
			}}
		},
	}
}

func removeMessage() *cmdlet.Cmdlet {
	return &cmdlet.Cmdlet{
		Name: "Remove-Message", Source: cmdlet.SrcGate, NeedsServer: true, ShouldProcess: true, ConfirmByDefault: true, OutputType: "None",
		Synopsis:    "Removes a message from the outbound queue.",
		Description: "Deletes a queued message; its sender gets no notice (Exchange's -WithNDR $false). In an interactive shell it asks first, unless -Confirm:$false.",
		Params: []*cmdlet.Param{
			{Name: "Identity", Type: cmdlet.TIdentity, Position: 1, Mandatory: true, TypeName: "MessageIdentity", FromPipelineByName: true, Help: "The message: Smarthost\\<number>."},
		},
		Examples: []cmdlet.Example{{Code: "Remove-Message -Identity Smarthost\\42 -Confirm:$false", Remarks: "Removes message 42 from the queue."}},
		New: func() cmdlet.Impl {
			return cmdlet.Impl{Process: func(ctx context.Context, c *cmdlet.Call) error {
				id := c.String("Identity")
				cl, err := confirmedREST(c, id, "Remove-Message")
				if cl == nil {
					return err
				}
				r, err := cl.RemoveMessage(ctx, id, c.WhatIf())
				return reportUpdate(c, id, nil, r, err)
			}}
		},
	}
}
