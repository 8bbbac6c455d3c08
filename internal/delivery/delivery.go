// Package delivery takes mail in over LMTP (RFC 2033, for an MTA such as
// Postfix in front) and SMTP (inbound, local recipients only: no relaying),
// on github.com/emersion/go-smtp.
//
// A message is acknowledged (250) only after the transaction that stores it
// committed; it is stored once for all its recipients, byte-exact apart from
// line ends normalized to CRLF and the Return-Path and Received fields added
// on top. Malformed MIME is stored as it came and still delivered.
package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/connlimit"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/metrics"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Options configure a delivery server.
type Options struct {
	Store store.Store
	Hub   notify.Hub
	// Hostname names this server in greetings and Received fields.
	Hostname string
	// MaxMessageSize bounds a message (552 5.3.4 beyond).
	MaxMessageSize int64
	// MaxRecipients bounds recipients per transaction.
	MaxRecipients int
	Logger        *slog.Logger
	Metrics       *metrics.Metrics
	// Timeout is the read and write timeout of a connection.
	Timeout time.Duration
	// TLSConfig enables STARTTLS (RFC 3207); nil: none offered.
	TLSConfig *tls.Config

	// MaxConnsPerIP bounds the connections from one IP address (default
	// 100; negative: no limit); MaxConns bounds all connections (default
	// 10,000; negative: no limit). Over unix sockets only MaxConns applies.
	// A connection over a limit is answered 421 4.7.0 and closed.
	MaxConnsPerIP int
	MaxConns      int
	// IdleTimeout replaces Timeout while no mail transaction is under way
	// (before MAIL FROM and between messages), so that a client that sends
	// no mail does not hold its connection for long (default 60 s).
	IdleTimeout time.Duration
	// DataMemory bounds the octets of messages held in memory at once,
	// from the end of their transfer until they are stored (default
	// MaxMessageSize, at least 1 MiB): transfers beyond it wait their turn,
	// none is refused. A message larger than DataMemory is stored alone.
	// Memory, when set, is a budget shared with other servers and
	// DataMemory is not used.
	DataMemory int64
	Memory     *MemoryBudget
	// SpoolDir holds the messages being received that are larger than
	// SpoolAbove octets (default os.TempDir(); the files are unlinked as
	// soon as they are made). SpoolAbove defaults to 256 KiB.
	SpoolDir   string
	SpoolAbove int
}

// Server is an LMTP or SMTP server.
type Server struct {
	o       Options
	lmtp    bool
	proto   string
	srv     *smtp.Server
	closing atomic.Bool
	conns   tracker
	memory  *budget
	sub     Submission // nil: LMTP or inbound SMTP
}

// NewLMTP returns an LMTP server; NewSMTP an SMTP one.
func NewLMTP(o Options) *Server { return newServer(o, true) }

// NewSMTP returns an inbound SMTP server for local recipients.
func NewSMTP(o Options) *Server { return newServer(o, false) }

func newServer(o Options, lmtp bool) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxRecipients == 0 {
		o.MaxRecipients = 1000
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = time.Minute
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 100
	}
	if o.MaxConns == 0 {
		o.MaxConns = 10_000
	}
	if o.DataMemory <= 0 {
		o.DataMemory = max(o.MaxMessageSize, 1<<20)
	}
	if o.SpoolAbove <= 0 {
		o.SpoolAbove = 256 << 10
	}
	s := &Server{o: o, lmtp: lmtp, proto: "smtp", memory: o.Memory}
	if s.memory == nil {
		s.memory = newBudget(o.DataMemory)
	}
	s.conns.limits = connlimit.New(o.MaxConnsPerIP, o.MaxConns)
	s.conns.idle = min(o.IdleTimeout, o.Timeout)
	s.conns.log = o.Logger
	if lmtp {
		s.proto = "lmtp"
	}
	srv := smtp.NewServer(backend{s})
	srv.LMTP = lmtp
	srv.Domain = o.Hostname
	srv.MaxMessageBytes = o.MaxMessageSize
	srv.MaxRecipients = o.MaxRecipients
	srv.ReadTimeout = o.Timeout
	srv.WriteTimeout = o.Timeout
	srv.EnableSMTPUTF8 = true
	srv.TLSConfig = o.TLSConfig
	// RFC 5321 allows 1,000 octets per line, but real mail (minified HTML)
	// has longer ones, and refusing it helps nobody; the size limit still
	// bounds the whole message.
	srv.MaxLineLength = 1 << 20
	srv.ErrorLog = slogLogger{o.Logger.With("proto", s.proto)}
	s.srv = srv
	return s
}

