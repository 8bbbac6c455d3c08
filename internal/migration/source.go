package migration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Security values of New-MigrationEndpoint -Security.
const (
	SecuritySsl  = "Ssl"  // implicit TLS (993)
	SecurityTls  = "Tls"  // STARTTLS
	SecurityNone = "None" // plaintext
)

// Source is the address and transport of a source server.
type Source struct {
	Server   string
	Port     int
	Security string
	// TLS, when set, is used for Ssl and Tls (tests trust their own CA
	// through it); nil verifies the server's certificate with the system
	// roots.
	TLS *tls.Config
	// Trusted are PEM CA certificates trusted besides the roots of TLS
	// (or the system roots): the endpoint's -TrustedCertificate.
	Trusted []byte
	// IdleTimeout ends a connection on which the source sent nothing for
	// so long (default 2 minutes), so a source that stops answering is
	// treated like one that dropped the connection.
	IdleTimeout time.Duration
}

// AuthError is a source's refusal of the login: permanent for this attempt,
// reported to the admin with the source's own text.
type AuthError struct{ Text string }

func (e *AuthError) Error() string { return "the source server refused the login: " + e.Text }

// deadlineConn sets a fresh deadline before every read and write.
type deadlineConn struct {
	net.Conn
	idle time.Duration
}

func (c deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// Dial connects to the source and waits for its greeting. ctx bounds the
// connect and the TLS handshake; the caller closes the client.
func (s Source) Dial(ctx context.Context) (*imapclient.Client, error) {
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	cfg := s.TLS
	if cfg == nil {
		cfg = &tls.Config{}
	}
	roots := cfg.RootCAs
	if len(s.Trusted) > 0 && s.Security != SecurityNone {
		certs, err := ParseTrustedCertificates(s.Trusted, time.Now())
		if err != nil {
			return nil, err
		}
		roots = rootsWith(roots, certs)
	}
	addr := net.JoinHostPort(s.Server, strconv.Itoa(s.Port))
	d := net.Dialer{Timeout: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	conn := net.Conn(deadlineConn{raw, idle})
	cfg = cfg.Clone()
	cfg.RootCAs = roots
	if cfg.ServerName == "" {
		cfg.ServerName = s.Server
	}
	var c *imapclient.Client
	switch s.Security {
	case SecuritySsl:
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS with %s: %w", addr, err)
		}
		c = imapclient.New(tc, &imapclient.Options{TLSConfig: cfg})
	case SecurityTls:
		c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	case SecurityNone, "":
		c = imapclient.New(conn, nil)
	default:
		raw.Close()
		return nil, fmt.Errorf("security %q: want Ssl, Tls or None", s.Security)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting of %s: %w", addr, err)
	}
	// The connection is not closed from another goroutine when ctx ends:
	// go-imap v2.0.0-beta.8 races (its reader goroutine against a FETCH's
	// Collect discarding a literal) when the connection is closed under a
	// FETCH in flight, which the race detector caught when a batch was
	// stopped mid-sync. A sync checks ctx between steps (a step is bounded
	// by StepMessages and StepBytes) and closes the client itself once no
	// command is in flight; a source that stalls ends at the idle timeout.
	return c, nil
}

// Login signs in; a refusal is an *AuthError with the source's text.
// userName may be "admin*user", which Dovecot and others read as a master
// user signing in as user.
func Login(c *imapclient.Client, userName, password string) error {
	err := c.Login(userName, password).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) {
		text := ie.Text
		if ie.Code != "" {
			text = "[" + string(ie.Code) + "] " + text
		}
		return &AuthError{Text: text}
	}
	return err
}

// Probe connects to the source and, when userName is set, signs in
// (Test-MigrationServerAvailability). It returns the source's capabilities.
func (s Source) Probe(ctx context.Context, userName, password string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if userName != "" {
		if err := Login(c, userName, password); err != nil {
			return nil, err
		}
	}
	caps, err := c.Capability().Wait()
	if err != nil {
		return nil, err
	}
	var out []string
	for cp := range caps {
		out = append(out, string(cp))
	}
	c.Logout().Wait()
	return out, nil
}

