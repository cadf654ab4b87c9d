package fsutil

import (
	"fmt"
	"os"
)

// SyncData makes f's bytes durable, with what is needed to read them back
// (its size and block map) but not its times: fdatasync(2) where there is
// one, fsync elsewhere. Unlike a GroupSync it writes back nothing but f,
// so its cost does not grow with what other programs left dirty on the
// same file system; concurrent calls on one journaling file system share
// its journal commits.
func SyncData(f *os.File) error {
	if err := syncData(f); err != nil {
		return fmt.Errorf("flushing %s: %w", f.Name(), err)
	}
	return nil
}
