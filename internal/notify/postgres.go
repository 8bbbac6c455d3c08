package notify

import (
	"context"
	"encoding/json"
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

	mu  sync.Mutex // guards pub
	pub *pgx.Conn

	cancel context.CancelFunc
	done   chan struct{}
}

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
	p := &Postgres{local: NewLocal(), node: o.Node, dsn: o.DSN, log: log, done: make(chan struct{})}
	lc, err := p.listen(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(lctx, lc)
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

// Publish implements Hub.
func (p *Postgres) Publish(ctx context.Context, e Event) error {
	p.local.Dispatch(e)
	payload, err := encode(p.node, e)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if p.pub == nil || p.pub.IsClosed() {
			if p.pub, err = pgx.Connect(ctx, p.dsn); err != nil {
				p.pub = nil
				return fmt.Errorf("notify: connect: %w", err)
			}
		}
		if _, err = p.pub.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload)); err == nil {
			return nil
		}
		p.pub.Close(context.Background())
		p.pub = nil
	}
	return fmt.Errorf("notify: publish: %w", err)
}

// Subscribe implements Hub.
func (p *Postgres) Subscribe(mailboxID int64, fn func(Event)) func() {
	return p.local.Subscribe(mailboxID, fn)
}

// Close stops the listener and the publisher.
func (p *Postgres) Close() error {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pub != nil {
		p.pub.Close(context.Background())
		p.pub = nil
	}
	return nil
}
