package year

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Main is one invocation of ltyear; cmd/ltyear only calls Run.
type Main struct {
	Stdout, Stderr io.Writer
	// HubCommand is the binary run as the hub process (with the verb
	// serve-hub); "" means this program (os.Executable). Tests set it
	// to their own binary, with HubEnv to make it act as ltyear.
	HubCommand string
	HubEnv     []string
}

// Stdio returns a Main on the process's standard streams.
func Stdio() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }

// Run replays a year with args and returns the exit code: 0 when the
// compliance report matches the replay, 1 when it does not or the replay
// failed, 2 for bad flags. With the first argument serve-hub it is
// instead the hub process of a replay (see serveHub).
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == serveHubVerb {
		return m.serveHub(ctx, args[1:])
	}
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("ltyear", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "ltyear replays one province-year through a real hub and checks its compliance report;\nthe last line of its output is JSON.\n\nusage: ltyear [flags]\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.Docs, "docs", cfg.Docs, "documents sent over the year (declarations come on top)")
	fs.IntVar(&cfg.Departments, "departments", cfg.Departments, "departments")
	fs.IntVar(&cfg.Districts, "districts", cfg.Districts, "districts")
	fs.IntVar(&cfg.Communes, "communes", cfg.Communes, "communes per district")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "concurrent senders")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "deliveries sent and not yet acknowledged, at most")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated year")
	fs.StringVar(&cfg.Dir, "dir", "", "work `directory`; default a temporary one, removed afterwards")
	fs.StringVar(&cfg.Inbox, "inbox", cfg.Inbox, "`directory` the receivers write to, as if on their own machines (\"\": in --dir, on the hub's disk)")
	inProcess := fs.Bool("in-process", false, "serve the hub inside the replay's process (default: its own process, whose CPU and memory are measured apart)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write to `directory` cpu.pprof (the replay's process, over the replay) and hub-cpu.pprof (the hub process)")
	fs.DurationVar(&cfg.Progress, "progress", cfg.Progress, "progress line interval (0: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.Docs <= 0 || cfg.Senders <= 0 || cfg.MaxInFlight <= 0 {
		fmt.Fprintln(m.Stderr, "ltyear: --docs, --senders and --max-in-flight must be positive")
		return 2
	}
	if !*inProcess {
		cfg.HubCommand, cfg.HubEnv = m.HubCommand, m.HubEnv
		if cfg.HubCommand == "" {
			exe, err := os.Executable()
			if err != nil {
				fmt.Fprintf(m.Stderr, "ltyear: finding this program to run the hub process (or use --in-process): %v\n", err)
				return 1
			}
			cfg.HubCommand = exe
		}
	}
	cfg.Logf = func(format string, a ...any) {
		fmt.Fprintf(m.Stderr, "%s ltyear: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, a...))
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "ltyear: %v\n", err)
		return 1
	}
	fmt.Fprintf(m.Stdout, "agencies                 %d\n", res.Agencies)
	fmt.Fprintf(m.Stdout, "documents                %d (+ %d declarations)\n", res.Docs, res.Declarations)
	fmt.Fprintf(m.Stdout, "deliveries acknowledged  %d, status steps %d\n", res.Deliveries, res.Steps)
	fmt.Fprintf(m.Stdout, "wall time                %v (%.0f documents/s)\n", res.Wall.Round(time.Second), res.DocsPerS)
	fmt.Fprintf(m.Stdout, "hub disk                 %.0f MB (database %.0f MB)\n", res.DiskMB, res.DBMB)
	if res.HubProcess {
		fmt.Fprintf(m.Stdout, "hub process              %.2f ms CPU per document, peak RSS %.0f MB\n", res.HubCPUMsPerDoc, res.HubRSSMB)
	} else {
		fmt.Fprintf(m.Stdout, "hub process              none: the hub served inside the replay's process\n")
	}
	fmt.Fprintf(m.Stdout, "clients                  %.2f ms CPU per document (%d agencies' nodes and the replay, on the same %d cores)\n", res.ClientsCPUMsPerDoc, res.Agencies, res.CPUs)
	fmt.Fprintf(m.Stdout, "receivers wrote to       %s\n", inboxNote(res.Inbox))
	year := DefaultConfig().Docs
	if res.Docs != int64(year) && res.YearS > 0 {
		fmt.Fprintf(m.Stdout, "%d documents         %v at this rate (extrapolated from %d)\n", year, seconds(res.YearS), res.Docs)
	}
	if res.YearHubAloneS > 0 {
		fmt.Fprintf(m.Stdout, "  the hub alone          %v if it had the %d cores to itself, the clients elsewhere (projected from its CPU per document)\n", seconds(res.YearHubAloneS), res.CPUs)
	}
	fmt.Fprintf(m.Stdout, "compliance report        %s\n", map[bool]string{true: "matches the replay", false: "DIFFERS from the replay"}[res.Match])
	fmt.Fprintf(m.Stdout, "counters vs recount      %s\n", map[bool]string{true: "equal", false: "DIFFER"}[res.Recount])
	for _, d := range res.Mismatches {
		fmt.Fprintln(m.Stdout, "  "+d)
	}
	line, _ := json.Marshal(res)
	fmt.Fprintln(m.Stdout, string(line))
	if !res.Match || !res.Recount {
		return 1
	}
	return 0
}

// inboxNote says where the receivers wrote and what that stands for.
func inboxNote(inbox string) string {
	if inbox == "/dev/shm" {
		return inbox + " (a tmpfs: as on the agencies' own machines, off the hub's disk)"
	}
	if inbox == "work dir" {
		return "the work directory, on the hub's disk"
	}
	return inbox
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}
