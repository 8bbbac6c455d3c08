package pop3

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// memBackend is an in-memory Backend for the engine's unit tests only;
// the real store is tested through package pop3adapter.
type memBackend struct {
	mu      sync.Mutex
	users   map[string]*memUser
	locked  map[string]bool
	kicks   map[string]func(string)
	deletes map[string][][]int // Delete calls per user
	closes  int
	refused []LoginRequest // attempts refused for want of TLS
}

type memUser struct {
	password string
	msgs     []memMsg
	refuse   error // returned after a correct password
}

type memMsg struct{ uid, body string }

// fixtureMessages exercise dot-stuffing, 8-bit content, a last line without
// CRLF and a message that is all header.
var fixtureMessages = []memMsg{
	{"1001", "From: bob@example.com\r\nTo: alice@example.com\r\nSubject: Hello\r\n\r\nHi Alice,\r\n.hidden dot line\r\n..two dots\r\n.\r\nBye\r\n"},
	{"1002", "Subject: Gr\xc3\xbc\xc3\x9fe\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xff\xfe\r\nline 2\r\nline 3\r\n"},
	{"1005", "Subject: no final line end\r\n\r\nfirst line\r\nlast line without CRLF"},
	{"1009", "Subject: header only\r\n"},
}

func newMemBackend() *memBackend {
	return &memBackend{
		users: map[string]*memUser{
			"alice":        {password: "secret", msgs: slices.Clone(fixtureMessages)},
			"bob":          {password: "hunter2"},
			"spacey":       {password: "open sesame"},
			"disabled":     {password: "pw", refuse: &Error{Code: CodeSysPerm, Text: "POP3 access is disabled for this mailbox. Contact your administrator."}},
			"throttled":    {password: "pw", refuse: &Error{Code: CodeLoginDelay, Text: "Too many login attempts; wait a minute"}},
			"broken":       {password: "pw", refuse: errors.New("database is on fire")},
			"alice@in-use": {password: "secret"},
		},
		locked:  map[string]bool{"alice@in-use": true},
		kicks:   map[string]func(string){},
		deletes: map[string][][]int{},
	}
}

func (b *memBackend) Login(ctx context.Context, req LoginRequest) (Maildrop, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[req.Username]
	if !ok || u.password != req.Password {
		return nil, &Error{Code: CodeAuth, Text: "Invalid credentials"}
	}
	if u.refuse != nil {
		return nil, u.refuse
	}
	if b.locked[req.Username] {
		return nil, &Error{Code: CodeInUse, Text: "Another POP3 session is using this mailbox"}
	}
	b.locked[req.Username] = true
	b.kicks[req.Username] = req.Kick
	return &memMaildrop{b: b, user: req.Username, msgs: slices.Clone(u.msgs)}, nil
}

// LoginRefused implements RefusalRecorder.
func (b *memBackend) LoginRefused(ctx context.Context, req LoginRequest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refused = append(b.refused, req)
}

// kick calls the Kick function of the user's session.
func (b *memBackend) kick(user, reason string) {
	b.mu.Lock()
	k := b.kicks[user]
	b.mu.Unlock()
	k(reason)
}

func (b *memBackend) state(user string) (msgs []memMsg, deletes [][]int, locked bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.users[user].msgs), slices.Clone(b.deletes[user]), b.locked[user]
}

type memMaildrop struct {
	b    *memBackend
	user string
	msgs []memMsg
}

func (m *memMaildrop) Messages() []Message {
	out := make([]Message, len(m.msgs))
	for i, msg := range m.msgs {
		out[i] = Message{Size: int64(len(msg.body)), UID: msg.uid}
	}
	return out
}

func (m *memMaildrop) ReadBody(ctx context.Context, i int, off int64, p []byte) (int, error) {
	body := m.msgs[i].body
	if off >= int64(len(body)) {
		return 0, io.EOF
	}
	n := copy(p, body[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memMaildrop) Delete(ctx context.Context, idx []int) error {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	m.b.deletes[m.user] = append(m.b.deletes[m.user], idx)
	u := m.b.users[m.user]
	gone := map[string]bool{}
	for _, i := range idx {
		gone[m.msgs[i].uid] = true
	}
	u.msgs = slices.DeleteFunc(u.msgs, func(x memMsg) bool { return gone[x.uid] })
	return nil
}

func (m *memMaildrop) Close() {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	delete(m.b.locked, m.user)
	m.b.closes++
}

// testTLSConfig returns a server config with a fresh self-signed
// certificate for 127.0.0.1 and localhost.
func testTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

type serverConfig struct {
	tls         bool // configure TLS (STLS)
	implicitTLS bool // serve implicit TLS instead of plain
	remote      bool // treat the client as non-loopback
	opts        func(*Options)
}

// startServer serves be on 127.0.0.1:0 until the test ends and returns the
// server and its address.
func startServer(t testing.TB, be Backend, cfg serverConfig) (*Server, string) {
	t.Helper()
	opts := Options{Backend: be}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.tls || cfg.implicitTLS {
		opts.TLSConfig = testTLSConfig(t)
	}
	if cfg.opts != nil {
		cfg.opts(&opts)
	}
	srv := NewServer(opts)
	if cfg.remote {
		srv.isLoopback = func(net.Addr) bool { return false }
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		if cfg.implicitTLS {
			done <- srv.ServeTLS(l)
		} else {
			done <- srv.Serve(l)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v; want ErrServerClosed", err)
		}
	})
	return srv, l.Addr().String()
}
