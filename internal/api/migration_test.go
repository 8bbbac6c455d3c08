package api_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestMigrationListsPage reads GET /api/v1/migrationendpoints and
// /api/v1/migrationbatches page by page, as the other REST lists page: a
// ListBody with More, NextCursor and Exchange's warning, the next page by
// ?cursor=, every object once in name order; a bad resultSize is refused.
func TestMigrationListsPage(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Demo: true})
	ctx := context.Background()
	const n = 7
	if err := env.Store.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			e := store.MigrationEndpoint{Name: fmt.Sprintf("ep%02d", i), EndpointType: "IMAP", RemoteServer: "imap.fabrikam.com", Port: 993,
				Security: "Ssl", Authentication: "Basic", MaxConcurrentMigrations: 20}
			if err := tx.InsertMigrationEndpoint(ctx, &e); err != nil {
				return err
			}
			b := store.MigrationBatch{Name: fmt.Sprintf("B%02d", i), EndpointID: e.ID, Status: store.MigrationCreated}
			if err := tx.InsertMigrationBatch(ctx, &b, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := signIn(t, env, "admin", testenv.AdminPassword)
	for _, path := range []string{"/api/v1/migrationendpoints", "/api/v1/migrationbatches"} {
		var names []string
		pages := 0
		for cursor := ""; ; pages++ {
			q := url.Values{"resultSize": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var b wire.ListBody[struct{ Identity string }]
			if st := c.json("GET", path+"?"+q.Encode(), nil, &b); st != 200 {
				t.Fatalf("GET %s?%s: %d", path, q.Encode(), st)
			}
			for _, it := range b.Items {
				names = append(names, it.Identity)
			}
			if b.More != (b.NextCursor != "") || b.More != (b.Warning != "") {
				t.Fatalf("%s page %d: More %v, NextCursor %q, Warning %q; want all three or none", path, pages, b.More, b.NextCursor, b.Warning)
			}
			if !b.More {
				break
			}
			cursor = b.NextCursor
		}
		if len(names) != n || pages != 2 {
			t.Errorf("%s: %d objects in %d pages after the first (%v); want %d in 2", path, len(names), pages, names, n)
		}
		for i := 1; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Errorf("%s: %q before %q; want name order, each once", path, names[i-1], names[i])
			}
		}
		var all wire.ListBody[struct{ Identity string }]
		if st := c.json("GET", path+"?resultSize=Unlimited", nil, &all); st != 200 || len(all.Items) != n || all.More {
			t.Errorf("%s?resultSize=Unlimited: %d, %d objects, More %v; want 200, %d, false", path, st, len(all.Items), all.More, n)
		}
		if st, body := c.do("GET", path+"?resultSize=0", nil); st != 400 {
			t.Errorf("%s?resultSize=0: %d %s; want 400", path, st, body)
		}
	}
}
