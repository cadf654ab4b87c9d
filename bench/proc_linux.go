package bench

import (
	"bytes"
	"os"
	"strconv"
)

// statusBytes reads a "VmXXX:  1234 kB" line of /proc/self/status.
func statusBytes(field string) (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	return statusField(b, field)
}

// statusField reads a "VmXXX:  1234 kB" line of a /proc/PID/status file.
func statusField(b []byte, field string) (int64, bool) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		return kb << 10, err == nil
	}
	return 0, false
}

// currentRSS is the process's resident set size.
func currentRSS() (int64, bool) { return statusBytes("VmRSS") }

// peakRSS is the process's resident set high-water mark.
func peakRSS() (int64, bool) { return statusBytes("VmHWM") }

// resetPeakRSS resets VmHWM to the current RSS (Linux 4.0+).
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
