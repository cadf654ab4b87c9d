//go:build unix && !linux

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// syncFileSystem has no per-file-system call to use here: sync(2) flushes
// them all.
func syncFileSystem(*os.File) error {
	syscall.Sync()
	return nil
}

// syncData is fsync: not every system has fdatasync.
func syncData(f *os.File) error { return f.Sync() }

func deviceOf(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("finding the file system of %s: %w", path, err)
	}
	return uint64(st.Dev), nil
}
