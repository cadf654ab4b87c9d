//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hubcli

import (
	"errors"
	"os"
)

func isTerminal(*os.File) bool { return false }

func noEcho(*os.File) (func(), error) { return nil, errors.New("no terminal") }
