package postgres

import "testing"

// TestMaintenance: a table is vacuumed once its dead rows pass 50 + 20 %
// of its live ones and analyzed once the rows changed since its last
// analyze pass 50 + 10 %, autovacuum's default thresholds.
func TestMaintenance(t *testing.T) {
	for _, tc := range []struct {
		live, dead, changed int64
		want                string
	}{
		{0, 0, 0, ""},
		{0, 50, 50, ""},
		{0, 51, 0, "VACUUM"},
		{0, 0, 51, "ANALYZE"},
		{1000, 250, 150, ""},
		{1000, 251, 150, "VACUUM"},
		{1000, 250, 151, "ANALYZE"},
		{1000, 251, 151, "VACUUM (ANALYZE)"},
		{1_000_000, 200_000, 0, ""},
		{1_000_000, 200_051, 0, "VACUUM"},
	} {
		if got := maintenance(tableStats{name: "messages", live: tc.live, dead: tc.dead, changed: tc.changed}); got != tc.want {
			t.Errorf("live %d, dead %d, changed %d: got %q; want %q", tc.live, tc.dead, tc.changed, got, tc.want)
		}
	}
}
