package cmdlet

import (
	"encoding/json"
	"os"
	"testing"
)

// TestCmdletReference fails when CMDLETS.md no longer matches the
// registry; go test -update rewrites it.
func TestCmdletReference(t *testing.T) {
	got := Reference(DefaultRegistry())
	if *update {
		if err := os.WriteFile("CMDLETS.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("CMDLETS.md")
	if err != nil {
		t.Fatalf("%v (go test -run TestCmdletReference -update creates it)", err)
	}
	if string(want) != got {
		t.Error("CMDLETS.md is stale: run go test ./internal/cmdlet -run TestCmdletReference -update")
	}
}

// TestEveryCmdletDocumented checks that each cmdlet has a synopsis and at
// least one example that parses and names the cmdlet.
func TestEveryCmdletDocumented(t *testing.T) {
	for _, c := range DefaultRegistry().Cmdlets() {
		if c.Synopsis == "" {
			t.Errorf("%s has no synopsis", c.Name)
		}
		for _, p := range c.Params {
			if p.Help == "" && c.Source == SrcGate {
				t.Errorf("%s -%s has no help text", c.Name, p.Name)
			}
		}
		if c.Source == SrcGate && len(c.Examples) == 0 {
			t.Errorf("%s has no example", c.Name)
		}
	}
}

// FuzzDecodeJSON checks the order-preserving JSON parser against
// encoding/json: it accepts what is valid JSON, never panics, and what it
// reads writes back as valid JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"Items":[{"Name":"a","PopEnabled":true,"LastPopLogonTime":"2024-05-01T10:00:00Z"}],"More":false}`,
		`[1,-2.5e3,null,"\u00e9\n",{"":{}}]`, `"x"`, `{"a":1,"a":2}`, ` 12 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(data)
		if json.Valid(data) && err != nil {
			t.Fatalf("decodeJSON(%q): %v; encoding/json accepts it", data, err)
		}
		if err != nil {
			return
		}
		out, err := encodeJSON(v)
		if err != nil || !json.Valid(out) {
			t.Fatalf("decodeJSON(%q) wrote back %q (%v), which is not valid JSON", data, out, err)
		}
	})
}
