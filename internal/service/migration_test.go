package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestMigrationPermissionsAndCSV pins who may migrate (Organization and
// Recipient Management; View-Only and Help Desk read only), that every
// change and refusal is audited without the CSV's passwords, that a bad
// CSV file is refused whole with every bad row named, and the batch state
// machine.
func TestMigrationPermissionsAndCSV(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 3)
	e.svc.SetMigrationHooks(service.MigrationHooks{Seal: func(p []byte) ([]byte, error) { return append([]byte("sealed:"), p...), nil }})
	viewOnly := caller(rbac.ViewOnlyOrganizationManagement)
	ep := service.NewMigrationEndpointRequest{Name: "Old", RemoteServer: "imap.fabrikam.com", Security: "none", SkipVerification: true}
	for _, c := range []service.Caller{helpDesk, viewOnly} {
		if _, err := e.svc.NewMigrationEndpoint(ctx, c, ep); !errors.Is(err, service.ErrForbidden) || !strings.Contains(err.Error(), "'Migration' role") {
			t.Errorf("%s: New-MigrationEndpoint: got %v; want refused naming the Migration role", c.Groups[0], err)
		}
	}
	got, err := e.svc.NewMigrationEndpoint(ctx, recipient, ep)
	if err != nil || got.Port != 143 || got.Security != "None" || got.MaxConcurrentMigrations != 20 {
		t.Fatalf("Recipient Management: New-MigrationEndpoint: %+v, %v; want port 143, None, 20", got, err)
	}
	if _, err := e.svc.GetMigrationEndpoints(ctx, viewOnly, "", service.MigrationPage{}); err != nil {
		t.Errorf("View-Only reads endpoints: %v", err)
	}
	csv := "EmailAddress,UserName,Password\nuser000000@contoso.com,u0,Secret-Zero\nuser000001@contoso.com,admin*u1,Secret-One\n"
	bad := []struct{ csv, want string }{
		{"EmailAddress,UserName,Password,Extra\nuser000000@contoso.com,u,p,x\n", "Column 'Extra'"},
		{"EmailAddress,UserName\nuser000000@contoso.com,u\n", "required column 'Password' is missing"},
		{"EmailAddress,UserName,Password\nnobody@contoso.com,u,p\nuser000001@contoso.com,,p\nuser000002@contoso.com,u,p\nuser000002@contoso.com,u,p\n",
			"Row 2 (nobody@contoso.com): 'nobody@contoso.com' isn't the address of a mailbox in this organization. Create the mailbox first.\n" +
				"Row 3 (user000001@contoso.com): UserName is empty.\nRow 5 (user000002@contoso.com): the mailbox is already on row 4."},
		{"", "The CSV file is empty"},
	}
	for _, b := range bad {
		_, err := e.svc.NewMigrationBatch(ctx, orgAdmin, service.NewMigrationBatchRequest{Name: "Bad", SourceEndpoint: "Old", CSVData: []byte(b.csv)})
		var ve *service.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("CSV %q: got %v; want a refusal with %q", b.csv, err, b.want)
		}
	}
	if _, err := e.svc.NewMigrationBatch(ctx, helpDesk, service.NewMigrationBatchRequest{Name: "B1", SourceEndpoint: "Old", CSVData: []byte(csv)}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("Help Desk: New-MigrationBatch: got %v; want refused", err)
	}
	b, err := e.svc.NewMigrationBatch(ctx, recipient, service.NewMigrationBatchRequest{Name: "B1", SourceEndpoint: "Old", CSVData: []byte(csv), ExcludeFolders: []string{"Junk"}})
	if err != nil || b.Status != store.MigrationCreated || b.TotalCount != 2 || b.SourceEndpoint != "Old" {
		t.Fatalf("New-MigrationBatch: %+v, %v", b, err)
	}
	// Someone already in a batch is named.
	if _, err := e.svc.NewMigrationBatch(ctx, orgAdmin, service.NewMigrationBatchRequest{Name: "B2", SourceEndpoint: "Old", CSVData: []byte(csv)}); err == nil ||
		!strings.Contains(err.Error(), "already in migration batch 'B1'") {
		t.Errorf("users already in B1: got %v", err)
	}
	e.st.View(ctx, func(tx store.Tx) error {
		us, _ := tx.MigrationUsers(ctx, 0, "", 0)
		if len(us) != 2 || string(us[0].Secret) != "sealed:Secret-Zero" || us[1].UserName != "admin*u1" {
			t.Errorf("stored users: %+v", us)
		}
		recs, _ := tx.SearchAudit(ctx, store.AuditQuery{Cmdlets: []string{"New-MigrationBatch"}})
		ok, refused := 0, 0
		for _, r := range recs {
			for _, p := range r.CmdletParameters {
				if strings.Contains(p.Value, "Secret") {
					t.Errorf("audit record holds a source password: %+v", r)
				}
			}
			if r.Succeeded {
				ok++
			} else {
				refused++
			}
		}
		if ok != 1 || refused < 5 {
			t.Errorf("audit of New-MigrationBatch: %d succeeded, %d failed; want 1 and every refusal", ok, refused)
		}
		return nil
	})
	// The state machine, as Exchange's.
	steps := []struct {
		name string
		fn   func(context.Context, service.Caller, string) error
		ok   bool
	}{
		{"Complete (Created)", e.svc.CompleteMigrationBatch, false},
		{"Start", e.svc.StartMigrationBatch, true},
		{"Remove (Syncing)", e.svc.RemoveMigrationBatch, false},
		{"Stop", e.svc.StopMigrationBatch, true},
		{"Start again", e.svc.StartMigrationBatch, true},
		{"Stop again", e.svc.StopMigrationBatch, true},
		{"Remove", e.svc.RemoveMigrationBatch, true},
	}
	for _, s := range steps {
		err := s.fn(ctx, recipient, "b1")
		if (err == nil) != s.ok {
			t.Errorf("%s: got %v; want ok %v", s.name, err, s.ok)
		}
	}
	if err := e.svc.StartMigrationBatch(ctx, viewOnly, "B1"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("View-Only: Start-MigrationBatch: got %v; want refused", err)
	}
	if err := e.svc.RemoveMigrationEndpoint(ctx, orgAdmin, "Old"); err != nil {
		t.Errorf("Remove-MigrationEndpoint after its batch went: %v", err)
	}
}
