package submission_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

var ctx = context.Background()

// submitPy is a submission client on Python's smtplib: it connects (SMTP
// with STARTTLS, or SMTP_SSL for implicit TLS), signs in, sends, and prints
// one JSON line: {"ok": refused-recipients} or {"error": ..., "code": n,
// "message": text}.
const submitPy = `
import json, smtplib, ssl, sys
a = json.loads(sys.argv[1])
ctx = ssl._create_unverified_context()
out = {}
try:
    if a.get("implicit"):
        s = smtplib.SMTP_SSL(a["host"], a["port"], context=ctx, timeout=30)
    else:
        s = smtplib.SMTP(a["host"], a["port"], timeout=30)
        if not a.get("plain"):
            s.starttls(context=ctx)
    if a.get("user"):
        s.login(a["user"], a["password"])
    opts = a.get("mail_options", [])
    r = s.sendmail(a["from"], a["to"], a["msg"].encode(), mail_options=opts)
    out = {"ok": r}
    s.quit()
except smtplib.SMTPRecipientsRefused as e:
    code, msg = list(e.recipients.values())[0]
    out = {"error": type(e).__name__, "code": code, "message": msg.decode()}
except smtplib.SMTPResponseException as e:
    out = {"error": type(e).__name__, "code": e.smtp_code, "message": e.smtp_error.decode() if isinstance(e.smtp_error, bytes) else str(e.smtp_error)}
except Exception as e:
    out = {"error": type(e).__name__, "message": str(e)}
print(json.dumps(out))
`

type pyResult struct {
	OK      map[string]any `json:"ok"`
	Error   string         `json:"error"`
	Code    int            `json:"code"`
	Message string         `json:"message"`
}

type submitArgs struct {
	Host        string   `json:"host"`
	Port        int      `json:"port"`
	Implicit    bool     `json:"implicit,omitempty"`
	Plain       bool     `json:"plain,omitempty"`
	User        string   `json:"user,omitempty"`
	Password    string   `json:"password,omitempty"`
	From        string   `json:"from"`
	To          []string `json:"to"`
	Msg         string   `json:"msg"`
	MailOptions []string `json:"mail_options,omitempty"`
}

func pySubmit(t *testing.T, addr string, a submitArgs) pyResult {
	t.Helper()
	host, port := splitAddr(t, addr)
	a.Host, a.Port = host, port
	b, _ := json.Marshal(a)
	out, err := exec.Command("python3", "-c", submitPy, string(b)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("python3 said %q: %v", out, err)
	}
	return r
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	var port int
	for _, c := range addr[i+1:] {
		port = port*10 + int(c-'0')
	}
	return addr[:i], port
}

