// Package cmdlet is the admin shell behind `gatehouse shell`: it runs the
// scripts that package syntax parses. It holds the cmdlet registry and
// parameter binding (case-insensitive names, unambiguous prefixes,
// -Param:value, switches, pipeline input by value and by property name),
// the interpreter of pipelines and expressions, the PowerShell helpers an
// admin needs (Format-Table, Select-Object, Where-Object, ...), the
// Exchange cmdlets (Get-/Set-CASMailbox and the rest, in exchange.go) and
// the REST client they call: the shell never touches the store or the
// service layer, it speaks the server's REST API like any other client.
// Flow control (break, continue, return, throw, try/catch) travels as Go
// errors (control.go); functions and a script's param() block bind through
// the cmdlet binder (functions.go); Get-User, Get-Recipient and the other
// views of mailboxes are in recipients.go, Connect-ExchangeOnline in
// connect.go, Start-Transcript in transcript.go.
//
// Adding a cmdlet: register it in ExchangeCmdlets with its parameters and
// an Impl (Begin/Process/End) that calls the server through the API
// interface; add the matching REST route and service method first, then
// regenerate CMDLETS.md with `go test -run TestCmdletReference -update`
// (the test fails while the checked-in copy is stale).
package cmdlet
