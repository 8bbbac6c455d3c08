package backend_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/rolematrix"
)

// saslprepPy signs in with Python's imaplib (AUTHENTICATE PLAIN, the
// credentials as UTF-8 octets) and poplib (USER/PASS, which poplib sends
// in UTF-8) with a password as given, and prints what each answered.
const saslprepPy = `
import base64, imaplib, json, poplib, sys
a = json.loads(sys.argv[1])
out = {}
try:
    i = imaplib.IMAP4(a["imap"][0], a["imap"][1])
    out["imap"] = i.authenticate("PLAIN", lambda _: b"\0" + a["user"].encode() + b"\0" + a["password"].encode())[0]
    i.logout()
except Exception as e:
    out["imap"] = "error: " + str(e)
try:
    p = poplib.POP3(a["pop3"][0], a["pop3"][1])
    p.user(a["user"])
    out["pop3"] = p.pass_(a["password"]).decode()[:3]
    p.quit()
except Exception as e:
    out["pop3"] = "error: " + str(e)
print(json.dumps(out))
`

// TestSASLprepSignIn: a password with a no-break space (U+00A0) and a
// composed é, set through the service, signs in however a client spells
// it: decomposed (e + U+0301) and with the no-break space, or composed with
// an ASCII space (RFC 8265 OpaqueString, SASLprep's successor: the same
// preparation at the password set and at the check), over IMAP4 PLAIN and
// POP3 USER/PASS with Python's clients and over SCRAM-SHA-256 (whose client
// prepares the password, RFC 5802 §2.2); a different word does not. Both
// engines.
func TestSASLprepSignIn(t *testing.T) {
	py := need(t, "python3")
	const (
		set        = "Caf\u00e9\u00a0Pass-2026"  // composed é, no-break space
		decomposed = "Cafe\u0301\u00a0Pass-2026" // e + combining acute, no-break space
		ascii      = "Caf\u00e9 Pass-2026"       // composed é, ASCII space: the prepared form
		wrong      = "Cafe Pass-2026"
		user       = "christa@contoso.com"
	)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			pw := set
			if _, err := e.Service.SetMailbox(context.Background(), rolematrix.Admin(t, e), "christa", service.SetMailboxRequest{Password: &pw}); err != nil {
				t.Fatal(err)
			}
			clients := func(password string) map[string]string {
				t.Helper()
				hp := func(name string) []any {
					h, p, _ := strings.Cut(e.Addr(name), ":")
					var n int
					for _, c := range p {
						n = n*10 + int(c-'0')
					}
					return []any{h, n}
				}
				arg, _ := json.Marshal(map[string]any{"imap": hp("imap"), "pop3": hp("pop3"), "user": user, "password": password})
				out, err := exec.Command(py, "-c", saslprepPy, string(arg)).CombinedOutput()
				if err != nil {
					t.Fatalf("python3: %v\n%s", err, out)
				}
				var got map[string]string
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("python3 said %q: %v", out, err)
				}
				return got
			}
			for _, p := range []string{set, decomposed, ascii} {
				if got := clients(p); got["imap"] != "OK" || got["pop3"] != "+OK" {
					t.Errorf("password %+q: got %v; want OK and +OK", p, got)
				}
			}
			if got := clients(wrong); got["imap"] == "OK" || got["pop3"] == "+OK" {
				t.Errorf("password %+q: got %v; want refusals", wrong, got)
			}
			prepared, err := auth.PreparePassword(decomposed)
			if err != nil || prepared != ascii {
				t.Fatalf("PreparePassword(%+q) = %+q, %v; want %+q", decomposed, prepared, err, ascii)
			}
			if s := scram(t, dial(t, e.Addr("imap")), true, user, prepared); !strings.HasPrefix(s, "s OK ") {
				t.Errorf("IMAP4 SCRAM with the prepared password: %s", s)
			}
			if s := scram(t, dial(t, e.Addr("pop3")), false, user, wrong); !strings.HasPrefix(s, "-ERR [AUTH] ") {
				t.Errorf("POP3 SCRAM with a wrong password: %s", s)
			}
		})
	}
}
