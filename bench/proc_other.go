//go:build !linux

package bench

func currentRSS() (int64, bool) { return 0, false }

func peakRSS() (int64, bool) { return 0, false }

func resetPeakRSS() bool                       { return false }
func statusField([]byte, string) (int64, bool) { return 0, false }
