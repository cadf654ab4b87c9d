//go:build unix

package pades_test

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time the process has used,
// a measure that a busy machine's other processes do not inflate.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
