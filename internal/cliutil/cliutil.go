// Package cliutil holds the little that lthub and ltnode share on the
// command line: flag parsing that allows flags after positional arguments,
// repeatable flags, and the mapping of errors to messages and exit codes.
package cliutil

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes shared by both commands.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the operation was refused or failed
	ExitUsage   = 2 // bad command line, or input that could not be read
	ExitUnknown = 3
)

// ErrUsage marks command-line mistakes (exit code 2).
var ErrUsage = errors.New("usage")

// Usagef returns a command-line error.
func Usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Parse parses args with fs, allowing flags after positional arguments
// ("sign in.pdf out.pdf --key k.pem"), and returns the positional ones.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			// %w twice: callers tell a request for help (flag.ErrHelp)
			// from a mistake.
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// Strings is a repeatable string flag; comma-separated values split.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set appends one or more values.
func (s *Strings) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// List is a repeatable flag that keeps each value whole (file paths may
// contain commas).
type List []string

func (l *List) String() string { return strings.Join(*l, " ") }

// Set appends one value.
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Describe turns an error into one line for a clerk: the hub's message and
// the gRPC code when it came from the hub.
func Describe(err error) string {
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK {
		switch st.Code() {
		case codes.Unavailable:
			return fmt.Sprintf("không kết nối được trục (hub unavailable): %s", st.Message())
		case codes.DeadlineExceeded:
			return "trục không trả lời kịp (deadline exceeded)"
		}
		return fmt.Sprintf("%s [%s]", st.Message(), st.Code())
	}
	return err.Error()
}

// Code maps an error to an exit code.
func Code(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage), errors.Is(err, flag.ErrHelp):
		return ExitUsage
	default:
		return ExitFailed
	}
}
