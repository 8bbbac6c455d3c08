package movestore

import (
	"bytes"
	"testing"
)

// TestConvert: values as SQLite hands them back become what the
// PostgreSQL column takes, and a value that does not fit is an error, not
// a silent change.
func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		v       any
		typ     string
		want    any
		wantErr bool
	}{
		{int64(1), "boolean", true, false},
		{int64(0), "boolean", false, false},
		{true, "boolean", true, false},
		{nil, "boolean", nil, false},
		{[]byte(nil), "bytea", []byte{}, false},
		{"abc", "bytea", []byte("abc"), false},
		{[]byte("x"), "text", "x", false},
		{int32(7), "bigint", int64(7), false},
		{float64(3), "bigint", int64(3), false},
		{float64(3.5), "bigint", nil, true},
		{"12", "integer", int64(12), false},
		{"twelve", "integer", nil, true},
		{int64(1), "text", nil, true},
		{int64(1), "jsonb", nil, true},
	} {
		got, err := convert(tc.v, tc.typ)
		if (err != nil) != tc.wantErr {
			t.Errorf("convert(%#v, %s): error %v; want error %v", tc.v, tc.typ, err, tc.wantErr)
			continue
		}
		if b, ok := tc.want.([]byte); ok {
			if g, ok := got.([]byte); !ok || g == nil || !bytes.Equal(g, b) {
				t.Errorf("convert(%#v, %s) = %#v; want %#v", tc.v, tc.typ, got, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("convert(%#v, %s) = %#v; want %#v", tc.v, tc.typ, got, tc.want)
		}
	}
}

// TestRowHasher: the table hash does not depend on the order of rows but
// does on every value, its type and the boundaries between values.
func TestRowHasher(t *testing.T) {
	rows := [][]any{{int64(1), "a", true}, {int64(2), "b", false}, {int64(3), nil, []byte("x")}}
	var a, b rowHasher
	for _, r := range rows {
		a.add(r)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		b.add(rows[i])
	}
	na, ha := a.result()
	nb, hb := b.result()
	if na != 3 || nb != 3 || ha != hb {
		t.Fatalf("same rows in another order: %d %x vs %d %x", na, ha, nb, hb)
	}
	for _, changed := range [][]any{
		{int64(1), "a", false},        // a value
		{int64(1), []byte("a"), true}, // a type
		{int64(1), "", "a"},           // a boundary
		{int64(1), "a", true, nil},    // a column more
	} {
		var c rowHasher
		c.add(changed)
		c.add(rows[1])
		c.add(rows[2])
		if _, hc := c.result(); hc == ha {
			t.Errorf("changing a row to %v left the hash as it was", changed)
		}
	}
}

// TestDiff names what only one engine's schema has.
func TestDiff(t *testing.T) {
	if d := diff([]string{"a", "b"}, []string{"a", "b"}); d != "" {
		t.Errorf("diff of equal lists = %q", d)
	}
	if d := diff([]string{"a", "new_table"}, []string{"a"}); d != "new_table only in SQLite" {
		t.Errorf("diff = %q", d)
	}
	if d := diff([]string{"a"}, []string{"a", "pg_only"}); d != "pg_only only in PostgreSQL" {
		t.Errorf("diff = %q", d)
	}
}
