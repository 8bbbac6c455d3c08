package backend

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Recorder writes login records in batches off the login path, so that
// recording never slows a login: records queue in a bounded buffer (when it
// is full, records are dropped and counted), and one goroutine writes them
// every FlushEvery or when a batch is full. A crash loses at most the
// records of the last interval; it never loses mail.
type Recorder struct {
	st  store.Store
	log *slog.Logger
	m   *metrics.Metrics
	o   RecorderOptions

	ch      chan store.LoginRecord
	flushes chan chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	FlushEvery time.Duration // default 1s
	Queue      int           // default 10,000
	Batch      int           // default 500
	// Retention is how long records are kept; older ones are pruned every
	// PruneEvery (default 90 days, every hour). Zero Retention keeps all.
	Retention  time.Duration
	PruneEvery time.Duration
	Logger     *slog.Logger
	Metrics    *metrics.Metrics
}

// NewRecorder starts a recorder.
func NewRecorder(st store.Store, o RecorderOptions) *Recorder {
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 10_000
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, log: o.Logger, m: o.Metrics, o: o, ch: make(chan store.LoginRecord, o.Queue),
		flushes: make(chan chan struct{}), stop: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

// Add queues one record; it never blocks.
func (r *Recorder) Add(rec store.LoginRecord) {
	select {
	case r.ch <- rec:
	default:
		r.m.LoginRecordDropped()
	}
}

// Close writes what is queued and stops.
func (r *Recorder) Close() {
	close(r.stop)
	r.wg.Wait()
}

func (r *Recorder) run() {
	defer r.wg.Done()
	tick := time.NewTicker(r.o.FlushEvery)
	defer tick.Stop()
	prune := time.NewTicker(r.o.PruneEvery)
	defer prune.Stop()
	r.prune()
	var batch []store.LoginRecord
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.st.InsertLoginRecords(ctx, batch); err != nil {
			r.log.Error("login records lost", "n", len(batch), "err", err)
		}
		// The admin lists show the last use per protocol; one update per
		// mailbox and protocol per batch.
		type key struct {
			id    int64
			proto string
		}
		last := map[key]time.Time{}
		for _, rec := range batch {
			if rec.Result == store.LoginSuccess && rec.MailboxID != 0 {
				k := key{rec.MailboxID, rec.Protocol}
				if rec.Time.After(last[k]) {
					last[k] = rec.Time
				}
			}
		}
		for k, t := range last {
			if err := r.st.SetLastLogon(ctx, k.id, k.proto, t); err != nil {
				r.log.Error("set last logon", "mailbox", k.id, "err", err)
			}
		}
		batch = batch[:0]
	}
	for {
		select {
		case rec := <-r.ch:
			batch = append(batch, rec)
			if len(batch) >= r.o.Batch {
				flush()
			}
		case <-tick.C:
			flush()
		case <-prune.C:
			r.prune()
		case done := <-r.flushes:
			for len(r.ch) > 0 {
				batch = append(batch, <-r.ch)
			}
			flush()
			close(done)
		case <-r.stop:
			for {
				select {
				case rec := <-r.ch:
					batch = append(batch, rec)
				default:
					flush()
					return
				}
			}
		}
	}
}

func (r *Recorder) prune() {
	if r.o.Retention <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := r.st.PruneLoginRecords(ctx, time.Now().Add(-r.o.Retention))
	if err != nil {
		r.log.Error("prune login records", "err", err)
	} else if n > 0 {
		r.log.Info("pruned login records", "n", n, "retention", r.o.Retention)
	}
}

// Flush writes every record queued so far before it returns.
func (r *Recorder) Flush() {
	done := make(chan struct{})
	select {
	case r.flushes <- done:
		<-done
	case <-r.stop:
	}
}
