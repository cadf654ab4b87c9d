package bench

import (
	"bytes"
	"os"
	"strconv"
)

// procRSS reads the resident set size and its high-water mark of process
// pid ("self" for this one) from /proc/PID/status.
func procRSS(pid string) (now, peak int64, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, false
	}
	now, ok1 := statusField(b, "VmRSS")
	peak, ok2 := statusField(b, "VmHWM")
	return now, peak, ok1 && ok2
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

// resetPeakRSS resets process pid's VmHWM to its current RSS (Linux 4.0+).
func resetPeakRSS(pid string) bool {
	return os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0) == nil
}
