package admincenter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// Recipients > Migration: IMAP migration batches with each user's progress
// and errors in words, and a wizard (endpoint, CSV file, start) that calls
// the same service methods as New-MigrationEndpoint and New-MigrationBatch.

type migrationUserView struct {
	service.MigrationUser
	// Done and Total make the progress bar; Indeterminate while the total
	// is not known yet.
	Done, Total   int64
	Indeterminate bool
	Percent       int
	Size          string
}

type migrationBatchView struct {
	service.MigrationBatch
	Users []migrationUserView
	// The actions the batch's status allows.
	CanStart, CanStop, CanComplete, CanRemove bool
}

type migrationData struct {
	Batches   []migrationBatchView
	Endpoints []service.MigrationEndpoint
	CanChange bool
	Deny      string
	// Busy: a batch is syncing; the page reloads itself.
	Busy bool
}

func (c *Center) migrationPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	bs, err := c.svc.GetMigrationBatches(ctx, s.caller, "", service.MigrationPage{ResultSize: service.Unlimited})
	if err != nil {
		return err
	}
	eps, err := c.svc.GetMigrationEndpoints(ctx, s.caller, "", service.MigrationPage{ResultSize: service.Unlimited})
	if err != nil {
		return err
	}
	d := migrationData{Endpoints: eps.Items, CanChange: s.caller.Can(rbac.Migration)}
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.Migration))
	}
	for _, b := range bs.Items {
		v := migrationBatchView{MigrationBatch: b}
		switch b.Status {
		case "Created", "Stopped", "Failed":
			v.CanStart, v.CanRemove = true, true
		case "Synced":
			v.CanStart, v.CanStop, v.CanComplete, v.CanRemove = true, true, true, true
		case "Syncing":
			v.CanStop = true
			d.Busy = true
		case "Completing":
			d.Busy = true
		case "Completed":
			v.CanRemove = true
		}
		if b.Status == "Created" {
			v.CanStop = true
		}
		// Every user of the batch, page after page.
		for cursor := ""; ; {
			us, err := c.svc.GetMigrationUsers(ctx, s.caller, service.MigrationUserQuery{BatchId: b.Identity,
				MigrationPage: service.MigrationPage{Cursor: cursor, ResultSize: 500}})
			if err != nil {
				return err
			}
			for _, u := range us.Items {
				uv := migrationUserView{MigrationUser: u, Done: u.ItemsSynced + u.ItemsSkipped, Total: u.TotalItemsInSourceMailboxCount,
					Size: shortSize(service.FormatSize(u.BytesTransferred))}
				if uv.Total == 0 && (u.Status == "Syncing" || u.Status == "Created") {
					uv.Indeterminate = true
				}
				if uv.Total > 0 {
					uv.Done = min(uv.Done, uv.Total)
					uv.Percent = int(uv.Done * 100 / uv.Total)
				} else if !uv.Indeterminate {
					uv.Total, uv.Done, uv.Percent = 1, 1, 100 // an empty source mailbox
				}
				v.Users = append(v.Users, uv)
			}
			if !us.More {
				break
			}
			cursor = us.Next
		}
		d.Batches = append(d.Batches, v)
	}
	page := c.newPage(w, r, s, "Migration", "recipients", "migration")
	page.Data = d
	c.render(w, r, http.StatusOK, "migration", page)
	return nil
}

// migrationUserPage is one user's detail: the progress, each source
// folder's, and every skipped message with its folder, UID, subject, size
// and the reason in words (Get-MigrationUserStatistics).
func (c *Center) migrationUserPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.URL.Query().Get("id")
	us, err := c.svc.GetMigrationUsers(r.Context(), s.caller, service.MigrationUserQuery{Identity: id, Statistics: true})
	if err != nil {
		return err
	}
	u := us.Items[0]
	type skipped struct {
		service.MigrationSkippedItem
		Size string
	}
	d := struct {
		User    service.MigrationUser
		Size    string
		Skipped []skipped
	}{User: u, Size: shortSize(service.FormatSize(u.BytesTransferred))}
	for _, it := range u.SkippedItems {
		d.Skipped = append(d.Skipped, skipped{MigrationSkippedItem: it, Size: shortSize(service.FormatSize(it.Size))})
	}
	page := c.newPage(w, r, s, "Migration of "+u.Identity, "recipients", "migration")
	page.Data = d
	c.render(w, r, http.StatusOK, "migrationuser", page)
	return nil
}

