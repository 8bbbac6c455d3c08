// Package wire holds the JSON contract of the REST API (/api/v1): the
// request bodies, the resources and the envelopes (results, pages,
// errors) exactly as they cross the wire. internal/api encodes and
// decodes these types, and the admin shell's REST client
// (internal/cmdlet/client) decodes the same types, so the contract is
// written once. Field names are the property names of Exchange
// (PascalCase), in the order the cmdlets show them: encoding/json writes
// them in field order, and the shell shows them in that order too.
//
// The package is a leaf: it imports nothing of Gatehouse, so that a
// client can use it without the server's service layer.
package wire
