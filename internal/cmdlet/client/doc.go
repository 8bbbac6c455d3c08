// Package client is the admin shell's REST client: it signs in to a
// Gatehouse server's /api/v1 (bearer token, signing in again when it
// expires), trusts an https:// certificate by CA file or pinned
// fingerprint, refuses to send a password over plain http:// to another
// host, follows paged collections (NextCursor or a Link header), sends Set-
// pipelines as bulk PATCH requests where the server offers them, and turns
// the server's JSON into cmdlet.Objects with their property order kept. It
// implements cmdlet.API.
package client
