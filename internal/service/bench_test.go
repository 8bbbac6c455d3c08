package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// seed makes n mailboxes directly in a fresh SQLite store.
func seed(b testing.TB, n int) (*service.Service, store.Store) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com"}); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			a := fmt.Sprintf("user%06d", i)
			m := store.Mailbox{Name: "User " + a, DisplayName: "User " + a, Alias: a, PrimarySmtpAddress: a + "@contoso.com",
				UserPrincipalName: a + "@contoso.com", PasswordHash: "x", PopEnabled: true, ImapEnabled: true}
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	hub := notify.NewLocal()
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: hub})
	b.Cleanup(reg.Close)
	svc := service.New(service.Options{Store: st, Hub: hub, Registry: reg,
		Checker: auth.NewChecker(auth.CheckerOptions{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}})})
	return svc, st
}

var orgAdmin = service.Caller{Name: "admin@contoso.com", Surface: service.SurfaceShell,
	Groups: []string{rbac.OrganizationManagement}, Permissions: rbac.For([]string{rbac.OrganizationManagement})}

// BenchmarkBulkSetCASMailbox10k is Get-Mailbox -ResultSize Unlimited |
// Set-CASMailbox -PopEnabled $false over 10,000 mailboxes, at the service
// (DESIGN §7 target: <= 2 s including the shell).
func BenchmarkBulkSetCASMailbox10k(b *testing.B) {
	svc, _ := seed(b, 10_000)
	ctx := context.Background()
	page, err := svc.GetMailboxes(ctx, orgAdmin, service.ListOptions{ResultSize: service.Unlimited})
	if err != nil || len(page.Items) != 10_000 {
		b.Fatalf("list: %d %v", len(page.Items), err)
	}
	on := false
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		on = !on
		reqs := make([]service.SetCASMailboxRequest, len(page.Items))
		for j, m := range page.Items {
			reqs[j] = service.SetCASMailboxRequest{Identity: m.Guid, PopEnabled: &on}
		}
		t0 := time.Now()
		res, err := svc.SetCASMailboxes(ctx, orgAdmin, reqs)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/10k")
	}
}

// BenchmarkListFirstPage100k is the first page of the admin list over
// 100,000 mailboxes, sorted by display name (target <= 100 ms).
func BenchmarkListFirstPage100k(b *testing.B) {
	svc, _ := seed(b, 100_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := svc.GetCASMailboxes(ctx, orgAdmin, service.ListOptions{ResultSize: 50})
		if err != nil || len(p.Items) != 50 || p.Total != 100_000 {
			b.Fatalf("page: %d of %d, %v", len(p.Items), p.Total, err)
		}
	}
}