type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.l.Error(fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.l.Error(fmt.Sprint(v...)) }

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(s.conns.listener(l))
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeTLS accepts connections on l under implicit TLS (submissions, port
// 465) until Shutdown.
func (s *Server) ServeTLS(l net.Listener, cfg *tls.Config) error {
	err := s.srv.Serve(tls.NewListener(s.conns.listener(l), cfg))
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and answers every session waiting for a command
// with 421 4.3.2 at once. Transactions under way may finish until ctx ends
// (a DATA completed by then is stored and answered 250); then those still
// under way are answered 421 4.3.2, nothing of them stored, and after a
// short answer window the remaining connections are closed. It returns
// ctx.Err() when it had to interrupt transactions.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	done := make(chan struct{})
	go func() {
		// Closes the listeners and waits for every connection to end.
		s.srv.Shutdown(context.Background())
		close(done)
	}()
	s.conns.stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.conns.cut()
	t := time.NewTimer(answerWindow)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.conns.closeAll()
		// A delivery committing now ends on its own; its answer is lost
		// and the client will retry (a duplicate at worst, never a loss).
	}
	return ctx.Err()
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	tc := trackedOf(c)
	tc.attach(c)
	if b.s.closing.Load() {
		tc.refused()
		return nil, errShuttingDown
	}
	ss := &session{s: b.s, conn: c, tc: tc, remote: c.Conn().RemoteAddr().String()}
	if b.s.sub != nil {
		ss.openSubmission(c)
	}
	return ss, nil
}

var (
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	errTemporary    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure storing the message, try again later"}
	// errStorageFull is RFC 5321 §4.2.3 452 "insufficient system storage"
	// with RFC 3463 X.3.1 "mail system full": temporary, so the sending MTA
	// keeps the message and retries once space is freed.
	errStorageFull = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient system storage, try again later"}
	// errMailboxFull is a recipient over its ProhibitSendReceiveQuota:
	// RFC 3463 X.2.2 "mailbox full", temporary (452, RFC 5321 §4.2.3), so
	// the sender retries while the user makes room, and bounces after its
	// queue lifetime, as Exchange's "mailbox full" does.
	errMailboxFull = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
)

// storeError maps a failed delivery to its SMTP/LMTP answer and the result
// counted in the metrics: the one place that decides it.
func storeError(err error) (*smtp.SMTPError, string) {
	if errors.Is(err, store.ErrStorageFull) {
		return errStorageFull, "storage_full"
	}
	if errors.Is(err, store.ErrOverQuota) {
		return errMailboxFull, "over_quota"
	}
	return errTemporary, "temporary_failure"
}

// recipient is one accepted RCPT.
type recipient struct {
	addr    string
	mailbox int64
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	tc     *trackedConn // tells Shutdown whether a transaction is under way
	remote string
	from   string
	rcpts  []recipient
	// sub is the submission state (nil on LMTP and inbound SMTP); outbound
	// are the accepted recipients that are not local.
	sub      SubmitSession
	outbound []string
	// size is what MAIL FROM declared with SIZE (RFC 1870), 0 if nothing.
	size int64
}

var _ smtp.LMTPSession = (*session)(nil)

func (ss *session) Reset() {
	ss.from = ""
	ss.rcpts = nil
	ss.outbound = nil
	ss.size = 0
	ss.tc.setTx(false, false)
}

