package submission_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/submission"
)

// authHost is a smarthost inside the unit test (go-smtp): STARTTLS, and
// mail only after AUTH PLAIN with its one user. The end-to-end tests use
// Postfix; this one covers the runner's AUTH, which the Postfix of the
// tests does not ask for.
type authHost struct {
	user, pass string
	mu         sync.Mutex
	got        []string // "from to: data"
}

func (h *authHost) NewSession(*smtp.Conn) (smtp.Session, error) { return &authSess{h: h}, nil }

type authSess struct {
	h      *authHost
	authed bool
	from   string
	to     []string
}

func (s *authSess) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSess) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != s.h.user || p != s.h.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *authSess) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *authSess) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *authSess) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.h.mu.Lock()
	s.h.got = append(s.h.got, s.from+" "+strings.Join(s.to, ",")+": "+string(b))
	s.h.mu.Unlock()
	return err
}
func (s *authSess) Reset()        { s.from, s.to = "", nil }
func (s *authSess) Logout() error { return nil }

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smarthost.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestRunnerAuth: the runner signs in to a smarthost that asks for it (after
// STARTTLS), and a wrong password leaves the message queued with the
// smarthost's answer as LastError and a later NextRetry.
func TestRunnerAuth(t *testing.T) {
	h := &authHost{user: "relay", pass: "Relay-Pass-2026"}
	srv := smtp.NewServer(h)
	srv.Domain = "smarthost.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		name, pass string
		sent       bool
	}{{"wrong password", "nope", false}, {"right password", h.pass, true}} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := st.Enqueue(ctx, store.OutboundMessage{MailboxID: 1, From: "christa@contoso.com", Recipients: []string{"ok@fabrikam.com"},
				Data: []byte("Subject: " + tc.name + "\r\n\r\nx\r\n"), Expires: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			r := submission.NewRunner(submission.RunnerOptions{Store: st, Hub: notify.NewLocal(), Smarthost: l.Addr().String(),
				Username: "relay", Password: tc.pass, TLS: &tls.Config{InsecureSkipVerify: true}, RequireTLS: true, Holder: "test"})
			if n := r.RunOnce(ctx); n != 1 {
				t.Fatalf("RunOnce handled %d; want 1", n)
			}
			var m store.OutboundMessage
			err = st.View(ctx, func(tx store.Tx) error { m, err = tx.OutboundMessage(ctx, id); return err })
			if tc.sent {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("after a successful send: got %+v, %v; want it gone from the queue", m, err)
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if len(h.got) != 1 || !strings.HasPrefix(h.got[0], "christa@contoso.com ok@fabrikam.com: Subject: right password") {
					t.Errorf("the smarthost got %q", h.got)
				}
				return
			}
			if err != nil || m.RetryCount != 1 || !strings.Contains(m.LastError, "535 5.7.8") || !m.NextRetry.After(time.Now()) {
				t.Errorf("after a refused AUTH: got %+v, %v; want retry 1, LastError 535 5.7.8, a later NextRetry", m, err)
			}
			// Out of the way for the next case.
			st.Update(ctx, func(tx store.Tx) error { return tx.RemoveOutbound(ctx, id) })
		})
	}
}
