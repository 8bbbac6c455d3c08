package submission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// RunnerOptions configure the queue runner.
type RunnerOptions struct {
	Store store.Store
	Hub   notify.Hub
	// Smarthost is host:port of the relay all outbound mail goes to. Empty:
	// messages stay queued (each attempt fails with "no smarthost").
	Smarthost string
	// Username and Password sign in to the smarthost (AUTH PLAIN, only
	// over TLS) when Username is set.
	Username, Password string
	// TLS configures STARTTLS to the smarthost, used whenever it is
	// offered; nil: verify the smarthost's certificate against the system
	// roots for its host name.
	TLS *tls.Config
	// RequireTLS refuses to send (a temporary failure) to a smarthost
	// that offers no STARTTLS.
	RequireTLS bool
	// Hostname is the name in EHLO and in delivery status notifications.
	Hostname string
	// Holder names this runner in the queue's leases (the node ID).
	Holder string
	// Interval is how often the queue is looked at when nothing wakes the
	// runner (default 30 s); RetryBase the first wait after a temporary
	// failure, doubled at each further one up to RetryMax (defaults 1 min
	// and 1 h); Lease how long a claimed message is the runner's (default
	// 10 min, longer than an attempt may take).
	Interval, RetryBase, RetryMax, Lease time.Duration
	// Timeout bounds each SMTP command to the smarthost (default 2 min).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Runner sends queued messages to the smarthost.
type Runner struct {
	o    RunnerOptions
	wake chan struct{}
	wg   sync.WaitGroup
}

// NewRunner returns a runner; Start runs it.
func NewRunner(o RunnerOptions) *Runner {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	return &Runner{o: o, wake: make(chan struct{}, 1)}
}

// Wake makes the runner look at the queue now (a message was queued or
// retried). It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start runs the runner until ctx ends; Wait waits for it to stop.
func (r *Runner) Start(ctx context.Context) {
	r.wg.Go(func() { r.loop(ctx) })
}

// Wait returns when the runner stopped (after ctx of Start ended). An
// attempt under way is cut; its message stays leased until the lease
// lapses and is then sent again (a duplicate only if the smarthost had
// taken it).
func (r *Runner) Wait() { r.wg.Wait() }

func (r *Runner) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		for r.RunOnce(ctx) > 0 && ctx.Err() == nil {
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(r.o.Interval)
	}
}

// RunOnce claims the messages due now and makes one attempt at each; it
// returns how many it handled.
func (r *Runner) RunOnce(ctx context.Context) int {
	msgs, err := r.o.Store.ClaimOutbound(ctx, r.o.Holder, time.Now(), r.o.Lease, 10)
	if err != nil {
		if ctx.Err() == nil {
			r.o.Logger.Error("outbound queue: claim", "err", err)
		}
		return 0
	}
	for _, m := range msgs {
		if ctx.Err() != nil {
			return len(msgs)
		}
		r.attempt(ctx, m)
	}
	return len(msgs)
}

// failure is a recipient's failed attempt.
type failure struct {
	rcpt      string
	permanent bool
	code      int
	enhanced  smtp.EnhancedCode
	text      string
}

func (f failure) String() string {
	if f.code == 0 {
		return f.text
	}
	return fmt.Sprintf("%d %d.%d.%d %s", f.code, f.enhanced[0], f.enhanced[1], f.enhanced[2], f.text)
}

// failOf classifies an error of the SMTP client: an answer of the
// smarthost (5xx permanent, else temporary) or a failure to talk to it
// (temporary).
func failOf(rcpt string, err error) failure {
	var se *smtp.SMTPError
	var lf localFault
	if errors.As(err, &lf) {
		return failure{rcpt: rcpt, text: lf.Error()}
	}
	if errors.As(err, &se) {
		return failure{rcpt: rcpt, permanent: se.Code >= 500 && se.Code < 600, code: se.Code, enhanced: se.EnhancedCode, text: se.Message}
	}
	return failure{rcpt: rcpt, text: err.Error()}
}

// localFault is a failure of this server's side of the relay (the
// smarthost refused our AUTH or TLS): temporary whatever its code, since
// the recipient is not at fault and an administrator can fix it.
type localFault struct {
	what string
	err  error
}