func (ss *session) Logout() error {
	if ss.sub != nil {
		ss.sub.Close()
	}
	return nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.closing.Load() {
		ss.tc.refused()
		return errShuttingDown
	}
	if err := ss.kicked(); err != nil {
		return err
	}
	if ss.sub != nil {
		if err := ss.sub.Mail(from); err != nil {
			ss.s.o.Metrics.Delivery(ss.s.proto, "sender_refused")
			return err
		}
	}
	ss.from = from
	if opts != nil {
		ss.size = opts.Size
	}
	ss.tc.setTx(true, false)
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One query: the mailbox and, when it has a quota, its size.
	r, err := ss.s.o.Store.Recipient(ctx, to)
	var org store.OrgConfig
	if errors.Is(err, store.ErrNotFound) {
		// Only a miss needs the organization's domain (relay or unknown
		// user).
		if verr := ss.s.o.Store.View(ctx, func(tx store.Tx) error {
			var err error
			org, err = tx.OrgConfig(ctx)
			return err
		}); verr != nil {
			err = verr
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && ss.remoteRecipient(to, org.Domain):
		if err := ss.sub.Outbound(to); err != nil {
			ss.s.o.Metrics.Delivery(ss.s.proto, "relay_denied")
			return err
		}
		ss.outbound = append(ss.outbound, to)
		return nil
	case errors.Is(err, store.ErrNotFound):
		_, domain, _ := strings.Cut(to, "@")
		if !strings.EqualFold(domain, org.Domain) && org.Domain != "" {
			ss.s.o.Metrics.Delivery(ss.s.proto, "relay_denied")
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
				Message: fmt.Sprintf("Relaying denied: %s is not a local domain", domain)}
		}
		ss.s.o.Metrics.Delivery(ss.s.proto, "unknown_recipient")
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: fmt.Sprintf("Recipient address rejected: %s: user unknown", to)}
	case err != nil:
		ss.s.o.Logger.Error("recipient lookup", "rcpt", to, "err", err)
		return errTemporary
	}
	if err := ss.checkRoom(r); err != nil {
		return err
	}
	ss.rcpts = append(ss.rcpts, recipient{addr: to, mailbox: r.MailboxID})
	return nil
}

// checkRoom refuses at RCPT a recipient whose mailbox is full, or has no
// room for the size MAIL FROM declared, so that an SMTP transaction (one
// answer after DATA for everyone) rarely fails for one recipient. The
// store checks again, exactly, when the message is stored.
func (ss *session) checkRoom(r store.Recipient) error {
	limit, used := r.ProhibitSendReceive, r.Used
	if limit > 0 && (used >= limit || used+ss.size > limit) {
		ss.s.o.Metrics.Delivery(ss.s.proto, "over_quota")
		ss.s.o.Logger.Info("recipient over quota", "proto", ss.s.proto, "remote", ss.remote, "mailbox", r.MailboxID,
			"size", used, "limit", limit, "declared", ss.size)
		return errMailboxFull
	}
	return nil
}

// Data implements smtp.Session (SMTP: one answer for all recipients).
func (ss *session) Data(r io.Reader) error {
	msg, err := ss.read(r)
	if err != nil {
		return err
	}
	defer ss.s.memory.release(int64(len(msg.Raw)))
	if ss.sub != nil {
		return ss.submit(msg)
	}
	delivered, err := ss.store(ss.mailboxes(ss.rcpts), msg)
	ss.publish(delivered)
	return err
}

// submit stores a submitted message: for local recipients as LMTP does,
// then for the others in the outbound queue. The two are separate commits:
// should the second fail after the first, the client hears 451 and sends
// again, and the local recipients get the message twice (never none).
func (ss *session) submit(msg *store.NewMessage) error {
	if err := ss.kicked(); err != nil {
		return err
	}
	if err := ss.sub.Message(msg); err != nil {
		ss.s.o.Metrics.Delivery(ss.s.proto, "sender_refused")
		return err
	}
	if len(ss.rcpts) > 0 {
		delivered, err := ss.store(ss.mailboxes(ss.rcpts), msg)
		ss.publish(delivered)
		if err != nil {
			return err
		}
	}
	if len(ss.outbound) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ss.sub.Enqueue(ctx, ss.from, ss.outbound, stripReturnPath(msg.Raw)); err != nil {
		ss.s.o.Logger.Error("enqueue failed", "proto", ss.s.proto, "remote", ss.remote, "from", ss.from, "err", err)
		serr, result := storeError(err)
		ss.s.o.Metrics.Delivery(ss.s.proto, result)
		return serr
	}
	for range ss.outbound {
		ss.s.o.Metrics.Delivery(ss.s.proto, "queued")
	}
	ss.s.o.Logger.Info("queued", "proto", ss.s.proto, "remote", ss.remote, "from", ss.from, "recipients", len(ss.outbound),
		"size", len(msg.Raw))
	return nil
}

