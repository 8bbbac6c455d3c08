package sqlite

import "syscall"

// lowSpace is the free space under which an I/O error is taken for a full
// disk: less than a few pages of WAL.
const lowSpace = 1 << 20

// lowOnSpace reports whether the file system of dir has (almost) no space
// left for this process.
func lowOnSpace(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < lowSpace
}
