package cmdlet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlFlow: try/catch/finally, throw, functions, loops, break and
// continue, switch, as PowerShell runs them.
func TestControlFlow(t *testing.T) {
	tests := []struct{ src, want string }{
		// try/catch/finally: a terminating error enters catch with $_ the ErrorRecord
		{"try { Get-Nothing } catch { $_.Exception.Message.Substring(0, 24) } finally { 'fin' }", "The term 'Get-Nothing' i\nfin"},
		{"try { throw 'boom' } catch [System.Management.Automation.RuntimeException] { \"rt: $_\" }", "rt: boom"},
		{"try { throw 'boom' } catch [CommandNotFoundException] { 'wrong' } catch { 'all' }", "all"},
		{"try { Get-Nothing } catch [CommandNotFoundException] { 'cnf' } catch { 'generic' }", "cnf"},
		{"try { Write-Output -NoSuchParam 1 } catch [System.Management.Automation.ParameterBindingException] { 'binding' }", "binding"},
		{"try { throw @{a = 1} } catch { $_.TargetObject.a; $_.Exception.Message }", "1\nSystem.Collections.Hashtable"},
		{"try { throw 'a' } catch { try { throw } catch { \"re $_\" } }", "re a"},
		{"try { throw 'a' } catch { try { throw $_ } catch { \"again $_\" } }", "again a"},
		{"try { try { throw 'in' } finally { 'f1' } } catch { \"out $_\" }", "f1\nout in"},
		{"try { 'body' } finally { 'fin' }", "body\nfin"},
		{"try { throw 'x' } catch { 'c' }; $Error[0].Exception.Message", "c\nx"},
		// non-terminating errors enter catch only under Stop
		{"try { Write-Error 'nt' } catch { 'no' }; 'next'", "Write-Error: nt\nnext"},
		{"try { Write-Error 'nt' -ErrorAction Stop } catch { \"yes: $_\" }", "yes: nt"},
		{"$ErrorActionPreference = 'Stop'; try { Write-Error 'x2' } catch { 'caught2' }; 'goes on'", "caught2\ngoes on"},
		// a statement-terminating error ends only its statement outside try, but enters catch inside it
		{"try { Get-Nothing; 'not reached' } catch { 'caught' }", "caught"},
		// throw ends the script
		{"throw 'x'; 'not reached'", "Exception: x"},
		{"throw; 'not reached'", "Exception: ScriptHalted"},
		{"function f { throw 'deep' }; try { f } catch { \"from f: $_\" }", "from f: deep"},
		// functions: positional, named, defaults, switches, types
		{"function f($a, $b = 2) { $a * $b }; f 3; f 3 4; f -b 5 -a 2", "6\n12\n10"},
		{"function g { param([Parameter(Mandatory)][string]$Name, [switch]$Loud) if ($Loud) { $Name.ToUpper() } else { $Name } }; g x; g -Loud y; g",
			"x\nY\ng: Cannot process command because of one or more missing mandatory parameters: Name."},
		{"function q { [CmdletBinding()] param([int]$n) $n + 1 }; q '41'", "42"},
		{"function q([int]$n) { $n }; q abc", "q: Cannot process argument transformation on parameter 'n'. Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""},
		{"function a { $args.Count; $args[1] }; a x y z", "3\ny"},
		{"function adv { [CmdletBinding()] param($a) $a }; adv 1 2", "adv: A positional parameter cannot be found that accepts argument '2'."},
		{"function p($x) { $x }; p -y 1", "p: A parameter cannot be found that matches parameter name 'y'."},
		{"function v { param([ValidateSet('Pop', 'Imap')]$Protocol) $Protocol }; v imap; v smtp",
			"Imap\nv: Cannot validate argument on parameter 'Protocol'. The argument \"smtp\" does not belong to the set \"Pop,Imap\""},
		{"function b { $PSBoundParameters.Keys }; function c($n) { $PSBoundParameters.Count }; c -n 1", "1"},
		{"$h = @{ b = 3; a = 1 }; function f($a, $b) { \"$a-$b\" }; f @h", "1-3"},
		{"function Get-Thing { 'own' }; Get-Thing", "own"},
		{"function al { param([Alias('Id')]$Identity) $Identity }; al -Id x", "x"},
		{"function po { param([Parameter(Position = 1)]$b, [Parameter(Position = 0)]$a) \"$a$b\" }; po 1 2", "12"},
		{"function sw([switch]$Force) { $Force.IsPresent }; sw; sw -Force; sw -Force:$false", "False\nTrue\nFalse"},
		{"function ty([bool]$b, [string]$s, [int]$n, $u) { $b; $s.Length; $n; $null -eq $u }; ty", "False\n0\n0\nTrue"},
		{"try { exit 3 } finally { 'finally on exit' }", "finally on exit"},
		{"function Get-Date { 'shadowed' }; Get-Date", "shadowed"},
		{"function Get-Pop { }; function Get-Date { }; Get-Command Get-Pop, Get-Date | ForEach-Object { \"$($_.CommandType) $($_.Name)\" }", "Function Get-Date\nFunction Get-Pop"},
		// pipeline input: process blocks, filters, $input, ValueFromPipeline
		{"function h { process { $_ * 2 } }; 1..3 | h", "2\n4\n6"},
		{"function s { $input | Measure-Object | ForEach-Object Count }; 1..4 | s", "4"},
		{"function t { begin { 'b' } process { \"p$_\" } end { 'e' } }; 1, 2 | t", "b\np1\np2\ne"},
		{"function u { param([Parameter(ValueFromPipeline)][int]$N) process { $N + 100 } }; 1, 2 | u; u 5", "101\n102\n105"},
		{"filter dbl { $_ * 2 }; 1, 2 | dbl", "2\n4"},
		// runaway recursion is an error, not a crash
		{"function f { f }; f; 'not reached'", "ScriptCallDepthException: The script failed due to call depth overflow."},
		{"$b = { & $b }; try { & $b } catch [ScriptCallDepthException] { 'caught' }", "caught"},
		{"function fact($n) { if ($n -le 1) { 1 } else { $n * (fact ($n - 1)) } }; fact 10", "3628800"},
		// return
		{"function r { return 5; 6 }; r", "5"},
		{"1..3 | ForEach-Object { if ($_ -eq 2) { return }; $_ }", "1\n3"},
		{"'a'; return; 'b'", "a"},
		// a function's variables are its own
		{"$x = 1; function m { $x = 2; $x }; m; $x", "2\n1"},
		{"$count = 0; function n { 'x'; 'y' }; n | ForEach-Object { $count++ }; $count", "2"},
		// loops
		{"$i = 0; while ($true) { $i++; if ($i -gt 3) { break } }; $i", "4"},
		{"$i = 0; while ($i -lt 5) { $i++; if ($i % 2) { continue }; $i }", "2\n4"},
		{"$i = 0; do { $i++ } while ($i -lt 5); $i; do { $i-- } until ($i -le 2); $i", "5\n2"},
		{"$i = 9; do { 'once' } while ($false)", "once"},
		{"for ($i = 0; $i -lt 5; $i++) { if ($i -eq 1) { continue }; if ($i -eq 4) { break }; $i }", "0\n2\n3"},
		{"foreach ($x in 1..5) { if ($x -eq 2) { continue }; if ($x -eq 4) { break }; $x }", "1\n3"},
		// break and continue in ForEach-Object end the enclosing loop, or the script
		{"1..5 | ForEach-Object { if ($_ -eq 3) { break }; $_ }; 'after'", "1\n2"},
		{"1..5 | ForEach-Object { if ($_ -eq 3) { continue }; $_ }; 'after'", "1\n2"},
		{"foreach ($x in 1..3) { 1..5 | ForEach-Object { if ($_ -eq 2) { break }; \"$x $_\" } }; 'done'", "1 1\ndone"},
		// labels: break and continue of an outer loop
		{":outer foreach ($a in 1..3) { foreach ($b in 1..3) { if ($b -eq 2) { continue outer }; if ($a -eq 3) { break outer }; \"$a$b\" } }; 'end'", "11\n21\nend"},
		{":rows for ($i = 0; $i -lt 3; $i++) { switch ($i) { 1 { continue rows } }; $i }", "0\n2"},
		{":w while ($true) { 1..5 | ForEach-Object { if ($_ -eq 2) { break w }; $_ } }; 'after'", "1\nafter"},
		{"foreach ($a in 1..2) { break nowhere }; 'not reached'", ""},
		// switch
		{"switch (3) { 1 { 'one' } 3 { 'three' } { $_ -gt 2 } { 'big' } default { 'def' } }", "three\nbig"},
		{"switch (7) { 1 { 'one' } default { \"def $_\" } }", "def 7"},
		{"switch ('ABC') { 'abc' { 'ci' } }; switch -CaseSensitive ('ABC') { 'abc' { 'cs' } default { 'none' } }", "ci\nnone"},
		{"switch -Wildcard ('abc', 'xyz') { 'a*' { 'A' } default { \"d $_\" } }", "A\nd xyz"},
		{"switch -Regex ('a1') { '(\\d)' { $matches[1]; break } 'a' { 'not' } }", "1"},
		{"switch -Exact ('a*') { 'a*' { 'exact' } }; switch ('abc') { 'a*' { 'no wildcard' } default { 'literal' } }", "exact\nliteral"},
		{"switch (1, 2, 3) { 2 { continue } default { $_ } }", "1\n3"},
		{"switch (1, 2, 3) { 2 { break } default { $_ } }", "1"},
		{"foreach ($i in 1..2) { switch ($i) { 1 { break } }; \"loop $i\" }", "loop 1\nloop 2"},
		{"$r = switch (2) { 1 { 'a' } 2 { 'b' } }; $r", "b"},
		{"switch (@()) { default { 'never' } }; 'x'", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := strings.TrimRight(evalOut(t, tt.src), "\n")
			if !strings.HasPrefix(got, tt.want) || tt.want == "" && got != "" {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestTranscript: Start-Transcript records the statements and what they
// show, under PowerShell's header and footer.
func TestTranscript(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	s := NewSession(SessionOptions{Host: Host{Out: &out, Err: &out, Width: 80}, Dir: dir})
	src := "'before'\nStart-Transcript -Path t.txt\n'inside'; Write-Warning 'careful'\nGet-Nothing\nStop-Transcript\n'after'\nStop-Transcript"
	if err := s.Execute(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.txt")
	wantOut := "before\nTranscript started, output file is " + path + "\ninside\nWARNING: careful\n"
	if !strings.HasPrefix(out.String(), wantOut) || !strings.Contains(out.String(), "Transcript stopped, output file is "+path+"\nafter\nStop-Transcript: An error occurred stopping transcription: The host is not currently transcribing.\n") {
		t.Errorf("shown:\n%s", out.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	for _, w := range []string{"**********************\nPowerShell transcript start\nStart time: ", "\nPSVersion: 7.4\n",
		"PS> 'inside'\ninside\nPS> Write-Warning 'careful'\nWARNING: careful\nPS> Get-Nothing\nCommandNotFoundException: The term 'Get-Nothing' is not recognized",
		"PS> Stop-Transcript\n**********************\nPowerShell transcript end\nEnd time: "} {
		if !strings.Contains(got, w) {
			t.Errorf("transcript lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "before") || strings.Contains(got, "after") {
		t.Errorf("transcript holds what came before or after it:\n%s", got)
	}
	// -NoClobber refuses an existing file; -Append adds to it
	if got := evalOutDir(t, dir, "Start-Transcript t.txt -NoClobber"); !strings.Contains(got, "Start-Transcript: The file '"+path+"' already exists.") {
		t.Errorf("-NoClobber: %q", got)
	}
	evalOutDir(t, dir, "Start-Transcript t.txt -Append; 'more'; Stop-Transcript")
	data, _ = os.ReadFile(path)
	if !strings.HasPrefix(string(data), got) || !strings.Contains(string(data)[len(got):], "PS> 'more'\nmore\n") {
		t.Errorf("-Append: %q", data)
	}
}

func evalOutDir(t *testing.T, dir, src string) string {
	t.Helper()
	var out strings.Builder
	s := NewSession(SessionOptions{Host: Host{Out: &out, Err: &out, Width: 80}, Dir: dir})
	if err := s.Execute(context.Background(), src); err != nil {
		s.WriteError(err)
	}
	s.Close()
	return out.String()
}
