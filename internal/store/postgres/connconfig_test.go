package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestConnConfigGenericPlans: the engine's connections plan every
// statement once (plan_cache_mode = force_generic_plan), and a DSN that
// says otherwise keeps its own setting.
func TestConnConfigGenericPlans(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	// GATEHOUSE_TEST_PG may be a URL or a key=value string.
	own := dsn + " plan_cache_mode=auto"
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		own = dsn + sep + "plan_cache_mode=auto"
	}
	for _, tc := range []struct{ dsn, want string }{
		{dsn, "force_generic_plan"},
		{own, "auto"},
	} {
		cfg, err := connConfig(tc.dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&got)
		conn.Close(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%s: plan_cache_mode %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}
