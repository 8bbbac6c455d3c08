// Package exchange holds the Exchange cmdlets of the admin shell
// (Get-/Set-CASMailbox, Get-Mailbox, New-/Remove-Mailbox, Get-User,
// Get-Recipient, role groups, Search-AdminAuditLog, reports,
// Connect-ExchangeOnline and the rest; CMDLETS.md lists them). Each calls
// the server through the session's REST client (package client), with the
// request and answer types of internal/api/wire, reads their fields, and
// writes cmdlet.Objects (client.Object) as Exchange shows them: paging and
// the default -ResultSize cap, -WhatIf reports, batched Set- pipelines,
// Exchange's wording of errors and warnings.
//
// Adding a cmdlet: register it in ExchangeCmdlets with its parameters and
// an Impl (Begin/Process/End) that calls a typed method of the client;
// add the matching service method, wire type, REST route and client
// method first, then
// regenerate ../CMDLETS.md with `go test ./internal/cmdlet/exchange -run
// TestCmdletReference -update` (the test fails while the checked-in copy is
// stale).
package exchange
