// Package fsutil holds the one file-system step that the hub's store and
// the node's inbox and outbox share for durability: fsyncing a directory so
// that a file created or renamed in it survives power loss.
package fsutil

import (
	"fmt"
	"os"
)

// SyncDir fsyncs the directory dir.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
