package imap_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/backend/imapadapter"
	"github.com/gatehouse-mail/gatehouse/internal/imap"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// fakeLogin stands in for the shared login flow (package backend): fixed
// passwords, access refusals by user name, kicks recorded.
type fakeLogin struct {
	mu       sync.Mutex
	accounts map[string]fakeAccount
	kicks    map[int64][]func(string)
	requests []imap.LoginRequest
	// refused holds the attempts refused for want of TLS.
	refused []imap.LoginRequest
	// light keeps no per-session records (memory measurements).
	light bool
}

type fakeAccount struct {
	password  string
	mailboxID int64
	denied    *access.Denied
}

// RefusedPlaintext records what the adapter passes on of a refusal.
func (f *fakeLogin) RefusedPlaintext(ctx context.Context, req *imap.LoginRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, *req)
}

func (f *fakeLogin) refusals() []imap.LoginRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]imap.LoginRequest(nil), f.refused...)
}

func (f *fakeLogin) Authenticate(ctx context.Context, req *imap.LoginRequest) (int64, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.light {
		r := *req
		r.Password = ""
		f.requests = append(f.requests, r)
	}
	a, ok := f.accounts[req.Username]
	if !ok || a.password != req.Password {
		return 0, nil, backend.ErrInvalidCredentials
	}
	if a.denied != nil {
		return 0, nil, a.denied
	}
	if !f.light {
		f.kicks[a.mailboxID] = append(f.kicks[a.mailboxID], req.Kick)
	}
	return a.mailboxID, func() {}, nil
}

// kick calls the Kick of every session of the mailbox.
func (f *fakeLogin) kick(mailboxID int64, reason string) {
	f.mu.Lock()
	ks := slices.Clone(f.kicks[mailboxID])
	f.mu.Unlock()
	for _, k := range ks {
		k(reason)
	}
}

// env is an IMAP server over a real SQLite store in t.TempDir().
type env struct {
	st    store.Store
	hub   *notify.Local
	login *fakeLogin
	srv   *imap.Server
	addr  string
	boxes map[string]int64
}

// testDate is the internal date of delivered test messages.
var testDate = time.Date(2024, 3, 14, 15, 9, 26, 0, time.UTC)

type envOptions struct {
	nonLoopback bool
	opts        imap.Options
	// wrap, when set, wraps the backend (to inject faults).
	wrap func(imap.Backend) imap.Backend
	log  *slog.Logger
	// bodyGrace is the store's grace for expunged messages' content
	// (its default when 0).
	bodyGrace time.Duration
}

func newEnv(t testing.TB, eo envOptions) *env {
	t.Helper()
	if testing.Verbose() && os.Getenv("IMAP_LOG") != "" {
		eo.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, cleanup, err := startEnv(t.TempDir(), eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return e
}

// startEnv starts a server over a store in dir; cleanup stops both.
func startEnv(dir string, eo envOptions) (e *env, cleanup func(), err error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"), sqlite.Options{BodyGrace: eo.bodyGrace})
	if err != nil {
		return nil, nil, err
	}
	e = &env{st: st, hub: notify.NewLocal(), boxes: map[string]int64{}}
	e.login = &fakeLogin{accounts: map[string]fakeAccount{}, kicks: map[int64][]func(string){}}
	for _, name := range []string{"alice", "bob", "carol"} {
		m := store.Mailbox{Name: name, DisplayName: name, Alias: name,
			PrimarySmtpAddress: name + "@example.com", UserPrincipalName: name + "@example.com",
			PopEnabled: true, ImapEnabled: true}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			st.Close()
			return nil, nil, err
		}
		e.boxes[name] = m.ID
		e.login.accounts[name] = fakeAccount{password: "pw-" + name, mailboxID: m.ID}
	}
	e.login.accounts["carol"] = fakeAccount{password: "pw-carol", mailboxID: e.boxes["carol"],
		denied: &access.Denied{Protocol: access.IMAP4, Reason: access.Disabled}}

	log := eo.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	be := imapadapter.New(imapadapter.Options{Mail: st, Hub: e.hub, Login: e.login, Logger: log})
	o := eo.opts
	o.Backend = be
	if eo.wrap != nil {
		o.Backend = eo.wrap(be)
	}
	o.Logger = log
	if o.TLSConfig == nil {
		if o.TLSConfig, err = newTLSConfig(); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	e.srv = imap.NewServer(o)
	if eo.nonLoopback {
		imap.SetLoopback(e.srv, false)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	go e.srv.Serve(l)
	e.addr = l.Addr().String()
	return e, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		st.Close()
	}, nil
}

// deliver puts a message into the INBOX of users, as LMTP would, and tells
// their sessions.
func (e *env) deliver(t testing.TB, raw []byte, users ...string) {
	t.Helper()
	e.deliverQuietly(t, raw, true, users...)
}

// deliverQuietly delivers; with publish false no event is sent, as when
// an event is lost.
func (e *env) deliverQuietly(t testing.TB, raw []byte, publish bool, users ...string) {
	t.Helper()
	ctx := context.Background()
	raw = message.Normalize(raw)
	msg := message.Parse(raw)
	var ids []int64
	for _, u := range users {
		ids = append(ids, e.boxes[u])
	}
	ds, err := e.st.Deliver(ctx, ids, store.NewMessage{
		InternalDate: testDate,
		Raw:          raw,
		Structure:    msg.Marshal(),
		Summary: store.Summary{Subject: msg.Subject(), From: msg.From(), To: msg.To(), Cc: msg.Cc(),
			SentDate: msg.Date()},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if !publish {
			break
		}
		e.hub.Publish(ctx, notify.Event{Kind: notify.FolderChanged, MailboxID: d.MailboxID, FolderID: d.FolderID, ModSeq: d.ModSeq})
	}
}

// testTLSConfig returns a TLS config with a fresh self-signed certificate.
func testTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	c, err := newTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTLSConfig() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}

func (f *fakeLogin) lastRequest() imap.LoginRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return imap.LoginRequest{}
	}
	return f.requests[len(f.requests)-1]
}

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// optsForFuzz keeps limits small so that fuzzing explores them.
func optsForFuzz() imap.Options {
	return imap.Options{MaxLineLength: 1000, MaxCommandSize: 4000, AppendLimit: 2000, MaxConnsPerIP: -1, MaxConnsPerMailbox: -1}
}

// setQuota sets a user's storage quotas.
func (e *env) setQuota(t *testing.T, user string, q store.MailboxQuota) {
	t.Helper()
	ctx := context.Background()
	if err := e.st.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxQuota(ctx, e.boxes[user], q, time.Now()) }); err != nil {
		t.Fatal(err)
	}
}
