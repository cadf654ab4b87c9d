package store

import (
	"os"
	"syscall"
)

// identity returns f's identity, or false if it cannot be had (the file
// is then always hashed with SHA-256).
func identity(f *os.File) (fileIdentity, bool) {
	fi, err := f.Stat()
	if err != nil {
		return fileIdentity{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{}, false
	}
	return fileIdentity{
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}