// kicked refuses a command of a session that the access rule ended.
func (ss *session) kicked() error {
	if ss.sub == nil {
		return nil
	}
	if reason := ss.tc.kickReason(); reason != "" {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: reason}
	}
	return nil
}

// LMTPData implements smtp.LMTPSession: one answer per recipient (RFC 2033
// §4.2). The message is stored for all recipients in one transaction; if
// that fails, each recipient is tried alone so that one bad recipient (a
// mailbox removed since RCPT) fails only itself.
//
// go-smtp writes each answer as soon as it is set and reads the client's
// next command only once LMTPData returns, so the new mail is announced
// (notify.Hub, on PostgreSQL a round trip to the database) after the
// answers are on their way: the client's next transaction overlaps it
// instead of waiting for it.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	msg, err := ss.read(r)
	if err != nil {
		return err
	}
	defer ss.s.memory.release(int64(len(msg.Raw)))
	delivered, err := ss.store(ss.mailboxes(ss.rcpts), msg)
	if err == nil || err == errStorageFull {
		// A full disk fails every recipient alike: trying each alone
		// would only write more.
		if err == nil {
			err = errDelivered
		}
		for _, rc := range ss.rcpts {
			status.SetStatus(rc.addr, err)
		}
		ss.publish(delivered)
		return nil
	}
	for _, rc := range ss.rcpts {
		d, err := ss.store([]int64{rc.mailbox}, msg)
		if err == nil {
			err = errDelivered
		}
		status.SetStatus(rc.addr, err)
		delivered = append(delivered, d...)
	}
	ss.publish(delivered)
	return nil
}

// errDelivered is the per-recipient LMTP answer for a committed delivery
// (RFC 2033 §4.2: 250 means delivered, not queued as go-smtp's default text
// says). go-smtp writes a status given as *SMTPError as it stands.
var errDelivered = &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Saved to INBOX"}

// mailboxes returns each mailbox once, however many of its addresses were
// given.
func (ss *session) mailboxes(rcpts []recipient) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, r := range rcpts {
		if !seen[r.mailbox] {
			seen[r.mailbox] = true
			out = append(out, r.mailbox)
		}
	}
	return out
}

