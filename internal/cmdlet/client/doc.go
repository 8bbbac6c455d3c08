// Package client is the admin shell's REST client: it signs in to a
// Gatehouse server's /api/v1 (bearer token, signing in again when it
// expires), trusts an https:// certificate by CA file or pinned
// fingerprint, refuses to send a password over plain http:// to another
// host, follows paged collections (NextCursor or a Link header), and sends
// Set-CASMailbox pipelines as bulk PATCH requests where the server offers
// them.
//
// Requests and answers are the types of internal/api/wire, the package
// internal/api encodes, so the contract is written once: typed methods
// (GetCASMailboxPlan, SetMailbox, ...) and the generic List and Get over a
// Collection decode into them with encoding/json. Object turns a typed
// answer into the shell's object for the pipeline, in one place. The
// shell's own JSON reader (cmdlet.DecodeJSON) is for ConvertFrom-Json
// only. Client implements cmdlet.API.
package client
