package submission_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/oidctest"
)

// ehloLines sends EHLO and returns every line of the answer.
func (s *rawSession) ehloLines(t *testing.T) []string {
	t.Helper()
	if _, err := s.c.Write([]byte("EHLO client.test\r\n")); err != nil {
		t.Fatal(err)
	}
	s.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read EHLO answer: %v", err)
		}
		lines = append(lines, strings.TrimSpace(line))
		if strings.HasPrefix(line, "250 ") {
			return lines
		}
	}
}

func xoauth2(user, token string) string {
	return b64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// TestSubmissionSASL signs in to submission with every way the IMAP4 and
// POP3 servers offer (the one SASL layer): OAuth tokens from a local
// OpenID Connect issuer by XOAUTH2 and OAUTHBEARER, a refused token with
// RFC 7628's error challenge, and an authentication policy that blocks
// basic authentication for SMTP while OAuth still signs in.
func TestSubmissionSASL(t *testing.T) {
	is := oidctest.New(t)
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: is.Configure})
	addr := e.Addr("submissions")
	good := is.Sign(t, "k1", is.Claims(christa))

	s := dialSubmission(t, addr)
	ehlo := strings.Join(s.ehloLines(t), "\n")
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER") {
		t.Errorf("EHLO: got %q; want AUTH PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER", ehlo)
	}
	s.cmd(t, "AUTH XOAUTH2 "+xoauth2(christa, good), "235 ")
	s.cmd(t, "MAIL FROM:<"+christa+">", "250 ")

	// OAUTHBEARER (RFC 7628 §3.1): gs2 header, then the bearer token.
	s = dialSubmission(t, addr)
	s.cmd(t, "AUTH OAUTHBEARER "+b64("n,a="+christa+",\x01auth=Bearer "+good+"\x01\x01"), "235 ")

	// An expired token: the error challenge (a 334 with the JSON status),
	// the client's dummy response, then 535; the session goes on.
	expired := is.Claims(christa)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	s = dialSubmission(t, addr)
	s.cmd(t, "AUTH XOAUTH2 "+xoauth2(christa, is.Sign(t, "k1", expired)), "334 ")
	if got := s.cmd(t, "", "535 "); !strings.Contains(got, "5.7.8") {
		t.Errorf("expired token: got %q; want 535 5.7.8", got)
	}
	s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "235 ")

	// A malformed exchange is a syntax error, and the session goes on.
	s = dialSubmission(t, addr)
	s.cmd(t, "AUTH PLAIN "+b64("no-nul-at-all"), "501 ")
	s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "235 ")

	// A policy that blocks basic authentication for SMTP: the password
	// is refused after it was proved, the token still signs in.
	if _, err := e.Service.NewAuthenticationPolicy(ctx, orgAdmin, service.NewAuthenticationPolicyRequest{Name: "No basic SMTP",
		AllowBasicAuthPop: true, AllowBasicAuthImap: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.SetUserAuthenticationPolicy(ctx, orgAdmin, "Christa Knapp", "No basic SMTP", false); err != nil {
		t.Fatal(err)
	}
	s = dialSubmission(t, addr)
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, testenv.DemoPassword), "535 "); got != "535 5.7.139 Authentication unsuccessful, basic authentication is disabled." {
		t.Errorf("basic auth blocked: got %q", got)
	}
	if got := s.cmd(t, "AUTH PLAIN "+plain(christa, "wrong"), "535 "); !strings.Contains(got, "5.7.8") {
		t.Errorf("wrong password under the policy: got %q; want 535 5.7.8 (no hint before the password is proved)", got)
	}
	s.cmd(t, "AUTH XOAUTH2 "+xoauth2(christa, good), "235 ")
}