// read reads the message and builds what will be stored: trace fields on
// top (RFC 5321 §4.4), CRLF line ends, the parse. The message is held in
// memory once (see spool.go); on success, its octets are taken from the
// server's memory budget, and the caller releases len(Raw) when stored.
func (ss *session) read(r io.Reader) (*store.NewMessage, error) {
	// Until Reset, after the answer: go-smtp may still read the rest of a
	// refused message.
	ss.tc.setTx(true, true)
	now := time.Now()
	sp := newSpool(ss.s.o.SpoolDir, ss.s.o.SpoolAbove, ss.traceFields(now))
	defer sp.close()
	if _, err := sp.readFrom(r); err != nil {
		var serr *smtp.SMTPError
		switch {
		case errors.As(err, &serr):
			ss.s.o.Metrics.Delivery(ss.s.proto, "too_large")
			return nil, serr
		case ss.s.closing.Load():
			// Shutdown cut the transfer: nothing is stored, and the
			// client is told to try again.
			ss.tc.refused()
			return nil, errShuttingDown
		case errors.Is(err, errSpool):
			ss.s.o.Logger.Error("spool failed", "proto", ss.s.proto, "remote", ss.remote, "err", err)
			ss.s.o.Metrics.Delivery(ss.s.proto, "storage_full")
			return nil, errStorageFull
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.o.Timeout)
	defer cancel()
	size := int64(sp.size())
	if err := ss.s.memory.acquire(ctx, size); err != nil {
		ss.s.o.Logger.Warn("no memory for the message in time", "proto", ss.s.proto, "remote", ss.remote, "size", size)
		ss.s.o.Metrics.Delivery(ss.s.proto, "temporary_failure")
		return nil, errTemporary
	}
	raw, err := sp.bytes()
	if err != nil {
		ss.s.memory.release(size)
		ss.s.o.Logger.Error("spool failed", "proto", ss.s.proto, "remote", ss.remote, "err", err)
		return nil, errTemporary
	}
	p := message.Parse(raw)
	return &store.NewMessage{
		InternalDate: now,
		Raw:          raw,
		Structure:    p.Marshal(),
		Summary: store.Summary{Subject: p.Subject(), From: p.From(), To: p.To(), Cc: p.Cc(),
			SentDate: p.Date()},
		Preview:    p.PreviewOf(raw),
		HasPreview: true,
		HasBinary:  p.HasBinary(),
	}, nil
}

// traceFields returns the Return-Path and Received fields put on top of a
// message (RFC 5321 §4.4).
func (ss *session) traceFields(now time.Time) []byte {
	var id [6]byte
	rand.Read(id[:])
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "Return-Path: <%s>\r\n", ss.from)
	helo := ss.conn.Hostname()
	host, _, _ := net.SplitHostPort(ss.remote)
	with := "ESMTP"
	if ss.s.lmtp {
		with = "LMTP"
	}
	if _, ok := ss.conn.TLSConnectionState(); ok {
		with += "S"
	}
	if ss.sub != nil && ss.sub.Authenticated() {
		with += "A" // RFC 3848: ESMTPA, ESMTPSA
	}
	fmt.Fprintf(&hdr, "Received: from %s ([%s])\r\n\tby %s (Gatehouse) with %s id %s", sanitize(helo), host, ss.s.o.Hostname, with, hex.EncodeToString(id[:]))
	if len(ss.rcpts)+len(ss.outbound) == 1 {
		to := ""
		if len(ss.rcpts) == 1 {
			to = ss.rcpts[0].addr
		} else {
			to = ss.outbound[0]
		}
		fmt.Fprintf(&hdr, "\r\n\tfor <%s>", sanitize(to))
	}
	fmt.Fprintf(&hdr, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	return hdr.Bytes()
}

// sanitize keeps client-given text from breaking the trace field.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '(' || r == ')' || r == '<' || r == '>' || r == ';' {
			return '_'
		}
		return r
	}, s)
}

// store stores the message for the mailboxes in one transaction and says
// where it went; the caller announces it with publish once answered.
func (ss *session) store(mailboxes []int64, msg *store.NewMessage) ([]store.Delivered, error) {
	// A message read in full during shutdown is stored: Shutdown lets
	// transactions under way finish.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	delivered, err := ss.s.o.Store.Deliver(ctx, mailboxes, *msg)
	if err != nil {
		level := slog.LevelError
		if errors.Is(err, store.ErrOverQuota) {
			// The user's own limit, not a server fault.
			level = slog.LevelInfo
		}
		ss.s.o.Logger.Log(ctx, level, "delivery failed", "proto", ss.s.proto, "remote", ss.remote, "from", ss.from, "mailboxes", mailboxes, "err", err)
		serr, result := storeError(err)
		for range mailboxes {
			ss.s.o.Metrics.Delivery(ss.s.proto, result)
		}
		return nil, serr
	}
	ss.s.o.Metrics.DeliveredBytes(len(msg.Raw))
	for range delivered {
		ss.s.o.Metrics.Delivery(ss.s.proto, "delivered")
	}
	ss.s.o.Logger.Info("delivered", "proto", ss.s.proto, "remote", ss.remote, "from", ss.from, "recipients", len(delivered),
		"size", len(msg.Raw))
	return delivered, nil
}

// publish tells the sessions of the mailboxes (IDLE, NOTIFY, on every
// node) about new mail.
func (ss *session) publish(delivered []store.Delivered) {
	if len(delivered) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, d := range delivered {
		ss.s.o.Hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: d.MailboxID, FolderID: d.FolderID, ModSeq: d.ModSeq})
	}
}
