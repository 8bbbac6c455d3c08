package cmdlet

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeJSON checks the order-preserving JSON parser against
// encoding/json: it accepts what is valid JSON, never panics, and what it
// reads writes back as valid JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"Items":[{"Name":"a","PopEnabled":true,"LastPopLogonTime":"2024-05-01T10:00:00Z"}],"More":false}`,
		`[1,-2.5e3,null,"\u00e9\n",{"":{}}]`, `"x"`, `{"a":1,"a":2}`, ` 12 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if json.Valid(data) && err != nil {
			t.Fatalf("DecodeJSON(%q): %v; encoding/json accepts it", data, err)
		}
		if err != nil {
			return
		}
		out, err := EncodeJSON(v)
		if err != nil || !json.Valid(out) {
			t.Fatalf("DecodeJSON(%q) wrote back %q (%v), which is not valid JSON", data, out, err)
		}
	})
}