func mailboxOf(t *testing.T, e *testenv.Env, addr string) store.Mailbox {
	t.Helper()
	var m store.Mailbox
	if err := e.Store.View(ctx, func(tx store.Tx) error {
		var err error
		m, err = tx.MailboxByAddress(ctx, addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// withSubject returns the bodies of the INBOX messages of addr whose
// subject is subject.
func withSubject(t *testing.T, e *testenv.Env, addr, subject string) []string {
	t.Helper()
	m := mailboxOf(t, e, addr)
	f, err := e.Store.FolderByName(ctx, m.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = e.Store.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, store.MetaSummary, func(mm store.MessageMeta) error {
		if mm.Subject != subject {
			return nil
		}
		b := make([]byte, mm.Size)
		n, err := e.Store.ReadBody(ctx, mm.BodyID, 0, b)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		out = append(out, string(b[:n]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func msg(from, to, subject string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nHello from the submission test.\r\n"
}

const christa = "christa@contoso.com"

// TestSubmitLocal: a signed-in user sends to a colleague over both
// listeners (STARTTLS and implicit TLS) with Python's smtplib; the message
// arrives as LMTP delivers it (trace fields, ESMTPSA), on both engines.
func TestSubmitLocal(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: pg})
			for _, l := range []struct {
				name     string
				implicit bool
			}{{"submission", false}, {"submissions", true}} {
				subject := "local via " + l.name
				r := pySubmit(t, e.Addr(l.name), submitArgs{Implicit: l.implicit, User: christa, Password: testenv.DemoPassword,
					From: christa, To: []string{"christa.lee@contoso.com"}, Msg: msg("Christa Knapp <christa@contoso.com>", "christa.lee@contoso.com", subject)})
				if r.Error != "" || len(r.OK) != 0 {
					t.Fatalf("%s: got %+v; want accepted", l.name, r)
				}
				got := withSubject(t, e, "christa.lee@contoso.com", subject)
				if len(got) != 1 {
					t.Fatalf("%s: got %d messages; want 1", l.name, len(got))
				}
				if !strings.HasPrefix(got[0], "Return-Path: <christa@contoso.com>\r\nReceived: ") || !strings.Contains(got[0], "with ESMTPSA id") {
					t.Errorf("%s: trace fields: got %q; want Return-Path and Received ... with ESMTPSA", l.name, got[0][:min(len(got[0]), 300)])
				}
			}
		})
	}
}

// TestSenderRule: the envelope sender and the From: field must be the
// user's (any of the mailbox's addresses); else 550 5.7.60 naming both,
// and nothing is delivered. Before AUTH, MAIL is 530 5.7.0.
func TestSenderRule(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	addr := e.Addr("submission")
	for _, tc := range []struct {
		name, from, header string
		user               string
		code               int
		want               string
	}{
		{"envelope of another", "christa.lee@contoso.com", christa, christa, 550, "5.7.60"},
		{"From: of another", christa, "Christa Lee <christa.lee@contoso.com>", christa, 550, "5.7.60"},
		{"null sender", "", christa, christa, 550, "5.7.60"},
		{"not signed in", christa, christa, "", 530, "5.7.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject := "sender rule " + tc.name
			r := pySubmit(t, addr, submitArgs{User: tc.user, Password: testenv.DemoPassword, From: tc.from,
				To: []string{"christa.lee@contoso.com"}, Msg: msg(tc.header, "christa.lee@contoso.com", subject)})
			if r.Code != tc.code || !strings.Contains(r.Message, tc.want) {
				t.Errorf("got %+v; want %d %s", r, tc.code, tc.want)
			}
			if tc.code == 550 && !strings.Contains(r.Message, "not allowed to send as") {
				t.Errorf("text: got %q; want it to say who may not send as what", r.Message)
			}
			if got := withSubject(t, e, "christa.lee@contoso.com", subject); len(got) != 0 {
				t.Errorf("delivered %d; want none", len(got))
			}
		})
	}
	// A wrong password: 535 5.7.8, whether or not the user exists.
	for _, user := range []string{christa, "nobody@contoso.com"} {
		r := pySubmit(t, addr, submitArgs{User: user, Password: "wrong", From: christa, To: []string{christa}, Msg: msg(christa, christa, "x")})
		if r.Code != 535 || !strings.Contains(r.Message, "5.7.8") {
			t.Errorf("wrong password for %s: got %+v; want 535 5.7.8", user, r)
		}
	}
}

// TestSizeLimits: a message over the limit is refused at MAIL FROM SIZE=
// and, when no SIZE was declared, at the end of DATA: 552 5.3.4, nothing
// stored. Sent with curl, which declares no SIZE, and smtplib with one.
func TestSizeLimits(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) { c.MaxMessageSize = 10_000 }})
	addr := e.Addr("submission")
	big := msg(christa, christa, "too big") + strings.Repeat("0123456789\r\n", 1000)
	r := pySubmit(t, addr, submitArgs{User: christa, Password: testenv.DemoPassword, From: christa, To: []string{"christa.lee@contoso.com"},
		Msg: big, MailOptions: []string{"SIZE=20000"}})
	if r.Code != 552 || !strings.Contains(r.Message, "5.3.4") {
		t.Errorf("MAIL FROM SIZE=20000: got %+v; want 552 5.3.4", r)
	}
	f := filepath.Join(t.TempDir(), "big.eml")
	if err := os.WriteFile(f, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("curl", "-sS", "-v", "--ssl-reqd", "--insecure", "smtp://"+addr,
		"--user", christa+":"+testenv.DemoPassword, "--mail-from", christa, "--mail-rcpt", "christa.lee@contoso.com",
		"--upload-file", f).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "< 552 5.3.4") {
		t.Errorf("curl with an oversize DATA: got %v\n%s\nwant 552 5.3.4 at DATA", err, out)
	}
	if got := withSubject(t, e, "christa.lee@contoso.com", "too big"); len(got) != 0 {
		t.Errorf("delivered %d; want none", len(got))
	}
}
