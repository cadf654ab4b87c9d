package fsutil

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFileSystem flushes the file system holding d. Since Linux 5.8
// syncfs reports write-back errors of any file on it. Control keeps d's
// descriptor from being closed (and reused) during the call.
func syncFileSystem(d *os.File) error {
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}

// syncData is fdatasync(2). Control keeps f's descriptor from being
// closed (and reused) during the call.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = unix.Fdatasync(int(fd)); serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return os.ErrClosed // Control fails only on a closed file, with the poller's own error
	}
	return serr
}

func deviceOf(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("finding the file system of %s: %w", path, err)
	}
	return st.Dev, nil
}
