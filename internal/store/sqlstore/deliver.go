package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// maxGroup bounds how many deliveries share one commit.
const maxGroup = 64

type deliveryReq struct {
	mailboxIDs []int64
	msg        *store.NewMessage
	res        []store.Delivered
	err        error
	done       chan struct{}
}

var errClosed = errors.New("store closed")

// Deliver implements store.Mail. With group commit, concurrent deliveries
// wait in a queue and one goroutine writes as many as are waiting in one
// transaction, each under its own savepoint so that one failure does not
// fail the others; every caller returns only after that commit.
func (db *DB) Deliver(ctx context.Context, mailboxIDs []int64, msg store.NewMessage) ([]store.Delivered, error) {
	if len(mailboxIDs) == 0 {
		return nil, nil
	}
	if db.deliveries == nil {
		var out []store.Delivered
		err := db.write(ctx, nil, func(c conn) error {
			var err error
			out, err = deliver(ctx, c, mailboxIDs, &msg)
			return err
		})
		return out, err
	}
	req := &deliveryReq{mailboxIDs: mailboxIDs, msg: &msg, done: make(chan struct{})}
	select {
	case db.deliveries <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-db.done:
		return nil, errClosed
	}
	// Once queued, wait for the outcome even if ctx ends: answering early
	// would make the sender retry a message that may be committed.
	<-req.done
	return req.res, req.err
}

func (db *DB) committer() {
	defer db.wg.Done()
	for {
		var batch []*deliveryReq
		select {
		case r := <-db.deliveries:
			batch = append(batch, r)
		case <-db.done:
			// Refuse what is still queued.
			for {
				select {
				case r := <-db.deliveries:
					r.err = errClosed
					close(r.done)
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case r := <-db.deliveries:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.commitBatch(batch)
	}
}

func (db *DB) commitBatch(batch []*deliveryReq) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := db.write(ctx, nil, func(c conn) error {
		for _, r := range batch {
			r.res, r.err = nil, nil
			if len(batch) == 1 {
				r.res, r.err = deliver(ctx, c, r.mailboxIDs, r.msg)
				return r.err
			}
			if _, err := c.execDynamic(ctx, `SAVEPOINT delivery`); err != nil {
				return err
			}
			r.res, r.err = deliver(ctx, c, r.mailboxIDs, r.msg)
			if r.err != nil {
				if _, err := c.execDynamic(ctx, `ROLLBACK TO SAVEPOINT delivery`); err != nil {
					return err
				}
			}
			if _, err := c.execDynamic(ctx, `RELEASE SAVEPOINT delivery`); err != nil {
				return err
			}
		}
		return nil
	})
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.res, r.err = nil, fmt.Errorf("deliver: %w", err)
		}
		close(r.done)
	}
}
