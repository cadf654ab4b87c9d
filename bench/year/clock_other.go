//go:build !linux

package year

import "errors"

// mapClock needs a shared mapping; on other systems the hub runs inside
// the replay's process (--in-process).
func mapClock(string, bool) (*simClock, func() error, error) {
	return nil, nil, errors.New("a hub process needs Linux here; use --in-process")
}
