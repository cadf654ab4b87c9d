// Command ltyear replays one province-year (by default 800,000 documents
// among about a thousand agencies) through a real hub and checks the
// compliance report against what it did. See package bench/year.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/bench/year"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := year.Stdio().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
