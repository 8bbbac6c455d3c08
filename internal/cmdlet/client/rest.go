package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// Client talks to a Gatehouse server's REST API (/api/v1). It signs in
// with a user name and password (POST /api/v1/session), sends the bearer
// token with every request, and signs in again once when the token has
// expired.
type Client struct {
	base     *url.URL
	http     *http.Client
	user     string
	password string

	mu    sync.Mutex
	token string
	// noBulk remembers that the server has no bulk PATCH of
	// casmailboxes, so that SetCASMailboxes goes straight to parallel
	// requests.
	noBulk bool
}

// bulkConcurrency is how many single requests a change of many keeps in flight
// when the server has no bulk endpoint.
const bulkConcurrency = 16

// New returns a client; it does not connect until Login or the first
// request.
func New(opts cmdlet.ClientOptions) (*Client, error) {
	server := strings.TrimSpace(opts.Server)
	if server == "" {
		return nil, cmdlet.ErrNotConnected
	}
	if !strings.Contains(server, "://") {
		// A bare host:port: the admin listener serves plain HTTP on
		// loopback and HTTPS elsewhere (admin.tls = auto).
		scheme := "https://"
		if h, _, err := net.SplitHostPort(server); err == nil && loopbackHost(h) {
			scheme = "http://"
		}
		server = scheme + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("the server address %q is not a URL such as http://127.0.0.1:8080 or https://mail.contoso.com:8080", opts.Server)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) && !opts.AllowInsecure {
		return nil, fmt.Errorf("refusing to send a password in clear text to %s: use https:// (gatehouse serve prints the admin URL at start), or --allow-insecure if a network you trust carries it", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = bulkConcurrency * 2
		tc, err := clientTLS(opts.CAFile, opts.Fingerprint)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
		hc = &http.Client{Transport: tr, Timeout: 5 * time.Minute, CheckRedirect: sameOrigin}
	}
	return &Client{base: u, http: hc, user: opts.User, password: opts.Password}, nil
}

// loopbackHost reports whether host is a loopback IP address or
// "localhost"; other names are not resolved, so they count as remote.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin refuses a redirect to another scheme or host: the sign-in
// request carries the password, and a redirect to http:// or elsewhere
// would send it on.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("the server redirected to %s, another origin; not following", req.URL.Redacted())
	}
	return nil
}

// clientTLS returns the TLS configuration of https:// requests: the
// system's roots, the certificates of caFile, or only the certificate
// whose SHA-256 fingerprint is fingerprint (whatever its issuer and
// names: the pin is what is trusted).
func clientTLS(caFile, fingerprint string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case caFile != "" && fingerprint != "":
		return nil, errors.New("give --ca-file or --fingerprint, not both")
	case caFile != "":
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	case fingerprint != "":
		want, err := parseFingerprint(fingerprint)
		if err != nil {
			return nil, err
		}
		// The chain and names are not checked, the pin is: the server's
		// self-signed certificate is trusted by nothing else.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], want) {
				return &pinError{got: formatFingerprint(got[:])}
			}
			return nil
		}
	}
	return tc, nil
}

// pinError is a server certificate that is not the pinned one.
type pinError struct{ got string }

func (e *pinError) Error() string {
	return "the server's certificate is not the one pinned with --fingerprint: its SHA-256 fingerprint is " + e.got
}

// parseFingerprint reads a SHA-256 fingerprint: 64 hex digits, in pairs
// separated by colons or not, optionally after "SHA256:" or "sha256
// Fingerprint=" (openssl's output).
func parseFingerprint(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(t), "sha256") {
		if j := strings.IndexAny(t, "=:"); j >= 0 {
			t = t[j+1:]
		}
	}
	t = strings.NewReplacer(":", "", " ", "").Replace(t)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("--fingerprint %q is not a SHA-256 fingerprint (64 hex digits, such as the AB:CD:... gatehouse serve prints)", s)
	}
	return b, nil
}

