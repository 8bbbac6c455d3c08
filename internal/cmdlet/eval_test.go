package cmdlet

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// evalOut runs src in a fresh session without a server and returns what it
// printed (output, errors and warnings together).
func evalOut(t *testing.T, src string) string {
	t.Helper()
	var out bytes.Buffer
	s := NewSession(SessionOptions{Host: Host{Out: &out, Err: &out, Width: 80}, Dir: t.TempDir(),
		Now: func() time.Time { return time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC) }})
	if err := s.Execute(context.Background(), src); err != nil {
		s.WriteError(err)
	}
	return out.String()
}

func TestEval(t *testing.T) {
	tests := []struct{ src, want string }{
		// arithmetic and strings
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"7 / 2; 6 / 3; 7 % 3", "3.5\n2\n1"},
		{"'a' + 1 + 2", "a12"},
		{"1 + '2'", "3"},
		{"'ab' * 3", "ababab"},
		{"-'5' + 1", "-4"},
		{"9223372036854775807 + 1", "9.22337203685478E+18"},
		{"1kb + 1", "1025"},
		{"0x10", "16"},
		// comparisons: case-insensitive, right side converted to the left's type
		{"'ABC' -eq 'abc'; 'ABC' -ceq 'abc'", "True\nFalse"},
		{"'10' -eq 10; 10 -eq '10'; 10 -eq '1e1'", "True\nTrue\nTrue"},
		{"$true -eq 'False'", "True"},
		{"$null -eq $null; $null -eq 0", "True\nFalse"},
		{"'b' -gt 'A'; 2 -lt 10; '2' -lt '10'", "True\nTrue\nFalse"},
		{"'Christa' -like 'chr*'; 'Christa' -notlike '*x*'; 'Christa' -clike 'chr*'", "True\nTrue\nFalse"},
		{"'abc123' -match '(?<word>[a-z]+)(\\d+)'; $Matches.word; $Matches[2]", "True\nabc\n123"},
		{"1,2,3 -contains 2; 4 -in 1,2,3; 1,2,3,2 -eq 2", "True\nFalse\n2\n2"},
		{"'a.b.c' -split '\\.'; 'x y' -replace 'y', 'z'; 'John Smith' -replace '(\\w+) (\\w+)', '$2, $1'", "a\nb\nc\nx z\nSmith, John"},
		{"(1,2,3) -join '-'; -join ('a','b')", "1-2-3\nab"},
		// logic: -and/-or one level, left to right; PowerShell truthiness
		{"$true -or $false -and $false", "False"},
		{"-not 0; !''; -not 'False'; [bool]@(); [bool]@(0); [bool]@(0,0)", "True\nTrue\nFalse\nFalse\nFalse\nTrue"},
		// arrays, ranges, indexing
		{"$a = 1..5; $a.Count; $a[0]; $a[-1]; $a[1..2] -join ','", "5\n1\n5\n2,3"},
		{"5..3 -join ','", "5,4,3"},
		{"$a = @(); $a.Count; @(1).Count; (1,2) + 3 -join ','", "0\n1\n1,2,3"},
		{"'hello'[1]; 'hello'.Length; 'hello'.ToUpper().Substring(1, 3)", "e\n5\nELL"},
		// hashtables and objects
		{"$h = @{a = 1; B = 'x'}; $h.a; $h['b']; $h.Count; $h.ContainsKey('A')", "1\nx\n2\nTrue"},
		{"$o = [pscustomobject]@{Name = 'n'; Pop = $true}; $o.name; $o.Pop = $false; $o.Pop", "n\nFalse"},
		{"$o = [pscustomobject]@{Name = 'n'}; \"$o\"", "@{Name=n}"},
		{"@(1,2,3).Name; $null.Name; (1,2,3).Count", "3"},
		// strings
		{"$n = 'World'; \"Hello $n! $($n.Length) `t|\"", "Hello World! 5 \t|"},
		{"\"${n}s\"; '$n'", "s\n$n"},
		{"'{0,5}|{1:N1}|{0:D3}' -f 7, 1234.56", "    7|1,234.6|007"},
		{"@'\nline 'one'\n\"two\"\n'@", "line 'one'\n\"two\""},
		// casts and types
		{"[int]'42' + 1; [int]2.5; [int]3.5; [string]5 + 5", "43\n2\n4\n55"},
		{"[datetime]'2024-05-01' -lt [datetime]'2024-05-02'; ([datetime]'2024-05-01').AddDays(1).Day", "True\n2"},
		{"5 -is [int]; 'x' -is [string]; '5' -as [int]; 'x' -as [int]", "True\nTrue\n5"},
		{"[datetime]::Now.Year; [math]::Round(2.5); [string]::IsNullOrEmpty('')", "2024\n2\nTrue"},
		// control flow and variables
		{"$x = 3; if ($x -gt 2) { 'big' } elseif ($x -gt 1) { 'medium' } else { 'small' }", "big"},
		{"$sum = 0; foreach ($i in 1..4) { $sum += $i }; $sum", "10"},
		{"$i = 0; 1..3 | ForEach-Object { $i++ }; $i; $i--; ($i++); $i; ++$i; $h = @{n = 1}; $h.n++; $h.n; $u++; $u", "3\n2\n3\n2\n1"},
		{"$env:GATEHOUSE_TEST_VAR = 'v'; $env:GATEHOUSE_TEST_VAR", "v"},
		{"$PSItem; $_", ""},
		{"'ok'; $?; Get-Nothing; $?; $?", "ok\nTrue\nCommandNotFoundException: The term 'Get-Nothing' is not recognized as a name of a cmdlet, function, script file, or executable program.\nCheck the spelling of the name, or if a path was included, verify that the path is correct and try again.\nFalse\nTrue"},
		// the pipeline
		{"1..5 | Where-Object { $_ % 2 } | ForEach-Object { $_ * 10 }", "10\n30\n50"},
		{"1..10 | Select-Object -First 3 -Skip 2; 1..10 | Select-Object -Last 2", "3\n4\n5\n9\n10"},
		{"3,1,2 | Sort-Object; 'b','A','c' | Sort-Object -Descending", "1\n2\n3\nc\nb\nA"},
		{"1,1,2 | Select-Object -Unique; 1,2,2 | Sort-Object -Unique", "1\n2\n1\n2"},
		{"(1..4 | Measure-Object -Sum -Average -Maximum -Minimum).Sum; (1..4 | Measure-Object -Average).Average", "10\n2.5"},
		{"1..3 | ForEach-Object -Begin { 'b' } -Process { $_ } -End { 'e' }", "b\n1\n2\n3\ne"},
		{"'a','b' | ForEach-Object Length; 'x' | ForEach-Object ToUpper", "1\n1"},
		{"Write-Output 1 2 3 | Measure-Object | Select-Object -ExpandProperty Count", "3"},
		{"$r = 1..3 | ForEach-Object { $_ }; $r.GetType()", "System.Object[]"},
		{"Write-Host a b -Separator ','; Write-Host -NoNewline x; Write-Host y", "a,b\nxy"},
		{"'{\"a\":1,\"b\":[true,null]}' | ConvertFrom-Json | ConvertTo-Json -Compress", `{"a":1,"b":[true,null]}`},
		{"& { param() 1 }", "ParserError"},
		{"& { 'in block' }; $y = 5; & { $y = 6 }; $y", "in block\n5"},
		{"Get-Date -Format yyyy-MM-dd", "2024-05-02"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := strings.TrimRight(evalOut(t, tt.src), "\n")
			if tt.want == "InvalidOperation" || tt.want == "ParserError" {
				if !strings.Contains(got, tt.want) && !strings.Contains(got, "Unexpected token") {
					t.Errorf("got %q; want a %s", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"$null.Foo()", "InvalidOperation: You cannot call a method on a null-valued expression."},
		{"'x'.Foo()", "InvalidOperation: Method invocation failed because [System.String] does not contain a method named 'Foo'."},
		{"1 / 0", "RuntimeException: Attempted to divide by zero."},
		{"'abc' - 1", "RuntimeException: Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""},
		{"[notatype]'x'", "InvalidOperation: Unable to find type [notatype]."},
		{"[int]'x'", "InvalidArgument: Cannot convert value \"x\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""},
		{"$true = 1", "SessionStateUnauthorizedAccessException: Cannot overwrite variable true because it is read-only or constant."},
		{"1..2000000", "RuntimeException: The range 1..2000000 is too large."},
		{"Get-Nothing", "CommandNotFoundException: The term 'Get-Nothing' is not recognized"},
		{"Select-Object -First x", "Select-Object: Cannot bind parameter 'First'. Cannot convert value \"x\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""},
		{"1 | Get-Date -Format x -Date x", "Get-Date: Cannot bind parameter 'Date'. Cannot convert value \"x\" to type \"System.DateTime\". Error: \"String was not recognized as a valid DateTime.\""},
		{"Write-Output", "Write-Output: Cannot process command because of one or more missing mandatory parameters: InputObject."},
		{"'a' | Get-Command -Foo", "Get-Command: A parameter cannot be found that matches parameter name 'Foo'."},
		{"Select-Object -E x", "Select-Object: Parameter cannot be processed because the parameter name 'E' is ambiguous. Possible matches include: -ExpandProperty -ExcludeProperty -ErrorAction -ErrorVariable."},
		{"1 | Get-Help", ""},
		{"Start-Sleep -Seconds x", "Start-Sleep: Cannot convert -Seconds to a number."},
		{"exit 4; 'not reached'", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := evalOut(t, tt.src)
			if tt.want == "" {
				if strings.Contains(got, "not reached") {
					t.Errorf("got %q; the statement after exit ran", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestStatementErrorContinues checks that an error ends only its own
// statement, as a terminating error does in PowerShell scripts.
func TestStatementErrorContinues(t *testing.T) {
	got := evalOut(t, "'one'; $null.X(); 'two'\n1/0\n'three'")
	want := "one\nInvalidOperation: You cannot call a method on a null-valued expression.\ntwo\nRuntimeException: Attempted to divide by zero.\nthree\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestBinding(t *testing.T) {
	cm := &Cmdlet{Name: "Test-Binding", ShouldProcess: true, Params: []*Param{
		{Name: "Identity", Type: TIdentity, Position: 1, Mandatory: true, FromPipeline: true, FromPipelineByName: true},
		{Name: "PopEnabled", Type: TBool},
		{Name: "ImapEnabled", Type: TBool},
		{Name: "Count", Aliases: []string{"n"}, Type: TInt},
		{Name: "Names", Type: TStrings, Position: 2},
		{Name: "Period", Type: TEnum, Enum: []string{"7", "30"}},
		{Name: "Force", Type: TSwitch},
	}, New: func() Impl {
		return Impl{Process: func(ctx context.Context, c *Call) error {
			var parts []string
			for _, p := range c.Cmdlet.AllParams() {
				if v, ok := c.Get(p.Name); ok {
					parts = append(parts, p.Name+"="+DisplayValue(v))
				}
			}
			return c.Emit(strings.Join(parts, " "))
		}}
	}}
	tests := []struct{ src, want string }{
		{"Test-Binding christa", "Identity=christa"},
		{"test-binding -IDENTITY christa -popenabled $false", "Identity=christa PopEnabled=False"},
		{"Test-Binding -Ident christa -Pop:$true -Imap 0", "Identity=christa PopEnabled=True ImapEnabled=False"},
		{"Test-Binding christa a,b", "Identity=christa Names={a, b}"},
		{"Test-Binding -Names a christa", "Identity=christa Names={a}"},
		{"Test-Binding christa -n 5", "Identity=christa Count=5"},
		{"Test-Binding christa -Count '7'", "Identity=christa Count=7"},
		{"Test-Binding christa -PopEnabled 'TRUE' -ImapEnabled 1", "Identity=christa PopEnabled=True ImapEnabled=True"},
		{"Test-Binding christa -Force", "Identity=christa Force=True"},
		{"Test-Binding christa -Force:$false", "Identity=christa Force=False"},
		{"Test-Binding christa -wi", "Identity=christa WhatIf=True"},
		{"Test-Binding christa -Period 30", "Identity=christa Period=30"},
		{"Test-Binding christa -ea SilentlyContinue", "Identity=christa ErrorAction=SilentlyContinue"},
		{"'bob' | Test-Binding", "Identity=bob"},
		{"[pscustomobject]@{Identity = 'kim'; Other = 1} | Test-Binding", "Identity=kim"},
		{"[pscustomobject]@{Name = 'x'} | Test-Binding", "Test-Binding: The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input."},
		{"Test-Binding", "Test-Binding: Cannot process command because of one or more missing mandatory parameters: Identity."},
		{"Test-Binding $null", "Test-Binding: Cannot bind argument to parameter 'Identity' because it is null."},
		{"Test-Binding ''", "Test-Binding: Cannot bind argument to parameter 'Identity' because it is an empty string."},
		{"Test-Binding a -I b", "Test-Binding: Parameter cannot be processed because the parameter name 'I' is ambiguous. Possible matches include: -Identity -ImapEnabled."},
		{"Test-Binding a -Bogus", "Test-Binding: A parameter cannot be found that matches parameter name 'Bogus'."},
		{"Test-Binding a -PopEnabled", "Test-Binding: Missing an argument for parameter 'PopEnabled'. Specify a parameter of type 'System.Boolean' and try again."},
		{"Test-Binding a -PopEnabled yes", "Test-Binding: Cannot process argument transformation on parameter 'PopEnabled'. Cannot convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."},
		{"Test-Binding a -Count many", "Test-Binding: Cannot bind parameter 'Count'. Cannot convert value \"many\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""},
		{"Test-Binding a -Period 5", "Test-Binding: Cannot validate argument on parameter 'Period'. The argument \"5\" does not belong to the set \"7,30\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again."},
		{"Test-Binding a b c", "Test-Binding: A positional parameter cannot be found that accepts argument 'c'."},
		{"Test-Binding a -Count 1 -count 2", "Test-Binding: Cannot bind parameter because parameter 'Count' is specified more than once."},
		{"Test-Binding a,b", "Test-Binding: Cannot convert 'System.Object[]' to the type 'Microsoft.Exchange.Configuration.Tasks.IdParameter' required by parameter 'Identity'. Specified method is not supported."},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			var out bytes.Buffer
			r := NewRegistry()
			r.Add(Builtins()...)
			r.Add(cm)
			s := NewSession(SessionOptions{Host: Host{Out: &out, Err: &out}, Registry: r})
			if err := s.Execute(context.Background(), tt.src); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(out.String())
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
