// Package architecture holds no code, only a test: the import rules of
// docs/ARCHITECTURE.md ("Layers"), checked against what `go list` reports
// for every package of the module, so that a change that crosses a layer
// fails `go test` rather than waiting for a reader to notice.
//
// The rules cover the code that is built into the server, not test files
// (a test may use real parts from anywhere: an IMAP test may open a SQLite
// store), with one exception: nothing but cmd/... and internal/testenv may
// import internal/app, tests included.
package architecture
