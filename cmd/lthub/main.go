// Command lthub runs the provincial document-exchange hub. See hub/hubcli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/hub/hubcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := hubcli.Stdio().Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
