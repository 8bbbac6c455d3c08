package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// The outbound queue of SMTP submission, as Exchange's queue viewer
// cmdlets show it: one delivery queue, to the smarthost, named
// QueueName; its messages are QueueName\<number>.

// QueueName is the identity of the one outbound queue.
const QueueName = "Smarthost"

// Queue is what Get-Queue shows.
type Queue struct {
	Identity      string
	DeliveryType  string
	NextHopDomain string
	// Status: Active while a message is being sent, Retry when the last
	// attempt failed for the oldest message, Ready otherwise.
	Status        string
	MessageCount  int
	LastError     string
	NextRetryTime *time.Time
}

// QueueMessage is what Get-Message shows.
type QueueMessage struct {
	Identity       string
	Queue          string
	Status         string
	Size           int64
	FromAddress    string
	Recipients     []string
	LastError      string
	RetryCount     int
	DateReceived   time.Time
	NextRetryTime  *time.Time
	ExpirationTime time.Time
}

func messageView(m store.OutboundMessage, now time.Time) QueueMessage {
	v := QueueMessage{Identity: fmt.Sprintf("%s\\%d", QueueName, m.ID), Queue: QueueName, Status: m.Status(now), Size: m.Size,
		FromAddress: m.From, Recipients: m.Recipients, LastError: m.LastError, RetryCount: m.RetryCount,
		DateReceived: m.DateReceived, ExpirationTime: m.Expires}
	if m.RetryCount > 0 {
		v.NextRetryTime = timePtr(m.NextRetry)
	}
	return v
}

