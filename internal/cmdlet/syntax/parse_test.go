package syntax

import (
	"errors"
	"strings"
	"testing"
)

// The documented Exchange examples of issue 6 and the forms around them.
func TestParsePrint(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true`,
			`Set-CASMailbox -Identity 'Christa Knapp' -POPEnabled $true`},
		{`Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*`,
			`Get-CASMailbox -Identity 'Christa Knapp' | Format-List Pop*,Imap*`},
		{`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`,
			`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`},
		{"Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation",
			`Get-CASMailbox -Filter 'PopEnabled -eq $true' | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation`},
		{`Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }`,
			`Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }`},
		{`New-Mailbox -Name "Chris" -Password (ConvertTo-SecureString -String 'P@ss' -AsPlainText -Force)`,
			`New-Mailbox -Name 'Chris' -Password (ConvertTo-SecureString -String 'P@ss' -AsPlainText -Force)`},
		{"get-casmailbox christa", "get-casmailbox christa"},
		{"Set-CASMailbox @params -WhatIf; Write-Output @args", "Set-CASMailbox @params -WhatIf\nWrite-Output @args"},
		{"Write-Output @x.y @ a@b", "Write-Output '@x.y' '@' 'a@b'"},
		{"Get-CASMailbox -ResultSize Unlimited>cas.txt", "Get-CASMailbox -ResultSize Unlimited > cas.txt"},
		{`Get-Mailbox | Select-Object Name >> "C:\out put.txt"`, `Get-Mailbox | Select-Object Name >> 'C:\out put.txt'`},
		{"'note' > $null", "'note' > $null"},
		{"Get-Mailbox | Where-Object { $_.PopEnabled -eq $false -and $_.Name -like 'Chr*' } | Sort-Object Name -Descending",
			"Get-Mailbox | Where-Object { $_.PopEnabled -eq $false -and $_.Name -like 'Chr*' } | Sort-Object Name -Descending"},
		{"Get-Mailbox | ? { !$_.ImapEnabled } | % { $_.Name }", "Get-Mailbox | ? { !$_.ImapEnabled } | % { $_.Name }"},
		{"$x = Get-Mailbox -ResultSize 10; $x.Count", "$x = Get-Mailbox -ResultSize 10\n$x.Count"},
		{"$n += 1", "$n += 1"},
		{"$a = 1, 2, 3", "$a = 1, 2, 3"},
		{"$a[0].Name", "$a[0].Name"},
		{"(Get-Mailbox).Count", "(Get-Mailbox).Count"},
		{"$s.ToUpper().Trim('x', 'y')", "$s.ToUpper().Trim('x', 'y')"},
		{"[datetime]::Now.AddDays(-7)", "[datetime]::Now.AddDays(-7)"},
		{"[int]'5' + 2 * 3", "[int]'5' + 2 * 3"},
		{"(1 + 2) * 3", "(1 + 2) * 3"},
		{"1..5 | ForEach-Object { $_ * 2 }", "1..5 | ForEach-Object { $_ * 2 }"},
		{`"Hello $name, you have $($x.Count) items"`, `"Hello $name, you have $($x.Count) items"`},
		{`"${name}s and $env:USER` + "`t" + `"`, `"${name}s and $env:USER` + "`t" + `"`},
		{`"say ""hi"""`, `'say "hi"'`},
		{`"cost: ` + "`" + `$5"`, `'cost: $5'`},
		{"@{Name = 'x'; Expression = { $_.Alias }}", "@{Name = 'x'; Expression = { $_.Alias }}"},
		{"Select-Object Name, @{n='Pop';e={$_.PopEnabled}}", "Select-Object Name,@{n = 'Pop'; e = { $_.PopEnabled }}"},
		{"@{\n  a = 1\n  b = 'two'\n}", "@{a = 1; b = 'two'}"},
		{"@(Get-Mailbox).Length", "@(Get-Mailbox).Length"},
		{"$(1; 2)", "$(1; 2)"},
		{"-not $x", "-not $x"},
		{"$a -and $b -or $c", "$a -and $b -or $c"},
		{"'a' -in 'a', 'b'", "'a' -in 'a', 'b'"},
		{"'{0} items' -f 5", "'{0} items' -f 5"},
		{"$x -replace 'a', 'b'", "$x -replace 'a', 'b'"},
		{"if ($x) { 'yes' } elseif ($y) { 'maybe' } else { 'no' }", "if ($x) { 'yes' } elseif ($y) { 'maybe' } else { 'no' }"},
		{"if ($x) {\n 'yes'\n}\nelse {\n 'no'\n}", "if ($x) { 'yes' } else { 'no' }"},
		{"foreach ($u in Import-Csv users.csv) { Set-CASMailbox $u.Alias -PopEnabled $false }", "foreach ($u in Import-Csv users.csv) { Set-CASMailbox $u.Alias -PopEnabled $false }"},
		{"Get-Mailbox |\n  Format-Table", "Get-Mailbox | Format-Table"},
		// control flow (issue 13)
		{"try { Get-Mailbox x -ErrorAction Stop } catch { $_.Exception.Message } finally { 'done' }",
			"try { Get-Mailbox x -ErrorAction Stop } catch { $_.Exception.Message } finally { 'done' }"},
		{"try {\n 1\n}\ncatch [System.Management.Automation.CommandNotFoundException], [RuntimeException] {\n 2\n}\ncatch { 3 }",
			"try { 1 } catch [System.Management.Automation.CommandNotFoundException], [RuntimeException] { 2 } catch { 3 }"},
		{"try { 1 } finally { 2 }", "try { 1 } finally { 2 }"},
		{"throw \"no $x\"; throw; throw @{a = 1}", "throw \"no $x\"\nthrow\nthrow @{a = 1}"},
		{"return; return $x + 1; return Get-Mailbox", "return\nreturn $x + 1\nreturn Get-Mailbox"},
		{"while ($i -lt 3) { $i++; if ($i -eq 2) { continue }; break }", "while ($i -lt 3) { $i++; if ($i -eq 2) { continue }; break }"},
		{"do { $i++ } while ($i -lt 3); do {\n $i--\n}\nuntil ($i -eq 0)", "do { $i++ } while ($i -lt 3)\ndo { $i-- } until ($i -eq 0)"},
		{"for ($i = 0; $i -lt 5; $i++) { $i }; for (;;) { break }", "for ($i = 0; $i -lt 5; $i++) { $i }\nfor (; ; ) { break }"},
		{"switch -Wildcard ($x) { 'a*' { 1 } b* { 2; break } 5 { 3 } { $_ -gt 1 } { 4 } default { 5 } }",
			"switch -wildcard ($x) { 'a*' { 1 } b* { 2; break } 5 { 3 } { $_ -gt 1 } { 4 } default { 5 } }"},
		{"switch -regex -casesensitive (1, 2) {\n  '^1$' { 'one' }\n  default { 'other' }\n}",
			"switch -regex -casesensitive (1, 2) { '^1$' { 'one' } default { 'other' } }"},
		{"function Get-Double($n, [int]$m = 2) { $n * $m }", "function Get-Double($n, [int]$m = 2) { $n * $m }"},
		{"function f {\n  [CmdletBinding()]\n  param(\n    [Parameter(Mandatory = $true, ValueFromPipeline)][string]$Name,\n    [switch]$Force\n  )\n  process { $Name }\n}",
			"function f { [CmdletBinding()]param([Parameter(Mandatory = $true, ValueFromPipeline)][string]$Name, [switch]$Force) process { $Name } }"},
		{"function f { param($a) $a }; filter g { $_ }; function h {}", "function f { param($a); $a }\nfilter g { $_ }\nfunction h { }"},
		{"param([string]$Name = 'x', [int]$Count)\nGet-Mailbox $Name", "param([string]$Name = 'x', [int]$Count)\nGet-Mailbox $Name"},
		{"[CmdletBinding()]\nparam($a)", "[CmdletBinding()]param($a)"},
		{"[int]$x = 5", "[int]$x = 5"},
		{":outer foreach ($a in 1..3) { :inner for (;;) { break outer; continue inner } }", ":outer foreach ($a in 1..3) { :inner for (; ; ) { break outer; continue inner } }"},
		{":w while ($true) { break w }; :d do { } until ($true); :s switch (1) { 1 { continue s } }", ":w while ($true) { break w }\n:d do {} until ($true)\n:s switch (1) { 1 { continue s } }"},
		{"Get-Mailbox `\n -ResultSize 5", "Get-Mailbox -ResultSize 5"},
		{"Format-List Pop*,\n  Imap*", "Format-List Pop*,Imap*"},
		{"$x = 1 +\n 2", "$x = 1 + 2"},
		{"# just a comment\nGet-Mailbox # trailing\n\n;;", "Get-Mailbox"},
		{"& 'Get-Mailbox' -ResultSize 1", "& 'Get-Mailbox' -ResultSize 1"},
		{"& $cmd", "& $cmd"},
		{"Write-Host -ForegroundColor Red 'x'", "Write-Host -ForegroundColor Red 'x'"},
		{"Write-Output @'\nline1\nline2\n'@", "Write-Output 'line1\nline2'"},
		{"Write-Output (1,2)", "Write-Output (1, 2)"},
		{"Write-Output -5 '-x' -- a`b", "Write-Output -5 '-x' '--' ab"},
		{"$null = Get-Mailbox", "$null = Get-Mailbox"},
		{"exit 1", "exit 1"},
		{"$i++; $h.n--; ++$a[0]; --$x; - -$y; -(-5); $i + ++$j", "$i++\n$h.n--\n++$a[0]\n--$x\n- -$y\n-(-5)\n$i + ++$j"},
		{"1--1; 2++3", "1 - -1\n2 + +3"},
		{"$h.Key = 'v'", "$h.Key = 'v'"},
		{"$x.'odd name'", "$x.'odd name'"},
		{"[string[]]$list = 'a'", "[string[]]$list = 'a'"},
		{"Write-Output $a.b.c $d[1]", "Write-Output $a.b.c $d[1]"},
		{"Get-Mailbox –Identity ‘Christa’", "Get-Mailbox -Identity 'Christa'"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			again, err := Parse(s.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", s.String(), err)
			}
			if again.String() != s.String() {
				t.Errorf("round trip: got %s; want %s", again, s)
			}
		})
	}
}

