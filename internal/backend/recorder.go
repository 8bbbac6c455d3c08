package backend

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Recorder writes login records in batches off the login path, so that
// recording never slows a login. Records wait in a bounded buffer (Queue,
// default 10,000) and one goroutine writes them every FlushEvery or when a
// batch is full. When the store refuses them (a PostgreSQL outage, a full
// disk), they stay in the buffer and are written once it takes them again,
// retried with backoff; when the buffer is full, the oldest records are
// dropped, counted in the metrics and in a warning. Close writes what is
// left. A crash loses what the buffer holds; it never loses mail.
//
// A batch whose commit succeeded but whose answer was lost (the connection
// broke at that moment) is written again: a record may be doubled, never
// silently lost.
type Recorder struct {
	st  store.Store
	log *slog.Logger
	m   *metrics.Metrics
	o   RecorderOptions

	mu      sync.Mutex
	buf     []store.LoginRecord // oldest first
	first   uint64              // number of buf[0]: records are numbered as added
	dropped int                 // since the last warning

	wake    chan struct{} // a batch is full
	flushes chan chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	FlushEvery time.Duration // default 1s
	Queue      int           // records kept at most; default 10,000
	Batch      int           // default 500
	// RetryMax bounds the wait between attempts while the store refuses
	// records (default 30s; the first retry comes after FlushEvery).
	RetryMax time.Duration
	// CloseTimeout bounds how long Close keeps trying to write what is
	// left (default 10s).
	CloseTimeout time.Duration
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
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 10 * time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, log: o.Logger, m: o.Metrics, o: o, wake: make(chan struct{}, 1),
		flushes: make(chan chan struct{}), stop: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

// Add queues one record; it never blocks. When the buffer is full, the
// oldest record makes room. The texts a client chose are capped to
// auth.MaxNameLen octets of valid UTF-8 without control characters: one
// record costs little, and none can make the store refuse its batch (a NUL
// in PostgreSQL text) and so hold back every record behind it.
func (r *Recorder) Add(rec store.LoginRecord) {
	rec.Username = auth.CapName(rec.Username)
	rec.RemoteAddr = auth.CapName(rec.RemoteAddr)
	rec.ClientName = auth.CapName(rec.ClientName)
	rec.ClientVersion = auth.CapName(rec.ClientVersion)
	r.mu.Lock()
	if len(r.buf) >= r.o.Queue {
		r.buf[0] = store.LoginRecord{}
		r.buf = r.buf[1:]
		r.first++
		r.dropped++
		r.m.LoginRecordDropped()
	}
	r.buf = append(r.buf, rec)
	n := len(r.buf)
	r.mu.Unlock()
	r.m.LoginRecordsPending(n)
	if n >= r.o.Batch {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Close writes what is buffered, trying for CloseTimeout at most, and
// stops; what it could not write is counted and logged as lost.
func (r *Recorder) Close() {
	close(r.stop)
	r.wg.Wait()
}

// Flush tries once to write every record buffered so far before it
// returns, even while retries are backing off.
func (r *Recorder) Flush() {
	done := make(chan struct{})
	select {
	case r.flushes <- done:
		<-done
	case <-r.stop:
	}
}

// Pending returns how many records wait to be written.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buf)
}

func (r *Recorder) run() {
	defer r.wg.Done()
	tick := time.NewTicker(r.o.FlushEvery)
	defer tick.Stop()
	prune := time.NewTicker(r.o.PruneEvery)
	defer prune.Stop()
	r.prune()
	var (
		failing   bool // the last write failed
		delay     time.Duration
		nextRetry time.Time
	)
	// write writes the buffer batch by batch until it is empty or the
	// store refuses; it reports whether it emptied the buffer.
	write := func(ctx context.Context) bool {
		r.warnDropped()
		for {
			r.mu.Lock()
			batch := slices.Clone(r.buf[:min(len(r.buf), r.o.Batch)])
			end := r.first + uint64(len(batch))
			r.mu.Unlock()
			if len(batch) == 0 {
				return true
			}
			if err := r.insert(ctx, batch); err != nil {
				if !failing {
					delay = r.o.FlushEvery
				} else {
					delay = min(2*delay, r.o.RetryMax)
				}
				failing = true
				nextRetry = time.Now().Add(delay)
				r.log.Warn("login records not written; kept for a retry", "pending", r.Pending(), "retry_in", delay, "err", err)
				return false
			}
			if failing {
				failing = false
				r.log.Info("login records written again after a failure", "pending", r.Pending()-len(batch))
			}
			r.remove(end)
		}
	}
	attempt := func(force bool) {
		if failing && !force && time.Now().Before(nextRetry) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		write(ctx)
	}
	for {
		select {
		case <-r.wake:
			attempt(false)
		case <-tick.C:
			attempt(false)
		case <-prune.C:
			r.prune()
		case done := <-r.flushes:
			attempt(true)
			close(done)
		case <-r.stop:
			ctx, cancel := context.WithTimeout(context.Background(), r.o.CloseTimeout)
			for !write(ctx) && ctx.Err() == nil {
				select {
				case <-time.After(min(time.Until(nextRetry), time.Second)):
				case <-ctx.Done():
				}
			}
			cancel()
			if n := r.Pending(); n > 0 {
				r.m.LoginRecordsLost(n)
				r.log.Error("login records lost at shutdown: the store did not take them", "n", n)
			}
			return
		}
	}
}

// insert writes one batch and then the last use per mailbox and protocol
// that the admin lists show. The records are what matters: a failed
// last-use update is only logged.
func (r *Recorder) insert(ctx context.Context, batch []store.LoginRecord) error {
	if err := r.st.InsertLoginRecords(ctx, batch); err != nil {
		return err
	}
	type key struct {
		id    int64
		proto string
	}
	last := map[key]time.Time{}
	for _, rec := range batch {
		// The mailbox keeps the last POP3 and IMAP4 use; the last
		// authenticated SMTP use is in the login records only.
		if rec.Result == store.LoginSuccess && rec.MailboxID != 0 && rec.Protocol != string(access.SMTP) {
			k := key{rec.MailboxID, rec.Protocol}
			if rec.Time.After(last[k]) {
				last[k] = rec.Time
			}
		}
	}
	for k, t := range last {
		if err := r.st.SetLastLogon(ctx, k.id, k.proto, t); err != nil {
			r.log.Warn("set last logon", "mailbox", k.id, "err", err)
		}
	}
	return nil
}

// remove drops the written records, numbered below end, from the head
// of the buffer; some of them may have been dropped as oldest meanwhile.
func (r *Recorder) remove(end uint64) {
	r.mu.Lock()
	if end > r.first {
		n := min(int(end-r.first), len(r.buf))
		clear(r.buf[:n])
		r.buf = r.buf[n:]
		r.first += uint64(n)
	}
	left := len(r.buf)
	r.mu.Unlock()
	r.m.LoginRecordsPending(left)
}

func (r *Recorder) warnDropped() {
	r.mu.Lock()
	n := r.dropped
	r.dropped = 0
	r.mu.Unlock()
	if n > 0 {
		r.log.Warn("login records dropped: the buffer was full while the store did not take them", "n", n, "buffer", r.o.Queue)
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
