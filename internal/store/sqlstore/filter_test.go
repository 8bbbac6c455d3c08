package sqlstore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// depth returns how deeply the parentheses of s nest.
func depth(s string) int {
	d, most := 0, 0
	for _, r := range s {
		switch r {
		case '(':
			d++
			most = max(most, d)
		case ')':
			d--
		}
	}
	return most
}

func names(n int) []store.Filter {
	fs := make([]store.Filter, n)
	for i := range fs {
		fs[i] = store.Cond{Field: store.FieldName, Op: store.OpEq, Value: fmt.Sprint("n", i)}
	}
	return fs
}

// leftDeep builds the tree a parser makes of "a -or b -or c ...".
func leftDeep(fs []store.Filter, and bool) store.Filter {
	f := fs[0]
	for _, g := range fs[1:] {
		if and {
			f = store.And{f, g}
		} else {
			f = store.Or{f, g}
		}
	}
	return f
}

// TestFilterSQLShallow: whatever the shape of the filter, the SQL nests
// O(log n) deep, so that neither engine meets its expression depth limit,
// and the arguments keep the order of the conditions.
func TestFilterSQLShallow(t *testing.T) {
	nots := store.Filter(names(1)[0])
	for range 100 {
		nots = store.Not{F: nots}
	}
	tests := []struct {
		name     string
		f        store.Filter
		args     int
		maxDepth int
		notCount int
	}{
		{"5,000 in one Or", store.Or(names(5000)), 5000, 16, 0},
		{"2,000 left-deep Or", leftDeep(names(2000), false), 2000, 16, 0},
		{"2,000 left-deep And", leftDeep(names(2000), true), 2000, 16, 0},
		{"100 Not", nots, 1, 2, 0},
		{"101 Not", store.Not{F: nots}, 1, 2, 1},
		{"empty And", store.And{}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, err := filterSQL(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(args) != tt.args {
				t.Errorf("got %d arguments; want %d", len(args), tt.args)
			}
			for i, a := range args {
				if a != fmt.Sprint("n", i) {
					t.Fatalf("argument %d: got %v; want n%d", i, a, i)
				}
			}
			if d := depth(sql); d > tt.maxDepth {
				t.Errorf("parentheses nest %d deep; want at most %d", d, tt.maxDepth)
			}
			if n := strings.Count(sql, "NOT"); n != tt.notCount {
				t.Errorf("got %d NOT; want %d", n, tt.notCount)
			}
		})
	}
}
