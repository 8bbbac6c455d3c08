package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dataLockName is the file in a data directory that a server on SQLite
// holds an exclusive flock(2) on while it runs. The kernel drops the lock
// when the process ends, however it ends, so a crash leaves nothing stale.
// Commands that must not run beside a server on the same data (restore,
// move-store) take the same lock and fail at once when it is held.
// 'gatehouse backup' and 'gatehouse repair' do not take it: both are safe
// beside a running server.
const dataLockName = "gatehouse.lock"

// ErrDataInUse is returned when another process holds a data directory.
var ErrDataInUse = errors.New("data directory is in use by a running gatehouse server (stop it first)")

// lockData takes the data directory's lock without waiting. The returned
// function releases it.
func lockData(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, dataLockName)
	// Read-only is enough for flock, and the file holds nothing: readable
	// by all, so that a lock file made by root (a restore run by root)
	// does not keep the server's own user out.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	f.Chmod(0o644) // the umask may have taken bits; only the owner may chmod, so a failure is fine
	matchOwner(dir, path)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrDataInUse)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// matchOwner gives a file that root made in a data directory the
// directory's owner (the server's user), so that 'gatehouse restore' or
// 'move-store' run by root leave files the server can open.
func matchOwner(dir, path string) {
	if os.Geteuid() != 0 {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		os.Lchown(path, int(st.Uid), int(st.Gid))
	}
}
