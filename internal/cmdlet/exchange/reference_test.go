package exchange

import (
	"os"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// TestCmdletReference fails when CMDLETS.md no longer matches the
// registry; go test -update rewrites it.
func TestCmdletReference(t *testing.T) {
	got := cmdlet.Reference(DefaultRegistry())
	if *update {
		if err := os.WriteFile("../CMDLETS.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("../CMDLETS.md")
	if err != nil {
		t.Fatalf("%v (go test -run TestCmdletReference -update creates it)", err)
	}
	if string(want) != got {
		t.Error("CMDLETS.md is stale: run go test ./internal/cmdlet/exchange -run TestCmdletReference -update")
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
			if p.Help == "" && c.Source == cmdlet.SrcGate {
				t.Errorf("%s -%s has no help text", c.Name, p.Name)
			}
		}
		if c.Source == cmdlet.SrcGate && len(c.Examples) == 0 {
			t.Errorf("%s has no example", c.Name)
		}
	}
}