// sourceFolder is one selectable folder of the source.
type sourceFolder struct {
	Name       string // at the source, decoded from modified UTF-7
	Target     string // Gatehouse's name, "/"-separated
	SpecialUse string // the Gatehouse special use it maps to, or ""
}

// specialByName maps well-known folder names of servers without
// SPECIAL-USE (RFC 6154) to the special use Gatehouse gives its default
// folders (Drafts, Sent, Trash, Junk, Archive).
var specialByName = map[string]string{
	"sent": `\Sent`, "sent items": `\Sent`, "sent messages": `\Sent`, "sent mail": `\Sent`, "gesendet": `\Sent`, "gesendete objekte": `\Sent`,
	"drafts": `\Drafts`, "draft": `\Drafts`, "entwürfe": `\Drafts`,
	"trash": `\Trash`, "deleted items": `\Trash`, "deleted messages": `\Trash`, "papierkorb": `\Trash`, "gelöschte elemente": `\Trash`,
	"junk": `\Junk`, "spam": `\Junk`, "junk e-mail": `\Junk`, "junk email": `\Junk`,
	"archive": `\Archive`, "archives": `\Archive`, "archiv": `\Archive`,
}

// mapFolders turns the source's LIST into the folders to copy: the
// hierarchy delimiter becomes "/" (a "/" inside a source name component
// becomes "_", since Gatehouse's delimiter cannot be part of a name), INBOX
// stays INBOX, and a top-level folder with a special use (by attribute, or
// by a well-known name when the source has no SPECIAL-USE) goes into
// Gatehouse's default folder of that use, whatever its name at the source.
// Folders named in exclude (source or target name, case-insensitive, with
// their subfolders) are left out.
func mapFolders(list []*imap.ListData, exclude []string, defaults map[string]string) []sourceFolder {
	var out []sourceFolder
	taken := map[string]bool{}
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		parts := []string{l.Mailbox}
		if l.Delim != 0 {
			parts = strings.Split(l.Mailbox, string(l.Delim))
		}
		for i, p := range parts {
			parts[i] = strings.ReplaceAll(p, "/", "_")
		}
		target := strings.Join(parts, "/")
		if strings.EqualFold(l.Mailbox, "INBOX") {
			target = "INBOX"
		}
		use := ""
		for _, a := range l.Attrs {
			switch a {
			case imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive:
				use = string(a)
			}
		}
		if use == "" && len(parts) == 1 {
			use = specialByName[strings.ToLower(parts[0])]
		}
		switch {
		case use == "":
		case len(parts) > 1:
			use = "" // a Sent folder inside another is a folder like others
		case defaults[use] != "" && !taken[defaults[use]]:
			target = defaults[use]
		case defaults[use] != "":
			use = "" // the default of this use already takes another source folder
		}
		if excluded(l.Mailbox, target, l.Delim, exclude) {
			continue
		}
		taken[target] = true
		out = append(out, sourceFolder{Name: l.Mailbox, Target: target, SpecialUse: use})
	}
	return out
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

func excluded(source, target string, delim rune, exclude []string) bool {
	for _, e := range exclude {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.EqualFold(source, e) || strings.EqualFold(target, e) ||
			strings.HasPrefix(strings.ToLower(target), strings.ToLower(e)+"/") ||
			(delim != 0 && strings.HasPrefix(strings.ToLower(source), strings.ToLower(e)+string(delim))) {
			return true
		}
	}
	return false
}

// toStoreFlags splits IMAP flags into system flags and keywords; \Recent is
// per session and dropped.
func toStoreFlags(flags []imap.Flag) (store.Flags, []string) {
	var f store.Flags
	var kw []string
	for _, fl := range flags {
		switch strings.ToLower(string(fl)) {
		case `\seen`:
			f |= store.FlagSeen
		case `\answered`:
			f |= store.FlagAnswered
		case `\flagged`:
			f |= store.FlagFlagged
		case `\deleted`:
			f |= store.FlagDeleted
		case `\draft`:
			f |= store.FlagDraft
		case `\recent`:
		default:
			if !strings.HasPrefix(string(fl), `\`) {
				kw = append(kw, string(fl))
			}
		}
	}
	return f, kw
}
