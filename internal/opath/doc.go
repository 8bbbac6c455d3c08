// Package opath parses, prints and evaluates the OPATH filter language that
// Exchange cmdlets take in their -Filter parameter, for example
//
//	PopEnabled -eq $false -and Name -like 'Chr*'
//
// The grammar is the subset Exchange documents for recipient filters
// ("Recipient filters in Exchange PowerShell commands"):
//
//	filter     = or EOF
//	or         = and { "-or" and }
//	and        = unary { "-and" unary }
//	unary      = ( "-not" | "!" ) unary | primary
//	primary    = "(" or ")" | comparison
//	comparison = property operator value
//	operator   = "-eq" | "-ne" | "-lt" | "-gt" | "-le" | "-ge" | "-like" | "-notlike"
//	value      = 'single quoted' | "double quoted" | $true | $false | $null
//	           | number | date | bareword
//
// Operators and the system values are case-insensitive, as in Exchange.
// -and binds tighter than -or; -not binds tightest.
//
// Parse returns a small AST (And, Or, Not, Comparison) that callers walk,
// for instance to push the filter down into SQL; Eval evaluates it against a
// property getter; Check validates property names and value types against a
// Schema. The package imports nothing internal.
package opath
