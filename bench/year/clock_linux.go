package year

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// mapClock maps the 8-byte clock file at path, shared between the replay
// (which advances it, write true) and its hub process (which reads it):
// one atomic int64 in a page both processes see, so the hub reads the
// simulated time with no system call and never sees it behind what the
// replay set before sending.
func mapClock(path string, write bool) (c *simClock, unmap func() error, err error) {
	flag, prot := os.O_RDONLY, syscall.PROT_READ
	if write {
		flag, prot = os.O_RDWR|os.O_CREATE|os.O_EXCL, syscall.PROT_READ|syscall.PROT_WRITE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("clock file: %w", err)
	}
	defer f.Close()
	if write {
		if err := f.Truncate(8); err != nil {
			return nil, nil, fmt.Errorf("clock file: %w", err)
		}
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 8, prot, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping the clock file: %w", err)
	}
	// The mapping starts a page, so the int64 is aligned.
	return &simClock{ns: (*atomic.Int64)(unsafe.Pointer(&b[0]))}, func() error { return syscall.Munmap(b) }, nil
}
