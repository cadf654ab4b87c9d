package fsutil

import (
	"fmt"
	"os"
)

// SyncFS flushes the whole file system holding dir: after writing many
// files (a backup, a restore), one flush instead of an fsync per file and
// per directory.
func SyncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s for syncing: %w", dir, err)
	}
	defer d.Close()
	if err := syncFileSystem(d); err != nil {
		return fmt.Errorf("flushing the file system of %s: %w", dir, err)
	}
	return nil
}
