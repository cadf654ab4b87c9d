// Command ltbench measures the hub's throughput, latency, memory and CPU
// on this machine against the raw storage limit and signature
// verification; the last line of its output is one JSON object. See
// package bench.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Stdio().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
