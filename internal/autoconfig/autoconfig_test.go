package autoconfig_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/shell"
	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// need skips a test that needs a program, saying why, or fails it under
// GATEHOUSE_TEST_STRICT.
func need(t *testing.T, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s is needed: %v", prog, err)
		}
		t.Skipf("%s is not installed (%v); the test fetches with the real client", prog, err)
	}
}

type fetched struct {
	status      int
	contentType string
	body        []byte
}

// curl fetches url with the real curl; data non-empty makes it a POST.
func curl(t *testing.T, url, data string) fetched {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	args := []string{"-sS", "-o", out, "-w", "%{http_code} %{content_type}", "--max-time", "20"}
	if data != "" {
		args = append(args, "-H", "Content-Type: text/xml", "--data-binary", data)
	}
	res, err := exec.Command("curl", append(args, url)...).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", url, err)
	}
	code, ct, _ := strings.Cut(string(res), " ")
	n, _ := strconv.Atoi(code)
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return fetched{status: n, contentType: ct, body: body}
}

// shellRun runs cmdlets through the admin shell against the server: the
// REST API and the service layer, as an administrator does it.
func shellRun(t *testing.T, env *testenv.Env, cmd string) {
	t.Helper()
	var out, errb bytes.Buffer
	args := []string{"--server", env.URL(), "--user", "admin", "--password", testenv.AdminPassword, "--history", "-", "-c", cmd}
	if code := shell.Main(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("shell %q: exit %d\n%s%s", cmd, code, out.String(), errb.String())
	}
}

// The documents as a client reads them: declared here from the formats,
// not from the package's own types, so that a wrong tag there fails here.
type tbConfig struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID       string     `xml:"id,attr"`
		Domain   []string   `xml:"domain"`
		Display  string     `xml:"displayName"`
		Short    string     `xml:"displayShortName"`
		Incoming []tbServer `xml:"incomingServer"`
		Outgoing []tbServer `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type tbServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

func (s tbServer) String() string {
	return s.Type + " " + s.Hostname + ":" + strconv.Itoa(s.Port) + " " + s.SocketType
}

type adResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
		Error   *struct {
			ErrorCode int    `xml:"ErrorCode"`
			Message   string `xml:"Message"`
		} `xml:"Error"`
		Account *struct {
			AccountType string `xml:"AccountType"`
			Action      string `xml:"Action"`
			Protocol    []struct {
				Type, Server, LoginName, SSL, Encryption, AuthRequired, SPA, DomainRequired string
				Port                                                                        int
			} `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

// strictXML decodes b as a whole, refusing what is not well-formed.
func strictXML(t *testing.T, b []byte, v any) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func portOf(t *testing.T, env *testenv.Env, name string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(env.Addr(name))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

const adRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

func adBody(addr string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(addr))
	return strings.Replace(adRequest, "%s", b.String(), 1)
}

// TestAutoconfigFollowsAccessRule fetches the documents with curl, for a
// mailbox before and after Set-CASMailbox -PopEnabled $false through the
// admin shell, and for an address that is nobody's.
// It runs on both engines.
func TestAutoconfigFollowsAccessRule(t *testing.T) {
	need(t, "curl")
	t.Run("sqlite", func(t *testing.T) { testAutoconfigFollowsAccessRule(t, false) })
	t.Run("postgres", func(t *testing.T) { testAutoconfigFollowsAccessRule(t, true) })
}

