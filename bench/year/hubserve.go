package year

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/lienthong/lienthong/bench"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/quarantine"
)

// serveHubVerb is the first argument that makes ltyear the hub process of
// a replay instead of a replay.
const serveHubVerb = "serve-hub"

// serveHub is `ltyear serve-hub`: the hub of --dir served on --listen as
// `lthub serve` serves it with its default flags (the same library and
// configuration, the background scrub included), except that its clock
// is the replay's simulated one, read from --clock. It prints the line
// bench.StartHubProcess waits for and serves until ctx ends (SIGTERM).
func (m *Main) serveHub(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("ltyear "+serveHubVerb, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	dir := fs.String("dir", "", "hub `directory`")
	listen := fs.String("listen", "127.0.0.1:0", "gRPC `address`")
	clockPath := fs.String("clock", "", "the replay's clock `file`")
	cpuProfile := fs.String("cpu-profile", "", "write the hub process's CPU profile to `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || *clockPath == "" {
		fmt.Fprintln(m.Stderr, "ltyear serve-hub: --dir and --clock are required")
		return 2
	}
	if err := m.runHub(ctx, *dir, *listen, *clockPath, *cpuProfile); err != nil {
		fmt.Fprintf(m.Stderr, "ltyear serve-hub: %v\n", err)
		return 1
	}
	return 0
}

func (m *Main) runHub(ctx context.Context, dir, listen, clockPath, cpuProfile string) error {
	clock, unmap, err := mapClock(clockPath, false)
	if err != nil {
		return err
	}
	defer unmap()
	logger := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: listen, Now: clock.Now, Logger: logger,
		ScrubRate: quarantine.DefaultScrubRate})
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			return errors.Join(fmt.Errorf("cpu profile: %w", err), h.Serve(canceled()))
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Fprintf(m.Stdout, "%s%s\n", bench.ServingPrefix, h.Addr())
	return h.Serve(ctx)
}

// canceled is a context already ended: Serve with it releases what Open
// acquired.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