type migrationNewData struct {
	Endpoints []service.MigrationEndpoint
	// What was typed, shown again after a refusal. Trusted is the PEM
	// CA certificate(s) of a new endpoint's server.
	Name, Endpoint, Server, Port, Security, Trusted, CSV, Exclude string
	Start                                                         bool
	CanChange                                                     bool
	Deny                                                          string
}

func (c *Center) migrationNewForm(w http.ResponseWriter, r *http.Request, s *session, status int, d migrationNewData, p *problem) error {
	eps, err := c.svc.GetMigrationEndpoints(r.Context(), s.caller, "", service.MigrationPage{ResultSize: service.Unlimited})
	if err != nil {
		return err
	}
	d.Endpoints = eps.Items
	d.CanChange = s.caller.Can(rbac.Migration)
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.Migration))
	}
	page := c.newPage(w, r, s, "New migration batch", "recipients", "migration")
	page.Problem = p
	page.Data = d
	c.render(w, r, status, "migrationnew", page)
	return nil
}

func (c *Center) migrationNewPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.migrationNewForm(w, r, s, http.StatusOK, migrationNewData{Security: "Ssl", Port: "993", Start: true}, nil)
}

// migrationNew is the wizard's last step: the endpoint (an existing one,
// or a new one made first with New-MigrationEndpoint, which tries the
// server), then New-MigrationBatch with the CSV file; a refusal shows the
// form again with what was given and the reason, every bad row named.
func (c *Center) migrationNew(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	d := migrationNewData{Name: strings.TrimSpace(f.Get("name")), Endpoint: f.Get("endpoint"), Server: strings.TrimSpace(f.Get("server")),
		Port: strings.TrimSpace(f.Get("port")), Security: f.Get("security"), Trusted: f.Get("trusted"), CSV: f.Get("csv"), Exclude: f.Get("exclude"), Start: f.Get("start") == "on"}
	refuse := func(err error) error {
		p := describe(err)
		if p.Internal {
			return err
		}
		return c.migrationNewForm(w, r, s, p.Status, d, &p)
	}
	ctx := r.Context()
	endpoint := d.Endpoint
	if endpoint == "" {
		port := 0
		if d.Port != "" {
			n, err := strconv.Atoi(d.Port)
			if err != nil {
				return refuse(userError(http.StatusBadRequest, "Port", fmt.Sprintf("The port %q isn't a number.", d.Port)))
			}
			port = n
		}
		name := "IMAP " + d.Server
		e, err := c.svc.NewMigrationEndpoint(ctx, s.caller, service.NewMigrationEndpointRequest{Name: name, RemoteServer: d.Server, Port: port, Security: d.Security,
			TrustedCertificate: []byte(strings.TrimSpace(d.Trusted))})
		if err != nil {
			return refuse(err)
		}
		endpoint, d.Endpoint = e.Identity, e.Identity
	}
	var exclude []string
	for _, x := range strings.Split(d.Exclude, ",") {
		if x = strings.TrimSpace(x); x != "" {
			exclude = append(exclude, x)
		}
	}
	b, err := c.svc.NewMigrationBatch(ctx, s.caller, service.NewMigrationBatchRequest{Name: d.Name, SourceEndpoint: endpoint,
		CSVData: []byte(d.CSV), ExcludeFolders: exclude, AutoStart: d.Start})
	if err != nil {
		return refuse(err)
	}
	text := fmt.Sprintf("Created the migration batch %s with %s.", b.Identity, plural(b.TotalCount, "user", "users"))
	if d.Start {
		text += " It is starting."
	}
	return c.redirect(w, r, migrationPath, &flash{Kind: "success", Text: text})
}

// migrationAction is Start, Stop, Complete or Remove of one batch.
func (c *Center) migrationAction(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	id := f.Get("batch")
	ctx := r.Context()
	var err error
	var done string
	switch f.Get("action") {
	case "start":
		err, done = c.svc.StartMigrationBatch(ctx, s.caller, id), "Started"
	case "stop":
		err, done = c.svc.StopMigrationBatch(ctx, s.caller, id), "Stopped"
	case "complete":
		err, done = c.svc.CompleteMigrationBatch(ctx, s.caller, id), "Completing"
	case "remove":
		err, done = c.svc.RemoveMigrationBatch(ctx, s.caller, id), "Removed"
	default:
		return userError(http.StatusBadRequest, "Unknown action", "The form asked for an action the migration page doesn't have.")
	}
	if err != nil {
		p := describe(err)
		if p.Internal {
			return err
		}
		return c.redirect(w, r, migrationPath, &flash{Kind: "error", Text: p.Message})
	}
	return c.redirect(w, r, migrationPath, &flash{Kind: "success", Text: fmt.Sprintf("%s the migration batch %s.", done, id)})
}
