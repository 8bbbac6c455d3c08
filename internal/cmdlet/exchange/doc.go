// Package exchange holds the Exchange cmdlets of the admin shell
// (Get-/Set-CASMailbox, Get-Mailbox, New-/Remove-Mailbox, Get-User,
// Get-Recipient, role groups, Search-AdminAuditLog, reports,
// Connect-ExchangeOnline and the rest; CMDLETS.md lists them). Each calls
// the server through the cmdlet.API interface, which the REST client
// implements, and writes cmdlet.Objects as Exchange shows them: paging and
// the default -ResultSize cap, -WhatIf reports, batched Set- pipelines,
// Exchange's wording of errors and warnings.
//
// Adding a cmdlet: register it in ExchangeCmdlets with its parameters and
// an Impl (Begin/Process/End) that calls the server through the API
// interface; add the matching REST route and service method first, then
// regenerate ../CMDLETS.md with `go test ./internal/cmdlet/exchange -run
// TestCmdletReference -update` (the test fails while the checked-in copy is
// stale).
package exchange
