package shell

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptParams: a script's param() block binds the arguments after the
// file name, as pwsh -File does.
func TestScriptParams(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "greet.ps1")
	if err := os.WriteFile(filepath.Join(dir, "where.ps1"), []byte("$PSScriptRoot; $PSCommandPath"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("[CmdletBinding()]\nparam(\n  [Parameter(Mandatory = $true)][string]$Name,\n  [int]$Times = 1,\n  [switch]$Loud\n)\nforeach ($i in 1..$Times) { if ($Loud) { $Name.ToUpper() } else { \"hello $Name\" } }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--history", "-", script, "-Name", "kim"}, 0, "hello kim\n"},
		{[]string{"--history", "-", script, "kim", "2"}, 0, "hello kim\nhello kim\n"},
		{[]string{"--history", "-", "-File", script, "-Name:ben", "-Loud"}, 0, "BEN\n"},
		{[]string{"--history", "-", script, "-Times", "x", "-Name", "a"}, 1, "greet.ps1: Cannot process argument transformation on parameter 'Times'."},
		{[]string{"--history", "-", script}, 1, "greet.ps1: Cannot process command because of one or more missing mandatory parameters: Name.\n"},
		{[]string{"--history", "-", script, "-Nmae", "x"}, 1, "greet.ps1: A parameter cannot be found that matches parameter name 'Nmae'.\n"},
		{[]string{"--history", "-", script, "a", "1", "extra"}, 1, "greet.ps1: A positional parameter cannot be found that accepts argument 'extra'.\n"},
		{[]string{"--history", "-", filepath.Join(dir, "where.ps1")}, 0, dir + "\n" + filepath.Join(dir, "where.ps1") + "\n"},
	}
	for _, tt := range tests {
		var out, errb strings.Builder
		code := Main(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
		if code != tt.code || !strings.HasPrefix(out.String()+errb.String(), tt.out) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q", tt.args[2:], code, out.String(), errb.String(), tt.code, tt.out)
		}
	}
}
