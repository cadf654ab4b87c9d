// Command ltnode is an agency's node: send, receive, track, sign and verify
// documents. See node/nodecli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/node/nodecli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &nodecli.Main{Stdout: os.Stdout, Stderr: os.Stderr, IsTerminal: func() bool {
		fi, err := os.Stdout.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