func TestParseTree(t *testing.T) {
	s, err := Parse(`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`)
	if err != nil {
		t.Fatal(err)
	}
	pl := s.Statements[0].(*Pipeline)
	if len(pl.Elements) != 2 {
		t.Fatalf("got %d pipeline elements; want 2", len(pl.Elements))
	}
	get := pl.Elements[0].(*Command)
	if get.Name != "Get-Mailbox" || len(get.Elements) != 2 {
		t.Fatalf("got %s with %d elements; want Get-Mailbox with 2", get.Name, len(get.Elements))
	}
	if p := get.Elements[0].(*Parameter); p.Name != "ResultSize" || p.Colon || p.Arg != nil {
		t.Errorf("got %+v; want -ResultSize without argument", p)
	}
	if a := get.Elements[1].(*StringLit); a.Value != "Unlimited" || !a.Bare {
		t.Errorf("got %+v; want bare Unlimited", a)
	}
	set := pl.Elements[1].(*Command)
	imap := set.Elements[2].(*Parameter)
	if imap.Name != "ImapEnabled" || !imap.Colon || imap.Arg.(*Variable).Name != "false" {
		t.Errorf("got %+v; want -ImapEnabled:$false", imap)
	}
	if set.Offset != 36 {
		t.Errorf("Set-CASMailbox offset: got %d; want 36", set.Offset)
	}

	s, err = Parse("$_.Name -eq 'a' -or -not $_.X -and 1 + 2 * 3 -gt 4")
	if err != nil {
		t.Fatal(err)
	}
	// -and/-or are one level, left-associative; arithmetic binds tighter
	// than comparison, -not tighter than everything binary.
	x := s.Statements[0].(*Pipeline).Elements[0].(*ExprElement).X.(*Binary)
	if x.Op != "-and" {
		t.Fatalf("root: got %s; want -and", x.Op)
	}
	if l := x.L.(*Binary); l.Op != "-or" || l.R.(*Unary).Op != "-not" {
		t.Errorf("left: got %s", l)
	}
	if r := x.R.(*Binary); r.Op != "-gt" || r.L.(*Binary).Op != "+" || r.L.(*Binary).R.(*Binary).Op != "*" {
		t.Errorf("right: got %s", r)
	}

	s, err = Parse(`Get-CASMailbox -Filter {PopEnabled -eq $false}`)
	if err != nil {
		t.Fatal(err)
	}
	sb := s.Statements[0].(*Pipeline).Elements[0].(*Command).Elements[1].(*ScriptBlock)
	if sb.Text != "PopEnabled -eq $false" {
		t.Errorf("script block text: got %q", sb.Text)
	}

	s, err = Parse(`"a $b $($c.D) e"`)
	if err != nil {
		t.Fatal(err)
	}
	es := s.Statements[0].(*Pipeline).Elements[0].(*ExprElement).X.(*ExpandString)
	if len(es.Parts) != 5 {
		t.Fatalf("got %d parts; want 5: %s", len(es.Parts), es)
	}
	if v := es.Parts[1].(*Variable); v.Name != "b" || v.Offset != 3 {
		t.Errorf("got %+v; want $b at 3", v)
	}
	if sub := es.Parts[3].(*SubExpr); sub.Offset != 6 || sub.Statements[0].String() != "$c.D" {
		t.Errorf("got %+v; want $($c.D) at 6", sub)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in         string
		line, col  int
		msg        string
		incomplete bool
	}{
		{"Get-Mailbox -Identity 'abc", 1, 23, "The string is missing the terminator: '.", true},
		{"Get-Mailbox -Identity \"abc", 1, 23, "The string is missing the terminator: \".", true},
		{"Get-Mailbox |", 1, 14, "An empty pipe element is not allowed.", true},
		{"Get-Mailbox | | Format-List", 1, 15, "An empty pipe element is not allowed.", false},
		{"| Format-List", 1, 1, "Unexpected token '|' in expression or statement.", false},
		{"Get-Mailbox | 'x'", 1, 15, "Expressions are only allowed as the first element of a pipeline.", false},
		{"Get-Mailbox | ForEach-Object {", 1, 31, "Missing closing '}' in statement block or type definition.", true},
		{"Get-Mailbox | ForEach-Object {\n  $_.Name\n", 3, 1, "Missing closing '}' in statement block or type definition.", true},
		{"(Get-Mailbox", 1, 13, "Missing closing ')' in expression.", true},
		{"$x = (1 2)", 1, 9, "Missing closing ')' in expression.", false},
		{"$(1", 1, 4, "Missing closing ')' in subexpression.", true},
		{"\"a $(b\"", 1, 1, "The string is missing the terminator: \".", true},
		{"\"a $(b)", 1, 1, "The string is missing the terminator: \".", true},
		{"\"a $(1 2)\"", 1, 8, "Unexpected token '2' in expression or statement.", false},
		{"$x -eq", 1, 7, "You must provide a value expression following the '-eq' operator.", true},
		{"$x -eq )", 1, 7, "You must provide a value expression following the '-eq' operator.", false},
		{"$x +", 1, 5, "You must provide a value expression following the '+' operator.", true},
		{"-not", 1, 5, "Missing expression after unary operator '-not'.", true},
		{"1,", 1, 3, "Missing expression after ','.", true},
		{"Format-List a,", 1, 15, "Missing argument in parameter list.", true},
		{"Format-List a,|x", 1, 15, "Missing argument in parameter list.", false},
		{"Set-CASMailbox -PopEnabled:", 1, 28, "Missing an argument for parameter 'PopEnabled'. Specify a parameter value after the ':'.", true},
		{"$x = ", 1, 5, "You must provide a value expression on the right-hand side of the '=' operator.", true},
		{"1 = 2", 1, 1, "The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.", false},
		{"$x.", 1, 4, "Missing property name after reference operator.", true},
		{"$x. y", 1, 4, "Missing property name after reference operator.", false},
		{"$a[", 1, 4, "Missing ']' after array index expression.", true},
		{"$a[]", 1, 4, "Array index expression is missing or not valid.", false},
		{"$a.b(1", 1, 7, "Missing ')' in method call.", true},
		{"@{a = 1", 1, 8, "The hash literal was incomplete.", true},
		{"@{a 1}", 1, 5, "Missing '=' operator after key in hash literal.", false},
		{"@{a = }", 1, 7, "Missing statement after '=' in hash literal.", false},
		{"[int", 1, 5, "Missing ] at end of type token.", true},
		{"[]", 1, 2, "Missing type name after '['.", false},
		{"$x -eq Christa", 1, 8, "You must provide a value expression following the '-eq' operator. Unexpected token 'Christa' in expression or statement.", false},
		{"$x -Identity 5", 1, 4, "Unexpected token '-Identity' in expression or statement.", false},
		{"}", 1, 1, "Unexpected token '}' in expression or statement.", false},
		{"Get-Mailbox )", 1, 13, "Unexpected token ')' in expression or statement.", false},
		{"if", 1, 3, "Missing '(' after 'if' in if statement.", true},
		{"if ($x)", 1, 8, "Missing statement block after if ( condition ).", true},
		{"if ($x) { 1 } else", 1, 19, "Missing statement block after 'else' keyword.", true},
		{"if () {}", 1, 5, "Missing condition in if statement after 'if ('.", false},
		{"foreach ($x Get-Mailbox) {}", 1, 13, "Missing 'in' after variable in foreach loop.", false},
		{"foreach (x in y) {}", 1, 10, "Missing variable name after foreach.", false},
		{"foreach ($x in $y)", 1, 19, "Missing statement body in foreach loop.", true},
		{"5++", 1, 2, "The '++' operator works only on variables or on properties.", false},
		{"'a'--", 1, 4, "The '--' operator works only on variables or on properties.", false},
		{"class C { }", 1, 1, "The 'class' keyword is not supported by this shell.", false},
		{"try { 1 }", 1, 10, "The Try statement is missing its Catch or Finally block.", true},
		{"try { 1 } 2", 1, 11, "The Try statement is missing its Catch or Finally block.", false},
		{"catch { 1 }", 1, 1, "Unexpected token 'catch' in expression or statement.", false},
		{"do { 1 }", 1, 9, "Missing while or until keyword in do loop.", true},
		{"while ($x)", 1, 11, "Missing statement body in while loop.", true},
		{"for ($i = 0) { }", 1, 12, "Missing ';' in for loop.", false},
		{"switch -Foo ($x) { }", 1, 8, "Invalid switch statement option '-Foo'. Use -Regex, -Wildcard, -Exact or -CaseSensitive.", false},
		{"switch ($x) { 1 }", 1, 17, "Missing statement block in switch statement clause.", false},
		{"function { }", 1, 10, "Missing name after function keyword.", false},
		{"function f($a) { param($b) }", 1, 18, "A param statement cannot be used if arguments were specified in the function declaration.", false},
		{"function f(a) { }", 1, 12, "Missing variable name in parameter list.", false},
		{"[CmdletBinding()] Get-Mailbox", 1, 1, "Unexpected attribute 'CmdletBinding'.", false},
		{":outer Get-Mailbox", 1, 1, "A loop label can only come before foreach, for, while, do or switch.", false},
		{"Get-Mailbox >", 1, 14, "Missing file specification after redirection operator.", false},
		{"Get-Mailbox > a.txt | Sort-Object", 1, 21, "An output redirection must come at the end of a pipeline.", false},
		{"Get-Mailbox > a.txt > b.txt", 1, 21, "An output redirection must come at the end of a pipeline.", false},
		{"Get-Mailbox 2>$null", 1, 14, "Only output redirection (> and >>) is supported; for errors use -ErrorAction or -ErrorVariable.", false},
		{"Get-Mailbox && x", 1, 13, "The token '&&' is not a valid statement separator in this version.", false},
		{"Get-Mailbox `", 1, 13, "Missing statement after the line continuation character '`'.", true},
		{"@'\nabc", 1, 1, "The string is missing the terminator: '@.", true},
		{"<# open", 1, 1, "Missing the terminator '#>' of a block comment.", true},
		{"Zoë -x 'ü", 1, 8, "The string is missing the terminator: '.", true},
		{strings.Repeat("(", 300), 1, 67, "The script is nested too deeply.", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v; want *Error", err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || pe.Msg != tt.msg || pe.Incomplete != tt.incomplete {
				t.Errorf("got line %d col %d %q incomplete=%v; want line %d col %d %q incomplete=%v",
					pe.Line, pe.Column, pe.Msg, pe.Incomplete, tt.line, tt.col, tt.msg, tt.incomplete)
			}
		})
	}
}

