package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the NOTIFY channel all nodes listen on.
const channel = "gatehouse_events"

// Postgres carries events between nodes over LISTEN/NOTIFY. Events published
// here reach local subscribers at once; other nodes get them through the
// server, and a node ignores its own echo.
type Postgres struct {
	local *Local
	node  string
	dsn   string
	log   *slog.Logger

	// Events for the other nodes wait in queue for the publisher
	// goroutine (publish), which sends what has gathered in one round
	// trip: a session's command does not wait for the database, and a
	// node's events do not queue behind one connection a round trip at a
	// time. They go out in the order they were published.
	queue   chan []byte
	closing chan struct{} // closed by Close: no more events are taken
	pubDone chan struct{} // closed when the publisher has stopped
	pub     *pgx.Conn     // the publisher's own

	errMu  sync.Mutex
	pubErr error // the last send's failure, until one succeeds

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

const (
	// publishQueue is how many events may wait for the publisher; a
	// Publish beyond it waits (the database is down or slow).
	publishQueue = 4096
	// publishBatch is the most events one round trip carries.
	publishBatch = 256
)

var _ Hub = (*Postgres)(nil)

// wire is the NOTIFY payload: the event's fields and the sending node,
// flat in one JSON object ({"n":"…","k":2,"m":7}).
type wire struct {
	Node string `json:"n"`
	Event
}

// encode makes the payload of e sent by node.
//
// Compatibility: nodes older than Event.QueryID read a SessionsQuery's ID
// from "s" (ModSeq, which a query does not otherwise use), so the ID is
// sent there as well; decode accepts either. Nodes of both versions can
// then share one database during a rolling upgrade. Once every node reads
// "q", the copy in "s" can go.
func encode(node string, e Event) ([]byte, error) {
	w := wire{Node: node, Event: e}
	if e.Kind == SessionsQuery && e.ModSeq == 0 {
		w.ModSeq = e.QueryID
	}
	return json.Marshal(w)
}

// decode reads a payload made by encode, or by an older node.
func decode(payload []byte) (wire, error) {
	var w wire
	if err := json.Unmarshal(payload, &w); err != nil {
		return w, err
	}
	if w.Kind == SessionsQuery {
		if w.QueryID == 0 {
			w.QueryID = w.ModSeq
		}
		w.ModSeq = 0
	}
	return w, nil
}

// PostgresOptions configure a Postgres hub.
type PostgresOptions struct {
	// DSN is the database all the nodes share.
	DSN string
	// Node names this node (NewNodeID when empty); the hub ignores its
	// own events when the server echoes them.
	Node   string
	Logger *slog.Logger
}

// NewPostgres connects a publisher and a listener to the database.
// The listener reconnects by itself when the connection drops; the events
// sent meanwhile are lost, which sessions tolerate (see the package doc).
func NewPostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Node == "" {
		o.Node = NewNodeID()
	}
	p := &Postgres{local: NewLocal(), node: o.Node, dsn: o.DSN, log: log, done: make(chan struct{}),
		queue: make(chan []byte, publishQueue), closing: make(chan struct{}), pubDone: make(chan struct{})}
	lc, err := p.listen(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(lctx, lc)
	go p.publish()
	return p, nil
}

func (p *Postgres) listen(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return nil, fmt.Errorf("notify: connect: %w", err)
	}
	if _, err := c.Exec(ctx, "LISTEN "+channel); err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("notify: listen: %w", err)
	}
	return c, nil
}

func (p *Postgres) run(ctx context.Context, c *pgx.Conn) {
	defer close(p.done)
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			c.Close(context.Background())
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("notify: listener lost its connection; reconnecting", "err", err)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if c, err = p.listen(ctx); err == nil {
					// Anything may have changed while we were away.
					p.local.Dispatch(Event{Kind: AccessChanged})
					break
				}
			}
			continue
		}
		w, err := decode([]byte(n.Payload))
		if err != nil {
			p.log.Warn("notify: bad payload", "payload", n.Payload, "err", err)
			continue
		}
		if w.Node == p.node {
			continue
		}
		p.local.Dispatch(w.Event)
	}
}

// Publish implements Hub: local subscribers get e before Publish returns;
// the other nodes get it through the publisher, without Publish waiting
// for the database. It returns the failure of the publisher's last send
// (the connection is down) until a send succeeds again.
func (p *Postgres) Publish(ctx context.Context, e Event) error {
	p.local.Dispatch(e)
	payload, err := encode(p.node, e)
	if err != nil {
		return err
	}
	select {
	case <-p.closing:
		return errors.New("notify: the hub is closed")
	default:
	}
	select {
	case p.queue <- payload:
	case <-p.closing:
		return errors.New("notify: the hub is closed")
	case <-ctx.Done():
		return fmt.Errorf("notify: publish: %w", ctx.Err())
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.pubErr
}

// publish is the publisher goroutine: it sends the queued events, as many
// as have gathered (up to publishBatch) in one round trip, until Close;
// then it sends what is left.
func (p *Postgres) publish() {
	defer close(p.pubDone)
	defer func() {
		if p.pub != nil {
			p.pub.Close(context.Background())
		}
	}()
	batch := make([][]byte, 0, publishBatch)
	for {
		select {
		case payload := <-p.queue:
			p.send(p.gather(append(batch[:0], payload)))
		case <-p.closing:
			// What was published before Close still goes out.
			for b := p.gather(batch[:0]); len(b) > 0; b = p.gather(batch[:0]) {
				p.send(b)
			}
			return
		}
	}
}

// gather adds to batch the events waiting in the queue, up to
// publishBatch, without waiting for more.
func (p *Postgres) gather(batch [][]byte) [][]byte {
	for len(batch) < publishBatch {
		select {
		case payload := <-p.queue:
			batch = append(batch, payload)
		default:
			return batch
		}
	}
	return batch
}

// notifyMany sends each payload of $2 on channel $1, in the array's order,
// with one statement: one parse and one execution per batch rather than
// per event. The notifications of one statement are delivered together
// and in the order sent.
const notifyMany = `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`

// send sends a batch of payloads in one statement (notifyMany),
// connecting when needed and trying once more on a fresh connection. A
// batch that cannot be sent is lost and logged, as events are while a
// listener reconnects (see the package doc).
func (p *Postgres) send(batch [][]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if p.pub == nil || p.pub.IsClosed() {
			if p.pub, err = pgx.Connect(ctx, p.dsn); err != nil {
				p.pub = nil
				err = fmt.Errorf("notify: connect: %w", err)
				continue
			}
		}
		payloads := make([]string, len(batch))
		for i, payload := range batch {
			payloads[i] = string(payload)
		}
		if _, err = p.pub.Exec(ctx, notifyMany, channel, payloads); err == nil {
			break
		}
		err = fmt.Errorf("notify: publish: %w", err)
		p.pub.Close(context.Background())
		p.pub = nil
	}
	if err != nil {
		p.log.Warn("notify: events for the other nodes lost", "events", len(batch), "err", err)
	}
	p.errMu.Lock()
	p.pubErr = err
	p.errMu.Unlock()
}

// Subscribe implements Hub.
func (p *Postgres) Subscribe(mailboxID int64, fn func(Event)) func() {
	return p.local.Subscribe(mailboxID, fn)
}

// Close stops the listener, and the publisher once it has sent what was
// published before.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		<-p.done
		close(p.closing)
		<-p.pubDone
	})
	return nil
}
