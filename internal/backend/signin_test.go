package backend_test

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/oidctest"
)

// Tests of issue 16 §3: SASL mechanisms and OAuth 2.0 sign-in on IMAP4 and
// POP3, through whole servers, with real clients (Python imaplib, curl) and
// a SCRAM client written here after RFC 5802.

func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s is not installed; scripts/test.sh should have installed it", prog)
		}
		t.Skipf("SKIPPED: %s is not installed; this test drives the real program (Debian package: see .ci/run)", prog)
	}
	return p
}

// TestOAuthSignIn signs in with bearer tokens from a local issuer over
// IMAP4 (Python imaplib, XOAUTH2 and OAUTHBEARER; curl --oauth2-bearer) and
// POP3 (curl --oauth2-bearer; raw AUTH), refuses every bad kind of token
// with the protocol's failure and a log line that says why, and never logs
// a token. Both engines.
func TestOAuthSignIn(t *testing.T) {
	py := need(t, "python3")
	curl := need(t, "curl")
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			is := oidctest.New(t)
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres", Configure: is.Configure})
			const user = "christa@contoso.com"
			good := is.Sign(t, "k1", is.Claims(user))

			// Capabilities name the OAuth mechanisms.
			l := dial(t, e.Addr("imap"))
			l.send("c CAPABILITY")
			if caps := l.read(); !strings.Contains(caps, "AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 AUTH=XOAUTH2 AUTH=OAUTHBEARER") {
				t.Errorf("IMAP4 capabilities: %s", caps)
			}
			p := dial(t, e.Addr("pop3"))
			p.send("CAPA")
			var capa []string
			for s := p.read(); s != "."; s = p.read() {
				capa = append(capa, s)
			}
			if !strings.Contains(strings.Join(capa, "\n"), "SASL PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER") {
				t.Errorf("POP3 CAPA: %q", capa)
			}

			py := func(mech, user, token string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				out, err := exec.CommandContext(ctx, py, "testdata/imaplib_oauth.py", e.Addr("imap"), mech, user, token).CombinedOutput()
				if err != nil {
					t.Fatalf("imaplib %s: %v\n%s", mech, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
				if got := py(mech, user, good); !strings.HasPrefix(got, "OK ") {
					t.Errorf("imaplib %s with a good token: %s", mech, got)
				}
			}

			curlRun := func(url, token string) (string, error) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				out, err := exec.CommandContext(ctx, curl, "-sS", "--oauth2-bearer", token, "--user", user+":", url).CombinedOutput()
				return string(out), err
			}
			if out, err := curlRun("imap://"+e.Addr("imap")+"/INBOX", good); err != nil || !strings.Contains(out, "EXISTS") && !strings.Contains(out, "* ") {
				// curl lists the folder's contents ("* LIST" / "* n EXISTS").
				t.Errorf("curl IMAP with a good token: %v\n%s", err, out)
			}
			if out, err := curlRun("pop3://"+e.Addr("pop3")+"/", good); err != nil || !strings.Contains(out, "1 ") {
				t.Errorf("curl POP3 with a good token: %v\n%s", err, out)
			}

			is.AddKey(t, "rogue", false)
			is.AddKey(t, "k2", false)
			bad := []struct {
				name, token, why string
			}{
				{"expired", is.Sign(t, "k1", with(is.Claims(user), "exp", time.Now().Add(-time.Hour).Unix())), "token expired"},
				{"wrong audience", is.Sign(t, "k1", with(is.Claims(user), "aud", "someone-else")), "audience"},
				{"wrong issuer", is.Sign(t, "k1", with(is.Claims(user), "iss", "https://evil.example")), "issued by a different provider"},
				{"unsigned", oidctest.Unsigned(is.Claims(user)), "malformed jwt"},
				{"bad signature", is.Sign(t, "rogue", is.Claims(user)), "failed to verify signature"},
				{"no email claim", is.Sign(t, "k1", with(is.Claims(user), "email", "")), "no email claim"},
				{"unknown mailbox", is.Sign(t, "k1", is.Claims("nobody@contoso.com")), "names no mailbox"},
				{"garbage", "not-a-jwt", "malformed jwt"},
			}
			for _, tc := range bad {
				for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
					u := user
					if tc.name == "unknown mailbox" {
						u = "nobody@contoso.com"
					}
					if got := py(mech, u, tc.token); !strings.Contains(got, "AUTHENTICATIONFAILED") {
						t.Errorf("imaplib %s, %s token: got %q; want NO [AUTHENTICATIONFAILED]", mech, tc.name, got)
					}
				}
				if !strings.Contains(e.Log.String(), tc.why) {
					t.Errorf("%s token: the log does not say %q", tc.name, tc.why)
				}
				if strings.Contains(e.Log.String(), tc.token) {
					t.Errorf("%s token: the log holds the token", tc.name)
				}
				p := dial(t, e.Addr("pop3"))
				p.send("AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString([]byte("user="+user+"\x01auth=Bearer "+tc.token+"\x01\x01")))
				if s := p.read(); s != "+ "+base64.StdEncoding.EncodeToString([]byte(`{"status":"401","schemes":"bearer"}`)) {
					t.Errorf("POP3 XOAUTH2 %s: got %q; want the error challenge", tc.name, s)
				}
				p.send("")
				if s := p.read(); !strings.HasPrefix(s, "-ERR [AUTH] ") {
					t.Errorf("POP3 XOAUTH2 %s after the challenge: got %q", tc.name, s)
				}
			}
			if out, err := curlRun("imap://"+e.Addr("imap")+"/INBOX", bad[0].token); err == nil {
				t.Errorf("curl IMAP with an expired token succeeded:\n%s", out)
			}

			// A token naming another user than the client gave is refused.
			if got := py("OAUTHBEARER", "kim@contoso.com", good); !strings.Contains(got, "AUTHENTICATIONFAILED") {
				t.Errorf("token for christa, user kim: got %q", got)
			}

			// Key rotation: a token signed with a key the issuer published
			// after the server cached the JWKS is accepted (unknown kid →
			// fetch again).
			is.Publish("k2")
			if got := py("XOAUTH2", user, is.Sign(t, "k2", is.Claims(user))); !strings.HasPrefix(got, "OK ") {
				t.Errorf("token with a rotated key: %s", got)
			}

			// Malformed exchanges: a protocol error, and the session goes on.
			l = dial(t, e.Addr("imap"))
			l.send("m1 AUTHENTICATE OAUTHBEARER " + base64.StdEncoding.EncodeToString([]byte("p=tls-unique,,\x01auth=Bearer x\x01\x01")))
			if s := l.tagged("m1"); !strings.HasPrefix(s, "m1 BAD ") {
				t.Errorf("OAUTHBEARER with channel binding: %s", s)
			}
			l.send("m2 AUTHENTICATE XOAUTH2")
			l.read() // "+ "
			l.send("*")
			if s := l.tagged("m2"); s != "m2 BAD Authentication cancelled" {
				t.Errorf("cancel: %s", s)
			}
			l.send("m3 AUTHENTICATE XOAUTH2 " + base64.StdEncoding.EncodeToString([]byte("user="+user+"\x01auth=Bearer "+good+"\x01\x01")))
			if s := l.tagged("m3"); !strings.HasPrefix(s, "m3 OK ") {
				t.Errorf("XOAUTH2 with SASL-IR after the errors: %s", s)
			}

			// The login records keep the mechanism.
			e.Recorder.Flush()
			db := openDB(t, e)
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM login_records WHERE auth_method = 'OAUTHBEARER' AND result = 'success'`).Scan(&n); err != nil || n == 0 {
				t.Errorf("OAUTHBEARER successes recorded: %d, %v", n, err)
			}
		})
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	if v == "" {
		delete(m, k)
		return m
	}
	m[k] = v
	return m
}

// scramClient is a SCRAM-SHA-256 client after RFC 5802 §3, written here
// (go-sasl has none), so that the server is checked by an implementation
// of its own.
type scramClient struct {
	user, pass, cnonce string
	first, authMsg     string
	serverSig          []byte
}

func (c *scramClient) clientFirst() string {
	c.first = "n=" + c.user + ",r=" + c.cnonce
	return "n,," + c.first
}

func (c *scramClient) clientFinal(t *testing.T, serverFirst string) string {
	t.Helper()
	var nonce, salt64, iters string
	for _, f := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(f, "r="):
			nonce = f[2:]
		case strings.HasPrefix(f, "s="):
			salt64 = f[2:]
		case strings.HasPrefix(f, "i="):
			iters = f[2:]
		}
	}
	if !strings.HasPrefix(nonce, c.cnonce) || len(nonce) == len(c.cnonce) {
		t.Fatalf("server nonce %q does not extend %q", nonce, c.cnonce)
	}
	salt, _ := base64.StdEncoding.DecodeString(salt64)
	var i int
	for _, d := range iters {
		i = i*10 + int(d-'0')
	}
	salted, err := pbkdf2.Key(sha256.New, c.pass, salt, i, 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	without := "c=biws,r=" + nonce
	c.authMsg = c.first + "," + serverFirst + "," + without
	sig := mac(stored[:], c.authMsg)
	proof := make([]byte, 32)
	subtle.XORBytes(proof, clientKey, sig)
	c.serverSig = mac(mac(salted, "Server Key"), c.authMsg)
	return without + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

// scram runs SCRAM-SHA-256 over IMAP4 ("a AUTHENTICATE") or POP3 ("AUTH")
// and returns the final answer.
func scram(t *testing.T, l *line, imap bool, user, pass string) string {
	t.Helper()
	c := &scramClient{user: user, pass: pass, cnonce: "fyko+d2lbbFgONRv9qkxdawL"}
	b64 := base64.StdEncoding.EncodeToString
	if imap {
		l.send("s AUTHENTICATE SCRAM-SHA-256 " + b64([]byte(c.clientFirst())))
	} else {
		l.send("AUTH SCRAM-SHA-256 " + b64([]byte(c.clientFirst())))
	}
	s := l.read()
	if !strings.HasPrefix(s, "+ ") {
		return s
	}
	sf, _ := base64.StdEncoding.DecodeString(s[2:])
	l.send(b64([]byte(c.clientFinal(t, string(sf)))))
	s = l.read()
	if !strings.HasPrefix(s, "+ ") {
		return s
	}
	v, _ := base64.StdEncoding.DecodeString(s[2:])
	if string(v) != "v="+b64(c.serverSig) {
		t.Errorf("server signature: got %q; want %q", v, "v="+b64(c.serverSig))
	}
	l.send("")
	if imap {
		return l.tagged("s")
	}
	return l.read()
}

// TestSCRAMSignIn signs in with SCRAM-SHA-256 over IMAP4 and POP3, refuses
// a wrong password and an unknown user alike, and refuses a mailbox whose
// password was set before SCRAM keys existed, saying why in the login
// record (never to the client). Both engines.
func TestSCRAMSignIn(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			const user = "christa@contoso.com"
			if s := scram(t, dial(t, e.Addr("imap")), true, user, testenv.DemoPassword); !strings.HasPrefix(s, "s OK ") {
				t.Errorf("IMAP4 SCRAM: %s", s)
			}
			if s := scram(t, dial(t, e.Addr("pop3")), false, user, testenv.DemoPassword); !strings.HasPrefix(s, "+OK ") {
				t.Errorf("POP3 SCRAM: %s", s)
			}
			for _, tc := range []struct{ user, pass string }{{user, "wrong"}, {"nobody@contoso.com", "wrong"}} {
				if s := scram(t, dial(t, e.Addr("imap")), true, tc.user, tc.pass); s != "s NO [AUTHENTICATIONFAILED] Invalid credentials" {
					t.Errorf("IMAP4 SCRAM %s/%s: %s", tc.user, tc.pass, s)
				}
				if s := scram(t, dial(t, e.Addr("pop3")), false, tc.user, tc.pass); !strings.HasPrefix(s, "-ERR [AUTH] ") {
					t.Errorf("POP3 SCRAM %s/%s: %s", tc.user, tc.pass, s)
				}
			}
			// A mailbox without keys (a password set before this version).
			db := openDB(t, e)
			if _, err := db.Exec(`UPDATE mailboxes SET scram_sha256 = '' WHERE upn_lc = 'kim@contoso.com'`); err != nil {
				t.Fatal(err)
			}
			if s := scram(t, dial(t, e.Addr("imap")), true, "kim@contoso.com", testenv.DemoPassword); s != "s NO [AUTHENTICATIONFAILED] Invalid credentials" {
				t.Errorf("IMAP4 SCRAM without keys: %s", s)
			}
			var reason string
			e.Recorder.Flush()
			if err := db.QueryRow(`SELECT reason FROM login_records WHERE username = 'kim@contoso.com' AND auth_method = 'SCRAM-SHA-256'`).Scan(&reason); err != nil ||
				!strings.Contains(reason, "SCRAM-SHA-256 keys are not yet made") {
				t.Errorf("record of SCRAM without keys: %q, %v", reason, err)
			}
			// PLAIN still works for that mailbox; LOGIN too (SASL).
			l := dial(t, e.Addr("imap"))
			if s := l.imapPlain("", "kim@contoso.com", testenv.DemoPassword); !strings.HasPrefix(s, "b OK ") {
				t.Errorf("PLAIN: %s", s)
			}
			l = dial(t, e.Addr("imap"))
			l.send("g AUTHENTICATE LOGIN")
			for _, v := range []string{"Username:", "Password:"} {
				if s := l.read(); s != "+ "+base64.StdEncoding.EncodeToString([]byte(v)) {
					t.Errorf("LOGIN challenge: got %q; want %q", s, v)
				}
				if v == "Username:" {
					l.send(base64.StdEncoding.EncodeToString([]byte(user)))
				} else {
					l.send(base64.StdEncoding.EncodeToString([]byte(testenv.DemoPassword)))
				}
			}
			if s := l.tagged("g"); !strings.HasPrefix(s, "g OK ") {
				t.Errorf("IMAP4 AUTHENTICATE LOGIN: %s", s)
			}
		})
	}
}