func TestErrorDetail(t *testing.T) {
	_, err := Parse("Get-Mailbox -Identity 'abc")
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	want := "At line:1 char:23\n+ Get-Mailbox -Identity 'abc\n+                       ~\nThe string is missing the terminator: '."
	if got := pe.Detail(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := pe.Error(); got != "At line:1 char:23: The string is missing the terminator: '." {
		t.Errorf("got %q", got)
	}
}

func TestParseExpression(t *testing.T) {
	x, err := ParseExpression("$_.PopEnabled -eq $false")
	if err != nil {
		t.Fatal(err)
	}
	if got := x.String(); got != "$_.PopEnabled -eq $false" {
		t.Errorf("got %s", got)
	}
	if _, err := ParseExpression("1 2"); err == nil {
		t.Error("ParseExpression(\"1 2\"): got nil error")
	}
}

// FuzzParse checks that Parse never panics and that printing is a fixed
// point: what it prints parses, and prints the same again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true`,
		`Get-CASMailbox -Identity "Christa Knapp" | Format-List Pop*,Imap*`,
		`Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false`,
		"Get-CASMailbox -Filter \"PopEnabled -eq `$true\" | Select-Object Name,PopEnabled | Export-Csv pop.csv -NoTypeInformation",
		`Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }`,
		`$x = @{a = 1; b = @(1,2)}; $x.a + $x['b'][0] * -3`,
		`"a ${b}c $($d | % { "$_!" }) ` + "`n" + `"`,
		"if ($a -and !$b) { 1 } elseif ($c) { 2 } else { 3 }",
		"foreach ($i in 1..3) { [int]$i -f 'x' }",
		"@'\nhere\n'@ | Out-Null",
		"[datetime]::Now.AddDays(-1).ToString('yyyy')",
		"try { throw 'x' } catch [RuntimeException] { $_ } finally { return }",
		"function f { [CmdletBinding()] param([Parameter(Mandatory)][string[]]$a = 'b') begin { } process { $_ } end { break } }",
		"switch -wildcard (1..3) { 2 { continue } default { 'x' } }; do { } until ($true); for (;;) { }",
		":a foreach ($x in 1) { :b while (1) { break a } }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T is not *Error", src, err)
			}
			_ = pe.Detail()
			return
		}
		printed := s.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", src, printed, err)
		}
		if got := again.String(); got != printed {
			t.Fatalf("round trip of %q:\ngot  %q\nwant %q", src, got, printed)
		}
	})
}
