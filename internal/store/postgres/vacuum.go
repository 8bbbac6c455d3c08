package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultVacuumEvery is how often the self-vacuum looks at the busiest
// tables' dead rows when PostgreSQL's autovacuum is off for them.
const DefaultVacuumEvery = 5 * time.Second

// vacuumLock is the advisory lock one node holds while it vacuums, so that
// the nodes of a cluster do not vacuum the same tables at once (the
// migration lock is 7406114).
const vacuumLock = 7406115

// vacuumer keeps the tables that mail traffic rewrites (hotTables)
// vacuumed and analyzed when PostgreSQL's autovacuum does not: every flag
// change, expunge and delivery leaves dead rows and index entries that reads
// then step over (on a test machine's PostgreSQL with autovacuum = off, the
// messages table held ten dead rows per live one after minutes of load), and
// the planner's statistics go stale. It decides as autovacuum does with its
// default settings (a table is vacuumed once its dead rows exceed 50 + 20 %
// of its live ones, analyzed once the rows changed since its last analyze
// exceed 50 + 10 %), and vacuums as gently (vacuum_cost_delay 2 ms, as
// autovacuum_vacuum_cost_delay), one table at a time, on one node at a time.
type vacuumer struct {
	db  *sql.DB
	log *slog.Logger
	// warned holds the tables whose last VACUUM or ANALYZE failed, or that
	// the database user may not vacuum (PostgreSQL skips a table its user
	// does not own with a warning of its own, not an error): each is said
	// once, not every round. A table the user does not own is not tried;
	// one that failed is tried again next round.
	warned map[string]bool
}

// selfVacuum says at start where PostgreSQL's autovacuum is off for the
// busiest tables (unvacuumed's answer, off) and returns the vacuumer's loop
// for sqlstore.Options.Maintain, or nil when autovacuum is on or the
// self-vacuum is turned off (every < 0). The check is made before the
// migrations run: on a new database the tables are made with autovacuum on,
// and only the server's setting can turn it off.
func selfVacuum(db *sql.DB, log *slog.Logger, every time.Duration, off string) func(ctx context.Context) {
	if off == "" {
		return nil
	}
	if every < 0 {
		log.Warn("PostgreSQL does not vacuum Gatehouse's tables: every flag change, expunge and delivery leaves dead rows that its reads then step over, and they slow down as they pile up; turn autovacuum on, or run VACUUM on this database regularly",
			"autovacuum_off", off)
		return nil
	}
	tables := hotTables
	if off != "server" {
		tables = strings.Split(off, ",")
	}
	every = cmp.Or(every, DefaultVacuumEvery)
	log.Warn("PostgreSQL does not vacuum Gatehouse's busiest tables (autovacuum is off): Gatehouse vacuums and analyzes them itself as autovacuum would; turning autovacuum on is better",
		"autovacuum_off", off, "tables", strings.Join(tables, ","), "every", every)
	v := &vacuumer{db: db, log: log, warned: map[string]bool{}}
	return func(ctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := v.round(ctx, tables); err != nil && ctx.Err() == nil {
				v.log.Warn("self-vacuum", "err", err)
			}
		}
	}
}

// tableStats is what round reads of one table.
type tableStats struct {
	name                string
	live, dead, changed int64
	owned               bool // the database user may vacuum it
}

// round vacuums or analyzes each table that needs it, holding vacuumLock on
// one connection; another node holding it means that node is at work, and
// this one skips the round.
func (v *vacuumer) round(ctx context.Context, tables []string) error {
	conn, err := v.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, vacuumLock).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, vacuumLock)
	rows, err := conn.QueryContext(ctx, `SELECT s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, pg_has_role(c.relowner, 'MEMBER')
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = current_schema() AND s.relname = ANY($1) ORDER BY s.relname`, tables)
	if err != nil {
		return err
	}
	var stats []tableStats
	for rows.Next() {
		var s tableStats
		if err := rows.Scan(&s.name, &s.live, &s.dead, &s.changed, &s.owned); err != nil {
			rows.Close()
			return err
		}
		stats = append(stats, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	costSet := false
	for _, s := range stats {
		stmt := maintenance(s)
		if stmt == "" {
			continue
		}
		if !s.owned {
			if !v.warned[s.name] {
				v.warned[s.name] = true
				v.log.Warn("self-vacuum: the database user does not own this table and may not vacuum it; turn autovacuum on, or vacuum it as its owner",
					"table", s.name, "dead", s.dead, "live", s.live)
			}
			continue
		}
		if !costSet {
			// As gentle as autovacuum: a VACUUM run by hand does not
			// pause (vacuum_cost_delay 0), and would take the disk from
			// the mail traffic it is there to help.
			if _, err := conn.ExecContext(ctx, `SET vacuum_cost_delay = '2ms'`); err != nil {
				return err
			}
			costSet = true
		}
		start := time.Now()
		if _, err := conn.ExecContext(ctx, stmt+" "+pgx.Identifier{s.name}.Sanitize()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !v.warned[s.name] {
				v.warned[s.name] = true
				v.log.Warn("self-vacuum failed; trying again every round, said once", "table", s.name, "what", stmt, "err", err)
			}
			continue
		}
		delete(v.warned, s.name)
		v.log.Debug("self-vacuum", "table", s.name, "what", stmt, "live", s.live, "dead", s.dead,
			"changed", s.changed, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// maintenance is the statement a table needs by autovacuum's default
// thresholds: "VACUUM (ANALYZE)", "VACUUM", "ANALYZE", or "" for none.
func maintenance(s tableStats) string {
	vacuum := float64(s.dead) > 50+0.2*float64(s.live)
	analyze := float64(s.changed) > 50+0.1*float64(s.live)
	switch {
	case vacuum && analyze:
		return "VACUUM (ANALYZE)"
	case vacuum:
		return "VACUUM"
	case analyze:
		return "ANALYZE"
	}
	return ""
}
