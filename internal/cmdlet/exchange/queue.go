package exchange

import (
	"context"
	"net/url"

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
				id := c.String("Identity")
				var found bool
				err := c.Session().API().List(ctx, "queues", nil, cmdlet.Unlimited, func(o *cmdlet.Object) error {
					if n, _ := o.Get("Identity"); id != "" && !equalFoldAny(n, id) {
						return nil
					}
					found = true
					o.TypeName = "Gatehouse.Queue"
					return c.Emit(o)
				})
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				if !found && id != "" {
					return c.WriteError(notFound(c, id))
				}
				return nil
			}}
		},
	}
}

func equalFoldAny(v any, s string) bool {
	str := cmdlet.ToString(v)
	if len(str) != len(s) {
		return false
	}
	for i := range len(s) {
		a, b := str[i], s[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
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
					o, err := c.Session().API().Get(ctx, "queuemessages/"+escapeSegment(id), nil)
					if err != nil {
						return c.WriteError(cmdlet.APIMessage(err))
					}
					o.TypeName = "Gatehouse.QueueMessage"
					return c.Emit(o)
				}
				q := url.Values{}
				if v := c.String("Queue"); v != "" {
					q.Set("queue", v)
				}
				return listLimited(ctx, c, "queuemessages", q)
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
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Retry-Queue")
					if err != nil || !ok {
						return err
					}
				}
				var q url.Values
				if c.WhatIf() {
					q = url.Values{"whatIf": {"true"}}
				}
				resp, err := c.Session().API().Create(ctx, "queues/"+escapeSegment(id)+"/retry", q, cmdlet.NewObject(""))
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, id, nil, *client.DecodeUpdate(resp), nil)
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
				if !c.WhatIf() {
					ok, err := c.ShouldProcess(id, "Remove-Message")
					if err != nil || !ok {
						return err
					}
				}
				r, err := c.Session().API().Delete(ctx, "queuemessages/"+escapeSegment(id), c.WhatIf())
				if err != nil {
					return c.WriteError(cmdlet.APIMessage(err))
				}
				return reportUpdate(c, id, nil, *r, nil)
			}}
		},
	}
}
