package pop3adapter_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestWholeServer drives the whole server (testenv) on both engines:
// delivery over LMTP, download over POP3 with implicit TLS, an IMAP4
// session that sees the POP3 deletion as EXPUNGE, and an administrator
// disabling POP3 through the REST API while a session is open.
func TestWholeServer(t *testing.T) {
	for _, engine := range []struct {
		name string
		opts testenv.Options
	}{
		{"sqlite", testenv.Options{Demo: true}},
		{"postgres", testenv.Options{Demo: true, Postgres: true}},
	} {
		t.Run(engine.name, func(t *testing.T) {
			e := testenv.Start(t, engine.opts)
			const user = "christa@contoso.com"
			body := "From: Bob <bob@example.org>\r\nTo: " + user + "\r\nSubject: e2e\r\n\r\n.starts with a dot\r\nGr\xc3\xbc\xc3\x9fe \xff\r\n"
			lmtpDeliver(t, e.Addr("lmtp"), user, body)

			// An IMAP4 session watching INBOX.
			expunged := make(chan uint32, 10)
			nc, err := net.Dial("tcp", e.Addr("imap"))
			if err != nil {
				t.Fatal(err)
			}
			ic := imapclient.New(nc, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
				Expunge: func(seq uint32) { expunged <- seq },
			}})
			defer ic.Close()
			if err := ic.Login(user, testenv.DemoPassword).Wait(); err != nil {
				t.Fatalf("IMAP login: %v", err)
			}
			sel, err := ic.Select("INBOX", nil).Wait()
			if err != nil {
				t.Fatalf("SELECT: %v", err)
			}
			idle, err := ic.Idle()
			if err != nil {
				t.Fatalf("IDLE: %v", err)
			}

			p := dialTLS(t, e.Addr("pop3s"))
			p.ok("USER " + user)
			p.ok("PASS " + testenv.DemoPassword)
			stat := p.ok("STAT")
			var n int
			fmt.Sscanf(stat, "+OK %d", &n)
			if uint32(n) != sel.NumMessages {
				t.Fatalf("POP3 STAT %q; IMAP SELECT says %d messages", stat, sel.NumMessages)
			}
			p.ok(fmt.Sprintf("RETR %d", n))
			got := p.multi()
			if !strings.HasSuffix(got, body) {
				t.Errorf("RETR %d: got %q; want it to end with %q", n, got, body)
			}
			if size := p.ok(fmt.Sprintf("LIST %d", n)); size != fmt.Sprintf("+OK %d %d", n, len(got)) {
				t.Errorf("LIST %d: got %q; want the %d octets RETR sent", n, size, len(got))
			}
			p.ok(fmt.Sprintf("DELE %d", n))
			p.ok("QUIT")

			select {
			case seq := <-expunged:
				if seq != uint32(n) {
					t.Errorf("IMAP EXPUNGE %d; want %d", seq, n)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("the IMAP4 session saw no EXPUNGE after POP3 QUIT")
			}
			idle.Close()

			// Disabling POP3 ends the open session at once, with the
			// reason, and removes nothing it marked.
			p = dialTLS(t, e.Addr("pop3s"))
			p.ok("USER " + user)
			p.ok("PASS " + testenv.DemoPassword)
			p.ok("DELE 1")
			adminPatch(t, e.URL(), "/api/v1/casmailboxes/christa", `{"PopEnabled": false, "ImapEnabled": null}`)
			if got, want := p.line(), "-ERR [SYS/PERM] POP3 access was disabled by your administrator."; got != want {
				t.Errorf("open session after POP3 was disabled: got %q; want %q", got, want)
			}
			q := dialTLS(t, e.Addr("pop3s"))
			q.ok("USER " + user)
			if got, want := q.cmd("PASS "+testenv.DemoPassword), "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator."; got != want {
				t.Errorf("login while disabled: got %q; want %q", got, want)
			}
			adminPatch(t, e.URL(), "/api/v1/casmailboxes/christa", `{"PopEnabled": true, "ImapEnabled": null}`)
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				q.ok("USER " + user)
				got := q.cmd("PASS " + testenv.DemoPassword)
				if strings.HasPrefix(got, "+OK") {
					break
				}
				if !strings.Contains(got, "[IN-USE]") || time.Now().After(deadline) {
					t.Fatalf("login after re-enabling: %q", got)
				}
			}
			if got, want := q.ok("STAT"), fmt.Sprintf("+OK %d ", n-1); !strings.HasPrefix(got, want) {
				t.Errorf("STAT after the kick: got %q; want %s... (nothing removed)", got, want)
			}
			q.ok("QUIT")
		})
	}
}

func lmtpDeliver(t *testing.T, addr, rcpt, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Fatalf("LMTP DATA: %v", err)
	}
}

func adminPatch(t *testing.T, base, path, body string) {
	t.Helper()
	res, err := http.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(fmt.Sprintf(`{"UserName": "admin", "Password": %q}`, testenv.AdminPassword)))
	if err != nil {
		t.Fatal(err)
	}
	var signIn struct{ Token string }
	json.NewDecoder(res.Body).Decode(&signIn)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodPatch, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+signIn.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("PATCH %s: %s %s", path, res.Status, b)
	}
}

type popClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialTLS(t *testing.T, addr string) *popClient {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	p := &popClient{t: t, c: c, r: bufio.NewReader(c)}
	p.line()
	return p
}

func (p *popClient) line() string {
	l, err := p.r.ReadString('\n')
	if err != nil {
		return "<closed>"
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (p *popClient) cmd(c string) string {
	io.WriteString(p.c, c+"\r\n")
	return p.line()
}

func (p *popClient) ok(c string) string {
	p.t.Helper()
	got := p.cmd(c)
	if !strings.HasPrefix(got, "+OK") {
		p.t.Fatalf("%s: got %q; want +OK", c, got)
	}
	return got
}

// multi reads a multi-line response and undoes dot-stuffing.
func (p *popClient) multi() string {
	var b bytes.Buffer
	for {
		l, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("multi-line response cut: %v", err)
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
}