func testAutoconfigFollowsAccessRule(t *testing.T, postgres bool) {
	env := testenv.Start(t, testenv.Options{Demo: true, Postgres: postgres, Configure: func(c *config.Config) {
		c.Listen.Autoconfig = "127.0.0.1:0"
		c.PublicHost = "mail.contoso.com"
	}})
	public := "http://" + env.Addr("autoconfig")
	tb := func(base, addr string) fetched {
		return curl(t, base+"/mail/config-v1.1.xml?emailaddress="+strings.ReplaceAll(addr, "@", "%40"), "")
	}
	want := func(kinds ...string) []string { return kinds }
	imaps, imap, pop3s, pop3 := portOf(t, env, "imaps"), portOf(t, env, "imap"), portOf(t, env, "pop3s"), portOf(t, env, "pop3")
	subs, sub := portOf(t, env, "submissions"), portOf(t, env, "submission")
	host := "mail.contoso.com"
	all := want(
		tbServer{"imap", host, imaps, "SSL", "", ""}.String(), tbServer{"imap", host, imap, "STARTTLS", "", ""}.String(),
		tbServer{"pop3", host, pop3s, "SSL", "", ""}.String(), tbServer{"pop3", host, pop3, "STARTTLS", "", ""}.String())
	noPop := all[:2]
	smtp := want(tbServer{"smtp", host, subs, "SSL", "", ""}.String(), tbServer{"smtp", host, sub, "STARTTLS", "", ""}.String())

	check := func(t *testing.T, f fetched, incoming, outgoing []string) tbConfig {
		t.Helper()
		if f.status != 200 || !strings.HasPrefix(f.contentType, "application/xml") {
			t.Fatalf("got %d %s %s; want 200 application/xml", f.status, f.contentType, f.body)
		}
		var c tbConfig
		strictXML(t, f.body, &c)
		if c.Version != "1.1" || c.Provider.ID != "contoso.com" || len(c.Provider.Domain) == 0 || c.Provider.Domain[0] != "contoso.com" ||
			c.Provider.Display == "" || c.Provider.Short == "" {
			t.Errorf("provider: got %+v", c)
		}
		var in, out []string
		for _, s := range c.Provider.Incoming {
			in = append(in, s.String())
			if s.Authentication != "password-cleartext" || s.Username != "%EMAILADDRESS%" {
				t.Errorf("incoming %s: authentication %q username %q", s, s.Authentication, s.Username)
			}
		}
		for _, s := range c.Provider.Outgoing {
			out = append(out, s.String())
		}
		if strings.Join(in, ", ") != strings.Join(incoming, ", ") {
			t.Errorf("incoming servers:\n got %v\nwant %v", in, incoming)
		}
		if strings.Join(out, ", ") != strings.Join(outgoing, ", ") {
			t.Errorf("outgoing servers:\n got %v\nwant %v", out, outgoing)
		}
		return c
	}

	christa := "christa@contoso.com"
	nobody := "nobody.here@contoso.com"
	var before fetched
	t.Run("before", func(t *testing.T) {
		for _, base := range []string{public, env.URL()} {
			before = tb(base, christa)
			check(t, before, all, smtp)
			check(t, curl(t, base+"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=christa%40contoso.com", ""), all, smtp)
		}
		// No enumeration: a mailbox nobody restricted and an unknown
		// address get the same bytes.
		if got := tb(public, nobody); !bytes.Equal(got.body, before.body) {
			t.Errorf("unknown address:\n%s\nknown:\n%s", got.body, before.body)
		}
		// Without an address: the same generic answer.
		if got := curl(t, public+"/mail/config-v1.1.xml", ""); got.status != 200 || !bytes.Equal(got.body, before.body) {
			t.Errorf("no address: %d\n%s", got.status, got.body)
		}
	})

	shellRun(t, env, `Set-CASMailbox -Identity christa -PopEnabled $false`)

	t.Run("after PopEnabled false", func(t *testing.T) {
		for _, base := range []string{public, env.URL()} {
			check(t, tb(base, christa), noPop, smtp)
			// The generic answer keeps POP3.
			check(t, tb(base, nobody), all, smtp)
			// Another address of the same mailbox, in another case.
			check(t, tb(base, "Christa@CONTOSO.com"), noPop, smtp)
		}
		f := curl(t, public+"/autodiscover/autodiscover.xml", adBody(christa))
		var r adResponse
		strictXML(t, f.body, &r)
		if f.status != 200 || r.Response.Account == nil {
			t.Fatalf("autodiscover: %d %s", f.status, f.body)
		}
		var got []string
		for _, p := range r.Response.Account.Protocol {
			got = append(got, p.Type+" "+p.Server+":"+strconv.Itoa(p.Port)+" "+p.Encryption)
			if p.LoginName != christa || p.SSL != "on" || p.AuthRequired != "on" || p.SPA != "off" {
				t.Errorf("protocol %+v", p)
			}
		}
		wantAD := []string{"IMAP mail.contoso.com:" + strconv.Itoa(imaps) + " SSL", "IMAP mail.contoso.com:" + strconv.Itoa(imap) + " TLS",
			"SMTP mail.contoso.com:" + strconv.Itoa(subs) + " SSL", "SMTP mail.contoso.com:" + strconv.Itoa(sub) + " TLS"}
		if strings.Join(got, ", ") != strings.Join(wantAD, ", ") || r.Response.Account.AccountType != "email" || r.Response.Account.Action != "settings" {
			t.Errorf("autodiscover protocols:\n got %v\nwant %v", got, wantAD)
		}
		// GET is tolerated, on the admin listener too, in the case
		// Outlook uses.
		g := curl(t, env.URL()+"/Autodiscover/Autodiscover.xml?emailaddress=christa%40contoso.com", "")
		if g.status != 200 || !bytes.Equal(g.body, f.body) {
			t.Errorf("GET autodiscover: %d\n%s\nwant\n%s", g.status, g.body, f.body)
		}
	})

	t.Run("Apple profile", func(t *testing.T) {
		need(t, "python3")
		f := curl(t, public+"/autoconfig/apple.mobileconfig?emailaddress=christa%40contoso.com", "")
		if f.status != 200 || f.contentType != "application/x-apple-aspen-config" {
			t.Fatalf("got %d %s %s", f.status, f.contentType, f.body)
		}
		// Python's plistlib, a real property-list reader.
		cmd := exec.Command("python3", "-c", `import json, plistlib, sys
p = plistlib.loads(sys.stdin.buffer.read())
m = p["PayloadContent"][0]
print(json.dumps({"type": p["PayloadType"], "ver": p["PayloadVersion"], "mail": m["PayloadType"], "acct": m["EmailAccountType"],
  "in": "%s:%d" % (m["IncomingMailServerHostName"], m["IncomingMailServerPortNumber"]),
  "out": "%s:%d" % (m["OutgoingMailServerHostName"], m["OutgoingMailServerPortNumber"]),
  "ssl": m["IncomingMailServerUseSSL"] and m["OutgoingMailServerUseSSL"], "addr": m["EmailAddress"], "uuid": m["PayloadUUID"]}))`)
		cmd.Stdin = bytes.NewReader(f.body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("plistlib: %v\n%s\n%s", err, out, f.body)
		}
		var got map[string]any
		json.Unmarshal(out, &got)
		wantIn, wantOut := "mail.contoso.com:"+strconv.Itoa(imaps), "mail.contoso.com:"+strconv.Itoa(subs)
		if got["type"] != "Configuration" || got["mail"] != "com.apple.mail.managed" || got["acct"] != "EmailTypeIMAP" ||
			got["in"] != wantIn || got["out"] != wantOut || got["ssl"] != true || got["addr"] != christa || got["ver"] != float64(1) {
			t.Errorf("profile: got %v; want IMAP %s, SMTP %s", got, wantIn, wantOut)
		}
	})

	t.Run("SMTP and security defaults", func(t *testing.T) {
		shellRun(t, env, `Set-CASMailbox christa -SmtpClientAuthenticationDisabled $true`)
		check(t, tb(public, christa), noPop, nil)
		if f := curl(t, public+"/autoconfig/apple.mobileconfig?emailaddress=christa%40contoso.com", ""); f.status != 409 {
			t.Errorf("profile without SMTP: got %d %s; want 409", f.status, f.body)
		}
		shellRun(t, env, `Set-OrganizationConfig -SecurityDefaultsEnabled $true`)
		for _, a := range []string{christa, nobody} {
			if f := tb(public, a); f.status != 404 {
				t.Errorf("%s under security defaults: got %d %s; want 404", a, f.status, f.body)
			}
			f := curl(t, public+"/autodiscover/autodiscover.xml", adBody(a))
			var r adResponse
			strictXML(t, f.body, &r)
			if f.status != 404 || r.Response.Error == nil || r.Response.Account != nil {
				t.Errorf("autodiscover %s under security defaults: got %d %s", a, f.status, f.body)
			}
		}
	})
}