// queueMessageID parses a message identity: "Smarthost\42", any
// "server\Smarthost\42", or "42".
func queueMessageID(identity string) (int64, bool) {
	last := identity
	if i := strings.LastIndex(identity, `\`); i >= 0 {
		last = identity[i+1:]
		q := identity[:i]
		if j := strings.LastIndex(q, `\`); j >= 0 {
			q = q[j+1:]
		}
		if !strings.EqualFold(q, QueueName) {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(last, 10, 64)
	return id, err == nil && id > 0
}

func queueIdentity(identity string) bool {
	if i := strings.LastIndex(identity, `\`); i >= 0 {
		identity = identity[i+1:]
	}
	return strings.EqualFold(identity, QueueName)
}

// messageToken is the continuation token of Get-Message.
type messageToken struct{ After int64 }

// GetMessagesRequest holds the parameters of Get-Message.
type GetMessagesRequest struct {
	// Identity selects one message; Queue (only QueueName) all of them.
	Identity   string
	Queue      string
	ResultSize int // 0: DefaultResultSize; Unlimited: all
	Cursor     string
}

// GetMessages is Get-Message: the queued messages, oldest first, a page
// at a time.
func (s *Service) GetMessages(ctx context.Context, c Caller, r GetMessagesRequest) (Page[QueueMessage], error) {
	var p Page[QueueMessage]
	if r.Queue != "" && !queueIdentity(r.Queue) {
		return p, &NotFoundError{Identity: r.Queue, Server: s.server}
	}
	limit := r.ResultSize
	if limit == 0 {
		limit = DefaultResultSize
	}
	var after int64
	if r.Cursor != "" {
		var t messageToken
		if err := decodeToken(r.Cursor, &t); err != nil {
			return p, err
		}
		after = t.After
	}
	now := s.now()
	err := s.read(ctx, c, "Get-Message", rbac.ViewConfiguration, func(tx store.Tx) error {
		if r.Identity != "" {
			id, ok := queueMessageID(r.Identity)
			if !ok {
				return &NotFoundError{Identity: r.Identity, Server: s.server}
			}
			m, err := tx.OutboundMessage(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return &NotFoundError{Identity: r.Identity, Server: s.server}
			}
			if err != nil {
				return err
			}
			p.Items, p.Total = []QueueMessage{messageView(m, now)}, 1
			return nil
		}
		q := store.OutboundQuery{AfterID: after}
		if limit > 0 {
			q.Limit = limit + 1
		}
		ms, err := tx.OutboundMessages(ctx, q)
		if err != nil {
			return err
		}
		if limit > 0 && len(ms) > limit {
			ms = ms[:limit]
			p.More, p.Next = true, encodeToken(messageToken{After: ms[limit-1].ID})
		}
		for _, m := range ms {
			p.Items = append(p.Items, messageView(m, now))
		}
		p.Total = len(p.Items)
		return nil
	})
	return p, err
}

// NoSmarthost is the NextHopDomain of the queue when no smarthost is
// configured (Get-Queue shows it as is).
const NoSmarthost = "(no smarthost configured)"

// GetQueues is Get-Queue: the one outbound queue, with its message count
// and the state of its oldest message.
func (s *Service) GetQueues(ctx context.Context, c Caller) ([]Queue, error) {
	q := Queue{Identity: QueueName, DeliveryType: "SmartHostConnectorDelivery", NextHopDomain: s.smarthost, Status: "Ready"}
	if q.NextHopDomain == "" {
		q.NextHopDomain = NoSmarthost
	}
	now := s.now()
	err := s.read(ctx, c, "Get-Queue", rbac.ViewConfiguration, func(tx store.Tx) error {
		var after int64
		for {
			ms, err := tx.OutboundMessages(ctx, store.OutboundQuery{AfterID: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, m := range ms {
				if q.MessageCount == 0 {
					q.Status, q.LastError = m.Status(now), m.LastError
					if m.RetryCount > 0 {
						q.NextRetryTime = timePtr(m.NextRetry)
					}
				}
				if m.Status(now) == "Active" {
					q.Status = "Active"
				}
				q.MessageCount++
			}
			if len(ms) < 1000 {
				return nil
			}
			after = ms[len(ms)-1].ID
		}
	})
	return []Queue{q}, err
}

// RetryQueueRequest holds the parameters of Retry-Queue.
type RetryQueueRequest struct {
	Identity string
	WhatIf   bool
}

// RetryQueue is Retry-Queue: every message waiting for its next attempt is
// due now, and the runner is woken.
func (s *Service) RetryQueue(ctx context.Context, c Caller, r RetryQueueRequest) (Result, error) {
	o := op{cmdlet: "Retry-Queue", perm: rbac.TransportQueues, object: r.Identity, whatIf: r.WhatIf,
		params: []store.Parameter{{Name: "Identity", Value: r.Identity}}}
	res, err := s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		if !queueIdentity(r.Identity) {
			return mutation{}, &NotFoundError{Identity: r.Identity, Server: s.server}
		}
		res := Result{Identity: QueueName}
		if r.WhatIf {
			return mutation{result: res}, nil
		}
		n, err := tx.RetryOutbound(ctx, nil, s.now())
		if err != nil {
			return mutation{}, err
		}
		if n == 0 {
			res.NoChange = true
			return mutation{result: res}, nil
		}
		res.Changes = []store.PropertyChange{{Name: "NextRetryTime", OldValue: fmt.Sprintf("%d messages waiting", n), NewValue: "now"}}
		return mutation{result: res, audit: true}, nil
	})
	if err == nil && !r.WhatIf && s.wake != nil {
		s.wake()
	}
	return res, err
}

// RemoveMessageRequest holds the parameters of Remove-Message.
type RemoveMessageRequest struct {
	Identity string
	WhatIf   bool
}

// RemoveMessage is Remove-Message: the message leaves the queue without a
// notification to its sender (Exchange's -WithNDR $false). A message
// being sent at that moment finishes its attempt.
func (s *Service) RemoveMessage(ctx context.Context, c Caller, r RemoveMessageRequest) (Result, error) {
	o := op{cmdlet: "Remove-Message", perm: rbac.TransportQueues, object: r.Identity, whatIf: r.WhatIf,
		params: []store.Parameter{{Name: "Identity", Value: r.Identity}}}
	return s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		id, ok := queueMessageID(r.Identity)
		if !ok {
			return mutation{}, &NotFoundError{Identity: r.Identity, Server: s.server}
		}
		m, err := tx.OutboundMessage(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return mutation{}, &NotFoundError{Identity: r.Identity, Server: s.server}
		}
		if err != nil {
			return mutation{}, err
		}
		res := Result{Identity: messageView(m, s.now()).Identity,
			Changes: []store.PropertyChange{{Name: "Queue", OldValue: QueueName, NewValue: "(removed)"}}}
		if r.WhatIf {
			return mutation{result: res}, nil
		}
		if err := tx.RemoveOutbound(ctx, id); err != nil {
			return mutation{}, err
		}
		return mutation{result: res, audit: true}, nil
	})
}