func formatFingerprint(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// Server returns the server's host name.
func (c *Client) Server() string { return c.base.Hostname() }

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Login signs in and keeps the token.
func (c *Client) Login(ctx context.Context) error {
	body, _ := json.Marshal(wire.SignInRequest{UserName: c.user, Password: c.password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("session", nil), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gatehouse-Surface", "shell")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.connError(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusBadRequest && bytes.Contains(data, []byte("HTTP request to an HTTPS server")) {
		return &cmdlet.APIError{Status: resp.StatusCode, Code: "UseHTTPS",
			Message: fmt.Sprintf("The Gatehouse server at %s speaks HTTPS: use https://%s", c.base, c.base.Host)}
	}
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode == http.StatusUnauthorized {
			return &cmdlet.APIError{Status: resp.StatusCode, Code: "Unauthorized", Message: "Sign-in failed: the user name or password is incorrect."}
		}
		return decodeAPIError(resp.StatusCode, data)
	}
	var out wire.SignInResponse
	if err := json.Unmarshal(data, &out); err != nil || out.Token == "" {
		return fmt.Errorf("the server's sign-in answer has no token")
	}
	c.mu.Lock()
	c.token = out.Token
	c.mu.Unlock()
	return nil
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	escaped := c.base.EscapedPath() + "/api/v1/" + strings.TrimPrefix(path, "/")
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		unescaped = escaped
	}
	u.Path, u.RawPath = unescaped, escaped
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// connError turns a transport error into the one message the shell shows
// when the server cannot be reached.
func (c *Client) connError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		ne   net.Error
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		pe   *pinError
		rhe  tls.RecordHeaderError
		cerr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("Refusing to talk to %s: %v. If the server's certificate changed, pin the new one as gatehouse serve printed it.", c.base, pe)
	case errors.As(err, &ua):
		fp := ""
		if ua.Cert != nil {
			sum := sha256.Sum256(ua.Cert.Raw)
			fp = " It presented a certificate with SHA-256 fingerprint " + formatFingerprint(sum[:]) + "."
		}
		return fmt.Errorf("The certificate of the Gatehouse server at %s is not trusted (self-signed?).%s If that is the fingerprint gatehouse serve printed, give --fingerprint with it; or give --ca-file with the CA that issued it.", c.base, fp)
	case errors.As(err, &he):
		return fmt.Errorf("The certificate of the Gatehouse server at %s is not valid for %s: %v. Use the name it was issued for, or pin it with --fingerprint.", c.base, c.base.Hostname(), he)
	case errors.As(err, &cerr):
		return fmt.Errorf("The certificate of the Gatehouse server at %s is not valid: %v", c.base, cerr.Err)
	case errors.As(err, &rhe):
		return fmt.Errorf("The Gatehouse server at %s does not speak HTTPS: use http:// (the admin listener serves plain HTTP on loopback addresses).", c.base)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("Cannot connect to the Gatehouse server at %s: the connection was refused. Is the server running?", c.base)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("The Gatehouse server at %s did not answer in time.", c.base)
	}
	return fmt.Errorf("Cannot reach the Gatehouse server at %s: %v", c.base, err)
}

// do sends a request with body (a wire type, or nil) and decodes the JSON
// answer into out (a pointer to a wire type, or nil); it signs in first
// when needed and once more on 401. It returns the answer's headers.
func (c *Client) do(ctx context.Context, method, rawURL string, body, out any) (http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		payload, err = json.Marshal(body)
		if err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		token := c.token
		c.mu.Unlock()
		if token == "" {
			if err := c.Login(ctx); err != nil {
				return nil, err
			}
			c.mu.Lock()
			token = c.token
			c.mu.Unlock()
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		// The audit log names the surface a change came from; the REST
		// API reads this header (api.SurfaceHeader).
		req.Header.Set("X-Gatehouse-Surface", "shell")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, c.connError(err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return nil, c.connError(err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && c.password != "" {
			// the token expired: sign in again and retry once
			c.mu.Lock()
			if c.token == token {
				c.token = ""
			}
			c.mu.Unlock()
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return resp.Header, &cmdlet.APIError{Status: 401, Code: "Unauthorized", Message: "Your session has expired or is not valid. Sign in again."}
		}
		if resp.StatusCode/100 != 2 {
			return resp.Header, decodeAPIError(resp.StatusCode, data)
		}
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return resp.Header, nil
		}
		if err := decodeAnswer(data, out); err != nil {
			return resp.Header, err
		}
		return resp.Header, nil
	}
}

// decodeAnswer decodes a success answer into its wire type. Properties the
// wire type does not know are ignored, so that a newer server's additions
// do not break an older shell.
func decodeAnswer(data []byte, out any) error {
	if t, ok := out.(interface{ target([]byte) (any, error) }); ok {
		var err error
		if out, err = t.target(data); err != nil {
			return err
		}
	}
	if err := json.Unmarshal(data, out); err != nil {
		if errors.Is(err, errNotList) {
			return err
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return fmt.Errorf("the server's answer does not match the API: property %s is a JSON %s, not %s", ute.Field, ute.Value, ute.Type)
		}
		return fmt.Errorf("the server's answer is not valid JSON: %v", err)
	}
	return nil
}

func decodeAPIError(status int, data []byte) error {
	var env wire.ErrorBody
	if json.Unmarshal(data, &env) == nil && (env.Error.Message != "" || env.Error.Code != "") {
		return &cmdlet.APIError{Status: status, Code: env.Error.Code, Message: env.Error.Message}
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200]
	}
	return &cmdlet.APIError{Status: status, Code: http.StatusText(status), Message: fmt.Sprintf("The server answered %d %s. %s", status, http.StatusText(status), text)}
}

var _ cmdlet.API = (*Client)(nil)