func (f localFault) Error() string {
	var se *smtp.SMTPError
	if errors.As(f.err, &se) {
		return fmt.Sprintf("%s: %d %d.%d.%d %s", f.what, se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
	}
	return f.what + ": " + f.err.Error()
}

func (f localFault) Unwrap() error { return f.err }

// attempt sends one message and records the outcome: gone from the queue
// when every recipient was taken or failed for good (its sender told in a
// DSN), else kept for the recipients that failed for now.
func (r *Runner) attempt(ctx context.Context, m store.OutboundMessage) {
	log := r.o.Logger.With("queue_id", m.ID, "from", m.From)
	fails := r.send(ctx, m)
	if ctx.Err() != nil {
		return // the lease lapses; the next runner tries again
	}
	now := time.Now()
	var permanent, temporary []failure
	for _, f := range fails {
		if f.permanent {
			permanent = append(permanent, f)
		} else {
			temporary = append(temporary, f)
		}
	}
	next := now.Add(r.backoff(m.RetryCount))
	if len(temporary) > 0 && !next.Before(m.Expires) {
		// Out of time: these fail for good too.
		for _, f := range temporary {
			f.permanent = true
			f.text = fmt.Sprintf("the message could not be delivered before it expired (%s); last error: %s",
				m.Expires.Format(time.RFC1123Z), f)
			f.code = 0
			permanent = append(permanent, f)
		}
		temporary = nil
	}
	if len(permanent) > 0 {
		if err := r.notify(ctx, m, permanent, now); err != nil {
			log.Error("outbound queue: delivery status notification not stored; trying again later", "err", err)
			r.defer_(ctx, m, m.Recipients, now.Add(r.o.RetryBase), "cannot store the delivery status notification: "+err.Error())
			return
		}
		for _, f := range permanent {
			log.Warn("outbound: recipient failed", "rcpt", f.rcpt, "error", f.String())
		}
	}
	if len(temporary) > 0 {
		remaining := make([]string, len(temporary))
		for i, f := range temporary {
			remaining[i] = f.rcpt
		}
		log.Info("outbound: deferred", "recipients", len(remaining), "retry", m.RetryCount+1, "next", next, "error", temporary[0].String())
		r.defer_(ctx, m, remaining, next, temporary[0].String())
		return
	}
	if ok, err := r.o.Store.CompleteOutbound(ctx, m.ID, r.o.Holder); err != nil {
		log.Error("outbound queue: complete", "err", err)
	} else if !ok {
		log.Warn("outbound queue: message removed or taken over during the attempt")
	}
	log.Info("outbound: done", "recipients", len(m.Recipients), "failed", len(permanent))
}

func (r *Runner) defer_(ctx context.Context, m store.OutboundMessage, remaining []string, next time.Time, lastErr string) {
	if _, err := r.o.Store.DeferOutbound(ctx, m.ID, r.o.Holder, store.OutboundDeferral{Remaining: remaining, NextRetry: next, LastError: lastErr}); err != nil {
		r.o.Logger.Error("outbound queue: defer", "queue_id", m.ID, "err", err)
	}
}

// backoff is the wait after the retry-th failed attempt: exponential from
// RetryBase, at most RetryMax.
func (r *Runner) backoff(retry int) time.Duration {
	d := r.o.RetryBase
	for range min(retry, 30) {
		d *= 2
		if d >= r.o.RetryMax {
			return r.o.RetryMax
		}
	}
	return min(d, r.o.RetryMax)
}

// send makes one attempt and returns the recipients that failed.
func (r *Runner) send(ctx context.Context, m store.OutboundMessage) []failure {
	all := func(err error) []failure {
		out := make([]failure, len(m.Recipients))
		for i, rc := range m.Recipients {
			out[i] = failOf(rc, err)
		}
		return out
	}
	if r.o.Smarthost == "" {
		return all(errors.New("no smarthost is configured (--smarthost)"))
	}
	c, tlsOn, err := r.dial(ctx)
	if err != nil {
		return all(err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if !tlsOn && r.o.RequireTLS {
		return all(errors.New("the smarthost offers no STARTTLS and TLS is required (--smarthost-tls)"))
	}
	if r.o.Username != "" {
		if !tlsOn {
			return all(errors.New("not sending the smarthost password without TLS"))
		}
		if err := c.Auth(sasl.NewPlainClient("", r.o.Username, r.o.Password)); err != nil {
			return all(localFault{"AUTH at the smarthost", err})
		}
	}
	if err := c.Mail(m.From, &smtp.MailOptions{Size: int64(len(m.Data))}); err != nil {
		return all(err)
	}
	var fails []failure
	accepted := 0
	for _, rc := range m.Recipients {
		if err := c.Rcpt(rc, nil); err != nil {
			fails = append(fails, failOf(rc, err))
			continue
		}
		accepted++
	}
	if accepted == 0 {
		c.Reset()
		c.Quit()
		return fails
	}
	w, err := c.Data()
	if err == nil {
		if _, err = w.Write(m.Data); err == nil {
			err = w.Close()
		}
	}
	if err != nil {
		// The answer to DATA covers every accepted recipient.
		failed := map[string]bool{}
		for _, f := range fails {
			failed[f.rcpt] = true
		}
		for _, rc := range m.Recipients {
			if !failed[rc] {
				fails = append(fails, failOf(rc, err))
			}
		}
		return fails
	}
	c.Quit()
	return fails
}

// dial connects to the smarthost, under STARTTLS when it offers it.
// go-smtp's client starts TLS only right after the greeting
// (NewClientStartTLS, which says EHLO localhost); a smarthost that offers
// no STARTTLS costs a second connection, in plaintext.
func (r *Runner) dial(ctx context.Context) (*smtp.Client, bool, error) {
	d := net.Dialer{Timeout: r.o.Timeout}
	connect := func() (net.Conn, error) {
		nc, err := d.DialContext(ctx, "tcp", r.o.Smarthost)
		if err != nil {
			return nil, fmt.Errorf("cannot reach the smarthost %s: %w", r.o.Smarthost, err)
		}
		nc.SetDeadline(time.Now().Add(r.o.Timeout))
		return nc, nil
	}
	nc, err := connect()
	if err != nil {
		return nil, false, err
	}
	cfg := r.o.TLS
	if cfg == nil {
		host, _, _ := net.SplitHostPort(r.o.Smarthost)
		cfg = &tls.Config{ServerName: host}
	}
	c, err := smtp.NewClientStartTLS(nc, cfg)
	if err == nil {
		nc.SetDeadline(time.Time{})
		r.timeouts(c)
		return c, true, nil
	}
	if !strings.Contains(err.Error(), "doesn't support STARTTLS") {
		return nil, false, localFault{"STARTTLS to the smarthost", err}
	}
	if nc, err = connect(); err != nil {
		return nil, false, err
	}
	nc.SetDeadline(time.Time{})
	c = smtp.NewClient(nc)
	r.timeouts(c)
	if err := c.Hello(r.o.Hostname); err != nil {
		c.Close()
		return nil, false, err
	}
	return c, false, nil
}

func (r *Runner) timeouts(c *smtp.Client) {
	c.CommandTimeout = r.o.Timeout
	c.SubmissionTimeout = r.o.Timeout
}
