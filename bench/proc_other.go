//go:build !linux

package bench

func procRSS(string) (now, peak int64, ok bool) { return 0, 0, false }

func resetPeakRSS(string) bool                 { return false }
func statusField([]byte, string) (int64, bool) { return 0, false }
