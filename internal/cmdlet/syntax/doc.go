// Package syntax lexes, parses and prints the subset of PowerShell that the
// Gatehouse admin shell understands: enough to type what the Exchange
// documentation says, the way Exchange admins already type it.
//
//	Set-CASMailbox -Identity "Christa Knapp" -POPEnabled $true
//	Get-Mailbox -ResultSize Unlimited | Set-CASMailbox -PopEnabled $false -ImapEnabled:$false
//	Import-Csv users.csv | ForEach-Object { Set-CASMailbox -Identity $_.Alias -ImapEnabled $false }
//
// Statements are pipelines and assignments, if, foreach, for, while, do,
// switch, try/catch/finally, throw, return, break, continue, and function
// and filter declarations with param() blocks; a script may start with
// its own param() block (control.go).
//
// Like PowerShell, the lexer has modes: in argument mode (the arguments of a
// command) a bareword such as Pop*,Imap* or pop.csv is a string and -Name is
// a parameter; in expression mode -eq is an operator and a bareword is an
// error. The parser tells the lexer which mode it needs for each token
// (lexing is synchronous and position-based, so a token can be re-lexed in
// another mode). Each production of the parser carries its grammar rule in
// a comment.
//
// Errors are *Error values with a line and column, PowerShell's message
// text, and an Incomplete flag that is set when more input could complete
// the script (an open string, brace or pipe), so that a REPL can ask for
// another line instead of failing.
//
// The printer (Node.String) writes a canonical form that parses back to the
// same tree; comments and the choice of quotes are not preserved.
//
// The package imports nothing from Gatehouse.
package syntax