// TestAutoconfigMalformed: a malformed address is 400 on every document,
// and nothing else is said.
func TestAutoconfigMalformed(t *testing.T) {
	need(t, "curl")
	env := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Listen.Autoconfig = "127.0.0.1:0" }})
	public := "http://" + env.Addr("autoconfig")
	bad := []string{"", "christa", "christa@", "@contoso.com", "a@b@contoso.com", "Christa <christa@contoso.com>",
		"christa@contoso", "christa@-contoso.com", "chr ista@contoso.com", strings.Repeat("a", 250) + "@contoso.com", "christa@contoso.com\r\nX: y"}
	for _, a := range bad {
		q := "?emailaddress=" + urlEscape(a)
		for _, u := range []string{public + "/mail/config-v1.1.xml" + q, public + "/.well-known/autoconfig/mail/config-v1.1.xml" + q,
			public + "/autoconfig/apple.mobileconfig" + q, public + "/autodiscover/autodiscover.xml" + q} {
			if f := curl(t, u, ""); f.status != 400 {
				t.Errorf("GET %s: got %d %s; want 400", u, f.status, f.body)
			}
		}
		f := curl(t, public+"/autodiscover/autodiscover.xml", adBody(a))
		var r adResponse
		strictXML(t, f.body, &r)
		if f.status != 400 || r.Response.Error == nil || r.Response.Error.ErrorCode != 600 {
			t.Errorf("POST %q: got %d %s; want 400 with ErrorCode 600", a, f.status, f.body)
		}
	}
	for _, body := range []string{"not xml", "<Autodiscover><Request><EMailAddress>christa@contoso.com</EMailAddress></Request></Autodiscover>",
		strings.Repeat("<a>", 20000)} {
		if f := curl(t, public+"/autodiscover/autodiscover.xml", body); f.status != 400 {
			t.Errorf("POST %.40q: got %d; want 400", body, f.status)
		}
	}
	// Only the documents are on the public listener.
	for _, p := range []string{"/admin/", "/account/", "/api/v1/me", "/metrics"} {
		if f := curl(t, public+p, ""); f.status != 404 {
			t.Errorf("GET %s on the autoconfig listener: got %d; want 404", p, f.status)
		}
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
		}
	}
	return b.String()
}
