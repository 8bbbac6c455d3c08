package admincenter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/admincenter"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// benchMailboxes is the size of the organization of the list benchmark
// (docs/ARCHITECTURE.md, Performance targets: the first page of the mailbox
// list within 100 ms with 100,000 mailboxes).
const benchMailboxes = 100_000

// seedOrganization makes a SQLite store in dir with an administrator and n
// mailboxes, written directly through the store in large transactions.
func seedOrganization(b *testing.B, dir string, n int) (store.Store, *auth.Checker) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.Params{Memory: 256, Time: 1, Threads: 1, KeyLen: 32}})
	hash, err := checker.Hash("Bench-Admin-Password")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Contoso", Domain: "contoso.com", WhenChanged: now}); err != nil {
			return err
		}
		admin := store.Mailbox{Name: "admin", DisplayName: "Administrator", Alias: "admin", PrimarySmtpAddress: "admin@contoso.com",
			UserPrincipalName: "admin@contoso.com", PasswordHash: hash, PopEnabled: true, ImapEnabled: true, WhenCreated: now, WhenChanged: now}
		if err := tx.InsertMailbox(ctx, &admin); err != nil {
			return err
		}
		g, err := tx.RoleGroupByName(ctx, rbac.OrganizationManagement)
		if err != nil {
			return err
		}
		return tx.AddRoleGroupMember(ctx, g.ID, admin.ID)
	})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < min(start+chunk, n); i++ {
				m := store.Mailbox{Name: fmt.Sprintf("User %06d", i), DisplayName: fmt.Sprintf("User %06d", i),
					Alias: fmt.Sprintf("user%06d", i), PrimarySmtpAddress: fmt.Sprintf("user%06d@contoso.com", i),
					UserPrincipalName: fmt.Sprintf("user%06d@contoso.com", i), PasswordHash: hash,
					PopEnabled: i%3 != 0, ImapEnabled: i%5 != 0, WhenCreated: now, WhenChanged: now}
				if i%7 == 0 {
					m.LastPopLogon = now.Add(-time.Duration(i) * time.Minute)
				}
				if err := tx.InsertMailbox(ctx, &m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed mailboxes from %d: %v", start, err)
		}
	}
	return st, checker
}

// BenchmarkMailboxList measures the server time of the mailbox list page
// (authentication, the service's listing, the template) over 100,000
// mailboxes in SQLite: the first page as it opens, and the pages an admin
// reaches next. Run it with
//
//	go test ./internal/admincenter -run '^$' -bench MailboxList -benchtime 50x
func BenchmarkMailboxList(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	st, checker := seedOrganization(b, dir, benchMailboxes)
	b.Logf("seeded %d mailboxes in %s", benchMailboxes, time.Since(start).Round(time.Millisecond))
	svc := service.New(service.Options{Store: st, Hub: notify.NewLocal(), Checker: checker, Server: "bench"})
	token, _, err := svc.SignIn(context.Background(), "admin", "Bench-Admin-Password", service.SurfaceAdminCenter, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	h := admincenter.New(admincenter.Options{Service: svc}).Handler()
	for _, bc := range []struct{ name, query, want string }{
		{"FirstPage", "", "selected of 100,001 total"},
		{"SortedByLastPOP3UseDescending", "?sort=LastPopLogonTime&desc=1", "selected of 100,001 total"},
		{"SortedByPOP3", "?sort=PopEnabled", "selected of 100,001 total"},
		{"Search", "?search=user0999", "selected of 100 total"},
		// A word inside the names ("000999" of "User 000999"): the
		// prefix ranges of the indexes do not find it, the LIKEs scan.
		{"SearchWordInside", "?search=000999", "selected of 1 total"},
		{"Page500", "?page=500", "Page 500 of"},
		{"LastPage", "?page=1001", "Page 1,001 of 1,001"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/admin/recipients/mailboxes"+bc.query, nil)
			req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: token})
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), bc.want) {
					b.Fatalf("got %d without %q", rec.Code, bc.want)
				}
			}
		})
	}
}
