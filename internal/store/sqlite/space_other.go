//go:build !linux

package sqlite

// lowOnSpace cannot tell on this system: only SQLITE_FULL counts as a full
// disk.
func lowOnSpace(string) bool { return false }
