package admincenter

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// queuePageSize is how many queued messages one page of Mail flow > Queue
// lists; the next page continues after the last (Get-Message's cursor).
const queuePageSize = 50

type queueData struct {
	Queue    service.Queue
	Messages []service.QueueMessage
	// NoSmarthost: nothing can leave the organization.
	NoSmarthost bool
	// Next is the URL of the next page ("" on the last); First the first
	// page's, shown from the second page on.
	Next, First string
	CanChange   bool
	Deny        string
}

type queueRemoveData struct {
	Message service.QueueMessage
	Cancel  string
}

// queuePage is Mail flow > Queue: the outbound queue to the smarthost and
// its messages, a page at a time, with Retry queue and Remove.
func (c *Center) queuePage(w http.ResponseWriter, r *http.Request, s *session) error {
	qs, err := c.svc.GetQueues(r.Context(), s.caller)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	p, err := c.svc.GetMessages(r.Context(), s.caller, service.GetMessagesRequest{ResultSize: queuePageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	d := queueData{Queue: qs[0], Messages: p.Items, CanChange: s.caller.Can(rbac.TransportQueues),
		NoSmarthost: qs[0].NextHopDomain == service.NoSmarthost}
	if p.More {
		d.Next = queuePath + "?" + url.Values{"cursor": {p.Next}}.Encode()
	}
	if cursor != "" {
		d.First = queuePath
	}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.TransportQueues))
	}
	page := c.newPage(w, r, s, "Queue", "mailflow", "queue")
	page.Data = d
	c.render(w, r, http.StatusOK, "queue", page)
	return nil
}

// retryQueue is the Retry queue button (Retry-Queue).
func (c *Center) retryQueue(w http.ResponseWriter, r *http.Request, s *session) error {
	res, err := c.svc.RetryQueue(r.Context(), s.caller, service.RetryQueueRequest{Identity: service.QueueName})
	if err != nil {
		return err
	}
	if res.NoChange {
		return c.redirect(w, r, queuePath, &flash{Kind: "warning", Text: "No message was waiting for a retry; nothing changed."})
	}
	return c.redirect(w, r, queuePath, &flash{Kind: "success", Text: fmt.Sprintf("Retrying now: %s.", res.Changes[0].OldValue)})
}

// queueRemovePage asks before Remove-Message.
func (c *Center) queueRemovePage(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.URL.Query().Get("id")
	p, err := c.svc.GetMessages(r.Context(), s.caller, service.GetMessagesRequest{Identity: id})
	if err != nil {
		return err
	}
	page := c.newPage(w, r, s, "Remove message", "mailflow", "queue")
	page.Data = queueRemoveData{Message: p.Items[0], Cancel: queuePath}
	c.render(w, r, http.StatusOK, "queueremove", page)
	return nil
}

// queueRemove removes the confirmed message (Remove-Message).
func (c *Center) queueRemove(w http.ResponseWriter, r *http.Request, s *session) error {
	res, err := c.svc.RemoveMessage(r.Context(), s.caller, service.RemoveMessageRequest{Identity: r.PostForm.Get("id")})
	if err != nil {
		return err
	}
	return c.redirect(w, r, queuePath, &flash{Kind: "success", Text: fmt.Sprintf("Removed %s from the queue. Its sender was not notified.", res.Identity)})
}
