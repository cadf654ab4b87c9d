package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Main is one invocation of ltbench. cmd/ltbench only calls Run; the
// tests run the same code.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// LthubEnv is added to the environment of the hub process (--lthub);
	// tests set it to make their own binary act as lthub.
	LthubEnv []string
}

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// Run executes ltbench with args (without the program name) and returns
// the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	cfg, err := m.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "ltbench: %v\n", err)
		return ExitUsage
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "ltbench: %v\n", err)
		return ExitFailed
	}
	if err := WriteReport(m.Stdout, cfg, res); err != nil {
		fmt.Fprintf(m.Stderr, "ltbench: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

func (m *Main) parse(args []string) (Config, error) {
	cfg := DefaultConfig()
	cfg.LthubEnv = m.LthubEnv
	fs := flag.NewFlagSet("ltbench", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "ltbench measures the hub on this machine; the last line of its output is JSON.\n\nusage: ltbench [flags]\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Dir, "dir", "", "work `directory` (hub, inboxes); default a temporary one, removed afterwards")
	fs.StringVar(&cfg.Inbox, "inbox", "", "`directory` the receivers write to (default in --dir; e.g. /dev/shm keeps their flushes off the hub's disk)")
	fs.StringVar(&cfg.Cache, "cache", "", "cache `directory` for the hub template and signed corpus (default $XDG_CACHE_HOME/lienthong-bench)")
	fs.BoolVar(&cfg.Sample, "sample", false, "use the 13-agency sample province of `lthub init` instead of a generated one")
	fs.IntVar(&cfg.Departments, "departments", cfg.Departments, "departments of the generated province")
	fs.IntVar(&cfg.Districts, "districts", cfg.Districts, "districts of the generated province")
	fs.IntVar(&cfg.Communes, "communes", cfg.Communes, "communes per district of the generated province")
	fs.IntVar(&cfg.CorpusPerAgency, "corpus", cfg.CorpusPerAgency, "signed PDFs per agency")
	size := fs.String("pdf-size", "200K", "approximate `size` of each PDF (bytes, or with K or M)")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "concurrent sender goroutines")
	mix := fs.String("mix", cfg.Mix.String(), "parts of documents to `single,multi,group` recipients (multi: 2-5 agencies)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up before the measured span")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured span of the maximum-rate run")
	fs.DurationVar(&cfg.LatencyDuration, "latency-duration", cfg.LatencyDuration, "length of the open-loop run at half the maximum (0 skips it)")
	fs.Float64Var(&cfg.LatencyRate, "latency-rate", 0, "offered docs/s of the open-loop run (default half the measured maximum)")
	fs.DurationVar(&cfg.LimitDuration, "limit-duration", cfg.LimitDuration, "measured span of the raw storage limit")
	fs.DurationVar(&cfg.VerifyDuration, "verify-duration", cfg.VerifyDuration, "span of each verification measurement (one core, all cores)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "how long to wait for receivers to acknowledge everything")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the choice of senders and recipients")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write cpu.pprof, allocs-base.pprof, allocs.pprof (of the measured span) and trace.out (its first 2s) to `directory`")
	fs.StringVar(&cfg.Lthub, "lthub", "", "`path` of an lthub binary: run the hub as its own process (lthub serve) and measure its CPU and memory apart from the clients'; default: the hub inside this process")
	fs.BoolVar(&cfg.Clerk, "clerk", false, "send through each agency's outbox in a register on disk, exactly as `ltnode send` does (the clerk's path)")
	fs.Float64Var(&cfg.LowRate, "low-rate", cfg.LowRate, "offered docs/s of a second open-loop run (a province's busy hour); 0 skips it")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.PDFSize, err = parseSize(*size); err != nil {
		return cfg, err
	}
	if cfg.Mix, err = parseMix(*mix); err != nil {
		return cfg, err
	}
	if !*quiet {
		cfg.Progress = m.Stderr
	}
	return cfg, cfg.validate()
}

// parseSize reads "204800", "200K" or "1M" (K and M are 1024 and 1024²).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, strings.TrimSuffix(t, "K")
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, strings.TrimSuffix(t, "M")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("pdf-size %q: want bytes, or a number with K or M", s)
	}
	return n * mult, nil
}

// parseMix reads "50,30,20".
func parseMix(s string) (Mix, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Mix{}, fmt.Errorf("mix %q: want three parts, single,multi,group", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return Mix{}, fmt.Errorf("mix %q: want three non-negative integers", s)
		}
		v[i] = n
	}
	m := Mix{Single: v[0], Multi: v[1], Group: v[2]}
	if m.Single+m.Multi+m.Group == 0 {
		return Mix{}, fmt.Errorf("mix %q: all parts are zero", s)
	}
	return m, nil
}

// Stdio returns a Main on the process's standard output and error.
func Stdio() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }
