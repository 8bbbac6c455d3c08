package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// IMAP migration: endpoints and batches as Exchange's cmdlets shape them
// (New-MigrationEndpoint -IMAP, New-MigrationBatch -CSVData ...). The copy
// itself is the migration engine's; the service only records what the
// admin asks for, and the engine picks it up.

// MigrationHooks connect the service to the migration engine without the
// service knowing IMAP: App wires them (nil hooks refuse what needs them).
type MigrationHooks struct {
	// Seal encrypts a source password for storage.
	Seal func(plain []byte) ([]byte, error)
	// Probe connects to a source server (trusting the PEM CA certificates
	// trusted besides the system roots) and, when user is set, signs in;
	// it returns the source's capabilities.
	Probe func(ctx context.Context, server string, port int, security string, trusted []byte, user, password string) ([]string, error)
	// Trust checks PEM CA certificates given to -TrustedCertificate and
	// describes each (subject and expiry); its error says in words what
	// is wrong (not PEM, not a certificate, expired).
	Trust func(pem []byte) ([]string, error)
	// Wake tells the engine to look at the batches now.
	Wake func()
}

// SetMigrationHooks installs the hooks (once, at start).
func (s *Service) SetMigrationHooks(h MigrationHooks) { s.migration = h }

// MigrationEndpoint is Get-MigrationEndpoint's view.
type MigrationEndpoint struct {
	Identity                string
	EndpointType            string
	RemoteServer            string
	Port                    int
	Security                string
	Authentication          string
	MaxConcurrentMigrations int
	// TrustedCertificates names the CA certificates trusted besides the
	// system roots (subject and expiry), a Gatehouse extension.
	TrustedCertificates []string
	WhenCreated         time.Time
}

func (s *Service) endpointView(e store.MigrationEndpoint) MigrationEndpoint {
	v := MigrationEndpoint{Identity: e.Name, EndpointType: e.EndpointType, RemoteServer: e.RemoteServer, Port: e.Port,
		Security: e.Security, Authentication: e.Authentication, MaxConcurrentMigrations: e.MaxConcurrentMigrations, WhenCreated: e.WhenCreated}
	if len(e.TrustedCertificates) > 0 {
		var err error
		if s.migration.Trust == nil {
			err = errors.New("IMAP migration is not available on this server")
		} else {
			v.TrustedCertificates, err = s.migration.Trust(e.TrustedCertificates)
		}
		if err != nil {
			// stored when valid, it may have expired since: say so
			v.TrustedCertificates = []string{err.Error()}
		}
	}
	return v
}

// checkTrust checks -TrustedCertificate; nil or empty data trusts the
// system roots only.
func (s *Service) checkTrust(pem []byte) error {
	if len(pem) == 0 {
		return nil
	}
	if s.migration.Trust == nil {
		return errors.New("IMAP migration is not available on this server")
	}
	if _, err := s.migration.Trust(pem); err != nil {
		return invalid("TrustedCertificate", "%s", upperFirst(err.Error())+".")
	}
	return nil
}

func upperFirst(v string) string {
	if v == "" {
		return v
	}
	r, n := utf8.DecodeRuneInString(v)
	return strings.ToUpper(string(r)) + v[n:]
}

// NewMigrationEndpointRequest holds New-MigrationEndpoint -IMAP's parameters.
type NewMigrationEndpointRequest struct {
	Name                    string
	RemoteServer            string
	Port                    int
	Security                string // Ssl (default), Tls or None
	Authentication          string // Basic (the only one)
	MaxConcurrentMigrations int    // default 20, as Exchange
	// TrustedCertificate holds PEM CA certificates the endpoint trusts
	// besides the system roots (a Gatehouse extension, for an old server
	// with a private CA).
	TrustedCertificate []byte
	// SkipVerification leaves out the connection test New-MigrationEndpoint
	// makes first (Exchange's -SkipVerification).
	SkipVerification bool
}

func normalizeSecurity(v string) (string, error) {
	for _, s := range []string{"Ssl", "Tls", "None"} {
		if strings.EqualFold(v, s) {
			return s, nil
		}
	}
	if v == "" {
		return "Ssl", nil
	}
	return "", invalid("Security", "Cannot bind parameter 'Security'. Cannot convert value \"%s\" to type IMAPSecurityMechanism: the valid values are \"None\", \"Ssl\", \"Tls\".", v)
}

func validServer(server string, port int) error {
	if strings.TrimSpace(server) == "" || strings.ContainsAny(server, " /\\@") {
		return invalid("RemoteServer", "The RemoteServer parameter must be a host name or IP address; got %q.", server)
	}
	if port <= 0 || port > 65535 {
		return invalid("Port", "The Port parameter must be between 1 and 65535; got %d.", port)
	}
	return nil
}

// NewMigrationEndpoint creates an IMAP endpoint after testing that the
// server answers (unless SkipVerification).
func (s *Service) NewMigrationEndpoint(ctx context.Context, c Caller, r NewMigrationEndpointRequest) (MigrationEndpoint, error) {
	var out MigrationEndpoint
	sec, secErr := normalizeSecurity(r.Security)
	if r.Port == 0 {
		r.Port = 993
		if sec == "None" || sec == "Tls" {
			r.Port = 143
		}
	}
	if r.MaxConcurrentMigrations == 0 {
		r.MaxConcurrentMigrations = 20
	}
	o := op{cmdlet: "New-MigrationEndpoint", perm: rbac.Migration, object: r.Name, params: []store.Parameter{
		{Name: "IMAP", Value: "True"}, {Name: "Name", Value: r.Name}, {Name: "RemoteServer", Value: r.RemoteServer},
		{Name: "Port", Value: strconv.Itoa(r.Port)}, {Name: "Security", Value: r.Security},
		{Name: "MaxConcurrentMigrations", Value: strconv.Itoa(r.MaxConcurrentMigrations)}}}
	if len(r.TrustedCertificate) > 0 {
		o.params = append(o.params, store.Parameter{Name: "TrustedCertificate", Value: fmt.Sprintf("(%d bytes)", len(r.TrustedCertificate))})
	}
	trustErr := s.checkTrust(r.TrustedCertificate)
	if c.Can(rbac.Migration) && secErr == nil && trustErr == nil && !r.SkipVerification {
		// The connection test runs before the transaction: it may take
		// seconds, and a failure is audited like any other.
		if err := validServer(r.RemoteServer, r.Port); err == nil {
			if err := s.probe(ctx, r.RemoteServer, r.Port, sec, r.TrustedCertificate, "", ""); err != nil {
				s.auditFailure(ctx, c, o, err)
				return out, err
			}
		}
	}
	_, err := s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		if err := validName("Name", r.Name, 64); err != nil {
			return mutation{}, err
		}
		if secErr != nil {
			return mutation{}, secErr
		}
		if trustErr != nil {
			return mutation{}, trustErr
		}
		if err := validServer(r.RemoteServer, r.Port); err != nil {
			return mutation{}, err
		}
		if a := r.Authentication; a != "" && !strings.EqualFold(a, "Basic") {
			return mutation{}, invalid("Authentication", "IMAP migration endpoints support Basic authentication only; got %q.", a)
		}
		if r.MaxConcurrentMigrations < 1 || r.MaxConcurrentMigrations > 300 {
			return mutation{}, invalid("MaxConcurrentMigrations", "MaxConcurrentMigrations must be between 1 and 300; got %d.", r.MaxConcurrentMigrations)
		}
		e := store.MigrationEndpoint{Name: r.Name, EndpointType: "IMAP", RemoteServer: r.RemoteServer, Port: r.Port, Security: sec,
			Authentication: "Basic", MaxConcurrentMigrations: r.MaxConcurrentMigrations, TrustedCertificates: r.TrustedCertificate, WhenCreated: s.now().UTC()}
		if err := tx.InsertMigrationEndpoint(ctx, &e); err != nil {
			if errors.Is(err, store.ErrExists) {
				return mutation{}, &ConflictError{Message: fmt.Sprintf("The migration endpoint '%s' already exists.", r.Name)}
			}
			return mutation{}, err
		}
		out = s.endpointView(e)
		return mutation{audit: true, result: Result{Identity: e.Name, Changes: []store.PropertyChange{
			{Name: "RemoteServer", NewValue: e.RemoteServer}, {Name: "Port", NewValue: strconv.Itoa(e.Port)}, {Name: "Security", NewValue: e.Security}}}}, nil
	})
	return out, err
}

func (s *Service) probe(ctx context.Context, server string, port int, security string, trusted []byte, user, password string) error {
	if s.migration.Probe == nil {
		return errors.New("IMAP migration is not available on this server")
	}
	if _, err := s.migration.Probe(ctx, server, port, security, trusted, user, password); err != nil {
		return &ValidationError{Parameter: "RemoteServer", Message: fmt.Sprintf("The connection to the server '%s:%d' could not be completed: %v", server, port, err)}
	}
	return nil
}

// MigrationPage selects a page of a migration listing, as -ResultSize and
// the REST lists' cursor do: the objects after the one Cursor names (the
// page before's Page.Next; "" from the start), at most ResultSize of them
// (0: DefaultResultSize; Unlimited: all).
type MigrationPage struct {
	Cursor     string
	ResultSize int
}

// limit is what to ask the store for: one more than the page, to know
// whether there is a next one (0: all).
func (p MigrationPage) limit() int {
	switch p.ResultSize {
	case Unlimited:
		return 0
	case 0:
		return DefaultResultSize + 1
	}
	return p.ResultSize + 1
}

// cut makes the page of items read with p.limit(): More and the
// continuation token (the key of the page's last object) when the store
// had one more than the page holds.
func cut[T any](items []T, p MigrationPage, key func(T) string) Page[T] {
	out := Page[T]{Items: items}
	if n := p.limit() - 1; n > 0 && len(items) > n {
		out.Items, out.More, out.Next = items[:n], true, key(items[n-1])
	}
	out.Total = len(out.Items)
	return out
}

// mapPage turns a page of T into a page of their views.
func mapPage[T, V any](p Page[T], view func(T) V) Page[V] {
	out := Page[V]{Total: p.Total, More: p.More, Next: p.Next}
	for _, it := range p.Items {
		out.Items = append(out.Items, view(it))
	}
	return out
}

// GetMigrationEndpoints gets one endpoint (identity) or a page of them by
// name.
func (s *Service) GetMigrationEndpoints(ctx context.Context, c Caller, identity string, p MigrationPage) (Page[MigrationEndpoint], error) {
	var out Page[MigrationEndpoint]
	err := s.read(ctx, c, "Get-MigrationEndpoint", rbac.ViewRecipients, func(tx store.Tx) error {
		if identity != "" {
			e, err := tx.MigrationEndpoint(ctx, identity, 0)
			if errors.Is(err, store.ErrNotFound) {
				return &NotFoundError{Identity: identity, Server: s.server}
			}
			out = Page[MigrationEndpoint]{Items: []MigrationEndpoint{s.endpointView(e)}, Total: 1}
			return err
		}
		es, err := tx.MigrationEndpoints(ctx, p.Cursor, p.limit())
		if err != nil {
			return err
		}
		out = mapPage(cut(es, p, func(e store.MigrationEndpoint) string { return e.Name }), s.endpointView)
		return nil
	})
	return out, err
}

// SetMigrationEndpointRequest holds Set-MigrationEndpoint's parameters;
// nil leaves a property as it is.
type SetMigrationEndpointRequest struct {
	Identity                string
	RemoteServer            *string
	Port                    *int
	Security                *string
	MaxConcurrentMigrations *int
	// TrustedCertificate replaces the trusted CA certificates; an empty
	// slice trusts the system roots only again.
	TrustedCertificate []byte
	SetTrust           bool
	SkipVerification   bool
}

// SetMigrationEndpoint changes an endpoint; the server is tried with the
// new settings first (unless SkipVerification), as New-MigrationEndpoint
// does. A batch syncing goes on with the settings it started with; its
// next sync uses the new ones.
func (s *Service) SetMigrationEndpoint(ctx context.Context, c Caller, r SetMigrationEndpointRequest) (MigrationEndpoint, error) {
	var out MigrationEndpoint
	o := op{cmdlet: "Set-MigrationEndpoint", perm: rbac.Migration, object: r.Identity, params: []store.Parameter{{Name: "Identity", Value: r.Identity}}}
	if r.RemoteServer != nil {
		o.params = append(o.params, store.Parameter{Name: "RemoteServer", Value: *r.RemoteServer})
	}
	if r.Port != nil {
		o.params = append(o.params, store.Parameter{Name: "Port", Value: strconv.Itoa(*r.Port)})
	}
	if r.Security != nil {
		o.params = append(o.params, store.Parameter{Name: "Security", Value: *r.Security})
	}
	if r.MaxConcurrentMigrations != nil {
		o.params = append(o.params, store.Parameter{Name: "MaxConcurrentMigrations", Value: strconv.Itoa(*r.MaxConcurrentMigrations)})
	}
	if r.SetTrust {
		o.params = append(o.params, store.Parameter{Name: "TrustedCertificate", Value: fmt.Sprintf("(%d bytes)", len(r.TrustedCertificate))})
	}
	// apply gives the endpoint as it would be after the change.
	apply := func(e store.MigrationEndpoint) (store.MigrationEndpoint, error) {
		if r.RemoteServer != nil {
			e.RemoteServer = *r.RemoteServer
		}
		if r.Security != nil {
			sec, err := normalizeSecurity(*r.Security)
			if err != nil {
				return e, err
			}
			e.Security = sec
		}
		if r.Port != nil {
			e.Port = *r.Port
		}
		if r.MaxConcurrentMigrations != nil {
			e.MaxConcurrentMigrations = *r.MaxConcurrentMigrations
		}
		if r.SetTrust {
			if err := s.checkTrust(r.TrustedCertificate); err != nil {
				return e, err
			}
			e.TrustedCertificates = r.TrustedCertificate
		}
		if err := validServer(e.RemoteServer, e.Port); err != nil {
			return e, err
		}
		if e.MaxConcurrentMigrations < 1 || e.MaxConcurrentMigrations > 300 {
			return e, invalid("MaxConcurrentMigrations", "MaxConcurrentMigrations must be between 1 and 300; got %d.", e.MaxConcurrentMigrations)
		}
		return e, nil
	}
	if c.Can(rbac.Migration) && !r.SkipVerification {
		// As New-MigrationEndpoint: the connection test runs before the
		// transaction, with the settings the change would give.
		var before store.MigrationEndpoint
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			before, err = tx.MigrationEndpoint(ctx, r.Identity, 0)
			return err
		})
		if err == nil {
			if after, err := apply(before); err == nil {
				if err := s.probe(ctx, after.RemoteServer, after.Port, after.Security, after.TrustedCertificates, "", ""); err != nil {
					s.auditFailure(ctx, c, o, err)
					return out, err
				}
			}
		}
	}
	_, err := s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		e, err := tx.MigrationEndpoint(ctx, r.Identity, 0)
		if errors.Is(err, store.ErrNotFound) {
			return mutation{}, &NotFoundError{Identity: r.Identity, Server: s.server}
		}
		if err != nil {
			return mutation{}, err
		}
		after, err := apply(e)
		if err != nil {
			return mutation{}, err
		}
		if err := tx.UpdateMigrationEndpoint(ctx, after); err != nil {
			return mutation{}, err
		}
		out = s.endpointView(after)
		var changes []store.PropertyChange
		add := func(name, old, new string) {
			if old != new {
				changes = append(changes, store.PropertyChange{Name: name, OldValue: old, NewValue: new})
			}
		}
		add("RemoteServer", e.RemoteServer, after.RemoteServer)
		add("Port", strconv.Itoa(e.Port), strconv.Itoa(after.Port))
		add("Security", e.Security, after.Security)
		add("MaxConcurrentMigrations", strconv.Itoa(e.MaxConcurrentMigrations), strconv.Itoa(after.MaxConcurrentMigrations))
		add("TrustedCertificates", strings.Join(s.endpointView(e).TrustedCertificates, "; "), strings.Join(out.TrustedCertificates, "; "))
		return mutation{audit: true, result: Result{Identity: e.Name, Changes: changes}}, nil
	})
	return out, err
}

// RemoveMigrationEndpoint removes an endpoint no batch uses.
func (s *Service) RemoveMigrationEndpoint(ctx context.Context, c Caller, identity string) error {
	_, err := s.change(ctx, c, op{cmdlet: "Remove-MigrationEndpoint", perm: rbac.Migration, object: identity,
		params: []store.Parameter{{Name: "Identity", Value: identity}}}, func(tx store.Tx) (mutation, error) {
		e, err := tx.MigrationEndpoint(ctx, identity, 0)
		if errors.Is(err, store.ErrNotFound) {
			return mutation{}, &NotFoundError{Identity: identity, Server: s.server}
		}
		if err != nil {
			return mutation{}, err
		}
		if err := tx.DeleteMigrationEndpoint(ctx, e.ID); errors.Is(err, store.ErrInvalid) {
			return mutation{}, &ConflictError{Message: fmt.Sprintf("The migration endpoint '%s' can't be removed because migration batches use it. Remove the batches first.", e.Name)}
		} else if err != nil {
			return mutation{}, err
		}
		return mutation{audit: true, result: Result{Identity: e.Name}}, nil
	})
	return err
}

// ServerAvailability is Test-MigrationServerAvailability's answer.
type ServerAvailability struct {
	Result       string // "Success" or "Failed"
	Message      string
	Capabilities []string
}

// TestMigrationServerAvailability connects to an IMAP server (and signs in
// when a user is given), as Test-MigrationServerAvailability -IMAP does.
// trusted holds PEM CA certificates trusted besides the system roots.
func (s *Service) TestMigrationServerAvailability(ctx context.Context, c Caller, server string, port int, security string, trusted []byte, user, password string) (ServerAvailability, error) {
	if !c.Can(rbac.Migration) {
		return ServerAvailability{}, s.denied(c, op{cmdlet: "Test-MigrationServerAvailability", perm: rbac.Migration})
	}
	sec, err := normalizeSecurity(security)
	if err != nil {
		return ServerAvailability{}, err
	}
	if port == 0 {
		port = 993
		if sec != "Ssl" {
			port = 143
		}
	}
	if err := validServer(server, port); err != nil {
		return ServerAvailability{}, err
	}
	if err := s.checkTrust(trusted); err != nil {
		return ServerAvailability{}, err
	}
	if s.migration.Probe == nil {
		return ServerAvailability{}, errors.New("IMAP migration is not available on this server")
	}
	caps, err := s.migration.Probe(ctx, server, port, sec, trusted, user, password)
	if err != nil {
		return ServerAvailability{Result: "Failed", Message: err.Error()}, nil
	}
	slices.Sort(caps)
	return ServerAvailability{Result: "Success", Message: fmt.Sprintf("The IMAP server %s:%d answered.", server, port), Capabilities: caps}, nil
}

// MigrationBatch is Get-MigrationBatch's view.
type MigrationBatch struct {
	Identity           string
	Status             string
	MigrationType      string
	SourceEndpoint     string
	TotalCount         int
	ActiveCount        int
	SyncedCount        int
	FinalizedCount     int
	StoppedCount       int
	FailedCount        int
	ExcludedFolders    []string
	SubmittedByUser    string
	CreationDateTime   time.Time
	StartDateTime      time.Time
	LastSyncedDateTime time.Time
	FinalizedDateTime  time.Time
	Message            string
}

// MigrationUser is Get-MigrationUser's view; Get-MigrationUserStatistics
// adds the skipped items and folders.
type MigrationUser struct {
	Identity                       string
	BatchId                        string
	Status                         string
	UserName                       string
	TotalItemsInSourceMailboxCount int64
	ItemsSynced                    int64
	ItemsSkipped                   int64
	BytesTransferred               int64
	LastSuccessfulSyncTimestamp    time.Time
	ErrorSummary                   string
	SkippedItems                   []MigrationSkippedItem `json:",omitempty"`
	Folders                        []MigrationFolder      `json:",omitempty"`
}

// MigrationSkippedItem is a message not copied, and why.
type MigrationSkippedItem struct {
	Folder  string
	UID     uint32
	Subject string
	Size    int64
	Reason  string
}

// MigrationFolder is a source folder's progress.
type MigrationFolder struct {
	Folder        string
	UIDValidity   uint32
	LastUID       uint32
	HighestModSeq uint64
}

func userView(u store.MigrationUser, batch string) MigrationUser {
	return MigrationUser{Identity: u.EmailAddress, BatchId: batch, Status: u.Status, UserName: u.UserName, TotalItemsInSourceMailboxCount: u.ItemsTotal, ItemsSynced: u.ItemsSynced,
		ItemsSkipped: u.ItemsSkipped, BytesTransferred: u.BytesTransferred, LastSuccessfulSyncTimestamp: u.LastSyncTime, ErrorSummary: u.Error}
}

func (s *Service) batchView(ctx context.Context, tx store.Tx, b store.MigrationBatch) (MigrationBatch, error) {
	v := MigrationBatch{Identity: b.Name, Status: b.Status, MigrationType: "IMAP", ExcludedFolders: b.ExcludeFolders, SubmittedByUser: b.CreatedBy,
		CreationDateTime: b.WhenCreated, StartDateTime: b.StartTime, LastSyncedDateTime: b.LastSyncedTime, FinalizedDateTime: b.CompletedTime, Message: b.Error}
	e, err := tx.MigrationEndpoint(ctx, "", b.EndpointID)
	if err != nil {
		return v, err
	}
	v.SourceEndpoint = e.Name
	for after := ""; ; {
		us, err := tx.MigrationUsers(ctx, b.ID, after, 1000)
		if err != nil {
			return v, err
		}
		for _, u := range us {
			v.TotalCount++
			switch u.Status {
			case store.MigrationSyncing, store.MigrationCompleting:
				v.ActiveCount++
			case store.MigrationSynced:
				v.SyncedCount++
			case store.MigrationCompleted:
				v.FinalizedCount++
			case store.MigrationStopped:
				v.StoppedCount++
			case store.MigrationFailed:
				v.FailedCount++
			}
		}
		if len(us) < 1000 {
			return v, nil
		}
		after = us[len(us)-1].EmailAddress
	}
}

func (s *Service) findBatch(ctx context.Context, tx store.Tx, identity string) (store.MigrationBatch, error) {
	b, err := tx.MigrationBatch(ctx, identity, 0)
	if errors.Is(err, store.ErrNotFound) {
		return b, &NotFoundError{Identity: identity, Server: s.server}
	}
	return b, err
}

// GetMigrationBatches gets one batch (identity) or a page of them by name.
func (s *Service) GetMigrationBatches(ctx context.Context, c Caller, identity string, p MigrationPage) (Page[MigrationBatch], error) {
	var out Page[MigrationBatch]
	err := s.read(ctx, c, "Get-MigrationBatch", rbac.ViewRecipients, func(tx store.Tx) error {
		var bs Page[store.MigrationBatch]
		if identity != "" {
			b, err := s.findBatch(ctx, tx, identity)
			if err != nil {
				return err
			}
			bs = Page[store.MigrationBatch]{Items: []store.MigrationBatch{b}, Total: 1}
		} else {
			all, err := tx.MigrationBatches(ctx, p.Cursor, p.limit())
			if err != nil {
				return err
			}
			bs = cut(all, p, func(b store.MigrationBatch) string { return b.Name })
		}
		out = Page[MigrationBatch]{Total: bs.Total, More: bs.More, Next: bs.Next}
		for _, b := range bs.Items {
			v, err := s.batchView(ctx, tx, b)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, v)
		}
		return nil
	})
	return out, err
}

// MigrationUserQuery selects migration users: one by identity (an email
// address), or a page of a batch's (BatchId; "" all batches) in address
// order.
type MigrationUserQuery struct {
	Identity string
	BatchId  string
	MigrationPage
	// Statistics adds skipped items and folder progress.
	Statistics bool
}

// GetMigrationUsers lists migration users (Get-MigrationUser,
// Get-MigrationUserStatistics).
func (s *Service) GetMigrationUsers(ctx context.Context, c Caller, q MigrationUserQuery) (Page[MigrationUser], error) {
	cmdlet := "Get-MigrationUser"
	if q.Statistics {
		cmdlet = "Get-MigrationUserStatistics"
	}
	var out Page[MigrationUser]
	err := s.read(ctx, c, cmdlet, rbac.ViewRecipients, func(tx store.Tx) error {
		names := map[int64]string{}
		batchName := func(id int64) string {
			if n, ok := names[id]; ok {
				return n
			}
			b, err := tx.MigrationBatch(ctx, "", id)
			if err == nil {
				names[id] = b.Name
			}
			return b.Name
		}
		var us []store.MigrationUser
		if q.Identity != "" {
			m, err := tx.MailboxByAddress(ctx, q.Identity)
			if err == nil {
				var u store.MigrationUser
				u, err = tx.MigrationUserByMailbox(ctx, m.ID)
				us = []store.MigrationUser{u}
			}
			if errors.Is(err, store.ErrNotFound) {
				return &NotFoundError{Identity: q.Identity, Server: s.server}
			}
			if err != nil {
				return err
			}
		} else {
			var batchID int64
			if q.BatchId != "" {
				b, err := s.findBatch(ctx, tx, q.BatchId)
				if err != nil {
					return err
				}
				batchID = b.ID
			}
			all, err := tx.MigrationUsers(ctx, batchID, q.Cursor, q.limit())
			if err != nil {
				return err
			}
			page := cut(all, q.MigrationPage, func(u store.MigrationUser) string { return u.EmailAddress })
			us, out.More, out.Next = page.Items, page.More, page.Next
		}
		out.Total = len(us)
		for _, u := range us {
			v := userView(u, batchName(u.BatchID))
			if q.Statistics {
				sk, err := tx.MigrationSkipped(ctx, u.ID)
				if err != nil {
					return err
				}
				for _, i := range sk {
					v.SkippedItems = append(v.SkippedItems, MigrationSkippedItem{Folder: i.SourceName, UID: i.SourceUID, Subject: i.Subject, Size: i.Size, Reason: i.Reason})
				}
				fs, err := tx.MigrationFolders(ctx, u.ID)
				if err != nil {
					return err
				}
				for _, f := range fs {
					v.Folders = append(v.Folders, MigrationFolder{Folder: f.SourceName, UIDValidity: f.UIDValidity, LastUID: f.LastUID, HighestModSeq: f.HighestModSeq})
				}
			}
			out.Items = append(out.Items, v)
		}
		return nil
	})
	return out, err
}

// NewMigrationBatchRequest holds New-MigrationBatch's parameters.
type NewMigrationBatchRequest struct {
	Name           string
	SourceEndpoint string
	// CSVData is the file's bytes: a header row with EmailAddress,
	// UserName and Password (any order), then one row per mailbox.
	CSVData        []byte
	ExcludeFolders []string
	AutoStart      bool
}

// csvColumns are the columns of an IMAP migration CSV file.
var csvColumns = []string{"EmailAddress", "UserName", "Password"}

type csvRow struct {
	line                     int
	email, userName, passwrd string
}

// parseMigrationCSV reads the CSV file and names every bad row.
func parseMigrationCSV(data []byte) ([]csvRow, []string) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM, as Excel writes
	if !utf8.Valid(data) {
		return nil, []string{"The CSV file isn't valid UTF-8 text."}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, []string{"The CSV file is empty; it needs a header row with the columns EmailAddress, UserName and Password."}
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("The CSV file can't be read: %v", err)}
	}
	var problems []string
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		known := ""
		for _, c := range csvColumns {
			if strings.EqualFold(h, c) {
				known = c
			}
		}
		if known == "" {
			problems = append(problems, fmt.Sprintf("Column '%s' isn't a column of an IMAP migration file; the columns are EmailAddress, UserName and Password.", h))
			continue
		}
		if _, dup := col[known]; dup {
			problems = append(problems, fmt.Sprintf("Column '%s' appears twice.", known))
		}
		col[known] = i
	}
	for _, c := range csvColumns {
		if _, ok := col[c]; !ok {
			problems = append(problems, fmt.Sprintf("The required column '%s' is missing.", c))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var rows []csvRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Row %d: %v", line, err))
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		rows = append(rows, csvRow{line: line, email: get("EmailAddress"), userName: get("UserName"), passwrd: get("Password")})
	}
	if len(rows) == 0 && len(problems) == 0 {
		problems = append(problems, "The CSV file has no rows after its header.")
	}
	return rows, problems
}

// NewMigrationBatch creates an IMAP batch. The CSV file is checked whole
// first: unknown columns, rows without a user name or password, addresses
// that are not Gatehouse mailboxes, mailboxes already in a batch; every
// bad row is named and nothing is created.
func (s *Service) NewMigrationBatch(ctx context.Context, c Caller, r NewMigrationBatchRequest) (MigrationBatch, error) {
	var out MigrationBatch
	rows, problems := parseMigrationCSV(r.CSVData)
	o := op{cmdlet: "New-MigrationBatch", perm: rbac.Migration, object: r.Name, params: []store.Parameter{
		{Name: "Name", Value: r.Name}, {Name: "SourceEndpoint", Value: r.SourceEndpoint},
		// Never the file itself: it holds passwords.
		{Name: "CSVData", Value: fmt.Sprintf("(%d bytes, %d rows)", len(r.CSVData), len(rows))},
		{Name: "ExcludeFolders", Value: strings.Join(r.ExcludeFolders, ",")}, {Name: "AutoStart", Value: boolText(r.AutoStart)}}}
	_, err := s.change(ctx, c, o, func(tx store.Tx) (mutation, error) {
		if err := validName("Name", r.Name, 64); err != nil {
			return mutation{}, err
		}
		ep, err := tx.MigrationEndpoint(ctx, r.SourceEndpoint, 0)
		if errors.Is(err, store.ErrNotFound) {
			return mutation{}, &NotFoundError{Identity: r.SourceEndpoint, Server: s.server}
		}
		if err != nil {
			return mutation{}, err
		}
		if _, err := tx.MigrationBatch(ctx, r.Name, 0); err == nil {
			return mutation{}, &ConflictError{Message: fmt.Sprintf("A migration batch named '%s' already exists.", r.Name)}
		}
		seen := map[int64]int{}
		var users []store.MigrationUser
		for _, row := range rows {
			bad := func(format string, args ...any) {
				problems = append(problems, fmt.Sprintf("Row %d (%s): ", row.line, row.email)+fmt.Sprintf(format, args...))
			}
			if row.email == "" {
				bad("EmailAddress is empty.")
				continue
			}
			m, err := tx.MailboxByAddress(ctx, row.email)
			if errors.Is(err, store.ErrNotFound) {
				bad("'%s' isn't the address of a mailbox in this organization. Create the mailbox first.", row.email)
				continue
			}
			if err != nil {
				return mutation{}, err
			}
			if prev, dup := seen[m.ID]; dup {
				bad("the mailbox is already on row %d.", prev)
				continue
			}
			seen[m.ID] = row.line
			if row.userName == "" {
				bad("UserName is empty.")
			}
			if row.passwrd == "" {
				bad("Password is empty.")
			}
			if u, err := tx.MigrationUserByMailbox(ctx, m.ID); err == nil {
				b, _ := tx.MigrationBatch(ctx, "", u.BatchID)
				bad("the user is already in migration batch '%s'. Remove it from that batch first.", b.Name)
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return mutation{}, err
			}
			if row.userName == "" || row.passwrd == "" {
				continue
			}
			if s.migration.Seal == nil {
				return mutation{}, errors.New("IMAP migration is not available on this server")
			}
			sealed, err := s.migration.Seal([]byte(row.passwrd))
			if err != nil {
				return mutation{}, err
			}
			users = append(users, store.MigrationUser{MailboxID: m.ID, EmailAddress: m.PrimarySmtpAddress, UserName: row.userName, Secret: sealed})
		}
		if len(problems) > 0 {
			return mutation{}, invalid("CSVData", "The CSV file can't be used; nothing was created:\n%s", strings.Join(problems, "\n"))
		}
		var exclude []string
		for _, f := range r.ExcludeFolders {
			if f = strings.TrimSpace(f); f != "" {
				exclude = append(exclude, f)
			}
		}
		b := store.MigrationBatch{Name: r.Name, EndpointID: ep.ID, Status: store.MigrationCreated, ExcludeFolders: exclude,
			CreatedBy: c.Name, WhenCreated: s.now().UTC()}
		if r.AutoStart {
			b.Status = store.MigrationSyncing
		}
		if err := tx.InsertMigrationBatch(ctx, &b, users); err != nil {
			return mutation{}, err
		}
		if out, err = s.batchView(ctx, tx, b); err != nil {
			return mutation{}, err
		}
		return mutation{audit: true, result: Result{Identity: b.Name, Changes: []store.PropertyChange{
			{Name: "Status", NewValue: b.Status}, {Name: "TotalCount", NewValue: strconv.Itoa(len(users))}}}}, nil
	})
	if err == nil && r.AutoStart && s.migration.Wake != nil {
		s.migration.Wake()
	}
	return out, err
}

// setBatchStatus is Start-, Stop- and Complete-MigrationBatch: the batch
// moves to status if it is in one of from, else the caller learns why not.
func (s *Service) setBatchStatus(ctx context.Context, c Caller, cmdlet, identity, status string, from []string, why string) error {
	_, err := s.change(ctx, c, op{cmdlet: cmdlet, perm: rbac.Migration, object: identity, params: []store.Parameter{{Name: "Identity", Value: identity}}},
		func(tx store.Tx) (mutation, error) {
			b, err := s.findBatch(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			if !slices.Contains(from, b.Status) {
				return mutation{}, &ConflictError{Message: fmt.Sprintf("The migration batch '%s' can't be %s because its status is %s; %s", b.Name, why, b.Status, cmdletHint(cmdlet))}
			}
			old := b.Status
			b.Status = status
			b.Error = ""
			if err := tx.UpdateMigrationBatch(ctx, b); err != nil {
				return mutation{}, err
			}
			return mutation{audit: true, result: Result{Identity: b.Name, Changes: []store.PropertyChange{{Name: "Status", OldValue: old, NewValue: status}}}}, nil
		})
	if err == nil && s.migration.Wake != nil {
		s.migration.Wake()
	}
	return err
}

func cmdletHint(cmdlet string) string {
	switch cmdlet {
	case "Start-MigrationBatch":
		return "a batch can be started when it is Created, Stopped, Failed or Synced."
	case "Stop-MigrationBatch":
		return "a batch can be stopped while it is Created, Syncing or Synced."
	case "Complete-MigrationBatch":
		return "a batch can be completed when it is Synced."
	default:
		return "stop it first."
	}
}

// StartMigrationBatch starts (or restarts, or syncs again now) a batch.
func (s *Service) StartMigrationBatch(ctx context.Context, c Caller, identity string) error {
	return s.setBatchStatus(ctx, c, "Start-MigrationBatch", identity, store.MigrationSyncing,
		[]string{store.MigrationCreated, store.MigrationStopped, store.MigrationFailed, store.MigrationSynced}, "started")
}

// StopMigrationBatch stops a batch; the engine ends its sync at the next
// step, and what was copied stays.
func (s *Service) StopMigrationBatch(ctx context.Context, c Caller, identity string) error {
	return s.setBatchStatus(ctx, c, "Stop-MigrationBatch", identity, store.MigrationStopped,
		[]string{store.MigrationCreated, store.MigrationSyncing, store.MigrationSynced}, "stopped")
}

// CompleteMigrationBatch runs a last sync and then completes the batch:
// the source passwords are deleted and the batch syncs no more.
func (s *Service) CompleteMigrationBatch(ctx context.Context, c Caller, identity string) error {
	return s.setBatchStatus(ctx, c, "Complete-MigrationBatch", identity, store.MigrationCompleting,
		[]string{store.MigrationSynced}, "completed")
}

// RemoveMigrationBatch removes a batch that is not syncing; the copied mail
// stays in the mailboxes.
func (s *Service) RemoveMigrationBatch(ctx context.Context, c Caller, identity string) error {
	_, err := s.change(ctx, c, op{cmdlet: "Remove-MigrationBatch", perm: rbac.Migration, object: identity, params: []store.Parameter{{Name: "Identity", Value: identity}}},
		func(tx store.Tx) (mutation, error) {
			b, err := s.findBatch(ctx, tx, identity)
			if err != nil {
				return mutation{}, err
			}
			if b.Status == store.MigrationSyncing || b.Status == store.MigrationCompleting {
				return mutation{}, &ConflictError{Message: fmt.Sprintf("The migration batch '%s' can't be removed while its status is %s; stop it first (Stop-MigrationBatch).", b.Name, b.Status)}
			}
			if err := tx.DeleteMigrationBatch(ctx, b.ID); err != nil {
				return mutation{}, err
			}
			return mutation{audit: true, result: Result{Identity: b.Name, Changes: []store.PropertyChange{{Name: "Status", OldValue: b.Status, NewValue: "Removed"}}}}, nil
		})
	return err
}
