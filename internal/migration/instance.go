package migration

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// InstanceFileName is the file in the data directory that names this
// installation's migration engine across restarts.
const InstanceFileName = "migration-instance"

// Instance is the identity of one installation (one data directory) of
// Gatehouse across its restarts, held by one process at a time.
//
// A batch's lease is held as "instance/node", node being the random name of
// the process. The file carries an exclusive flock(2) for as long as the
// process lives, and the kernel drops it when the process ends however it
// ends (kill -9 included), so a process that holds the lock knows that
// every earlier process of its instance is gone: it takes over their
// leases at once instead of waiting for them to expire. Another node (its
// own data directory, so its own instance) still waits for the expiry.
type Instance struct {
	ID string
	f  *os.File
}

// ClaimInstance opens (creating it at the first start) the instance file
// in dir and locks it. It fails when another running process holds it.
func ClaimInstance(dir string) (*Instance, error) {
	path := filepath.Join(dir, InstanceFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is locked by another running process of this data directory", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	b := make([]byte, 64)
	n, err := f.ReadAt(b, 0)
	id := strings.TrimSpace(string(b[:n]))
	if id == "" {
		var r [8]byte
		rand.Read(r[:])
		id = hex.EncodeToString(r[:])
		if _, err := f.WriteAt([]byte(id+"\n"), 0); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	} else if err != nil && n == 0 {
		f.Close()
		return nil, err
	}
	if strings.ContainsAny(id, "/%_ \t") {
		f.Close()
		return nil, fmt.Errorf("%s: malformed instance name %q", path, id)
	}
	return &Instance{ID: id, f: f}, nil
}

// Close releases the lock (the process's end does it too).
func (i *Instance) Close() error {
	if i == nil || i.f == nil {
		return nil
	}
	return i.f.Close()
}
