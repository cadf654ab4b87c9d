//go:build !unix

package browser

import "os/exec"

// ownGroup does nothing where there are no process groups: cancelling
// kills the browser process only.
func ownGroup(*exec.Cmd) {}

// killGroup does nothing where there are no process groups.
func killGroup(*exec.Cmd) {}
