// Package nodecli is the ltnode command: what an agency's document clerk
// (văn thư) runs to send, receive and track documents, and to sign and
// check PDFs. cmd/ltnode only calls Main.Run; end-to-end tests run the same
// code.
package nodecli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
)

// Main is one invocation of ltnode.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads LTNODE_HUB and LTNODE_ID; nil means os.Getenv.
	Getenv func(string) string
	// IsTerminal reports whether Stdout is a terminal (for progress bars);
	// nil means never.
	IsTerminal func() bool
}

const usage = `ltnode — máy trạm liên thông văn bản của cơ quan (agency node)

Cách dùng / usage:
  ltnode --hub HOST:PORT --id D/agencies/CODE <lệnh> [tham số]
  (hoặc đặt biến môi trường LTNODE_HUB, LTNODE_ID)

Lệnh / verbs:
  send      gửi văn bản          --to CODE[,CODE] --file F [--file F] --number N --notation K --subject S
  inbox     nhận văn bản đến     --out DIR [--wait 30s] [--json]
  track     theo dõi văn bản     MESSAGE_ID [--json]
  agencies  danh bạ cơ quan      [--under CODE] [--json]

  ltnode sign   IN.pdf OUT.pdf --key KEY.pem --cert CERT.pem [--chain CHAIN.pem] [--reason R]
  ltnode verify F.pdf --trust ROOTS.pem [--crl CRL.pem] [--json]
            (exit 0 hợp lệ, 1 không hợp lệ/bị sửa/chưa ký, 2 không đọc được)

Ví dụ / example:
  ltnode --hub 127.0.0.1:7443 --id hub/agencies/000.01.31.H53 send \
      --to 000.00.31.H53 --file qd.pdf --number 12 --notation QĐ-UBND --subject "Về việc ..."
`

// Run executes ltnode with args (without the program name) and returns the
// process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	err := m.run(ctx, args)
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		if errors.Is(err, flag.ErrHelp) {
			return cliutil.ExitUsage
		}
		fmt.Fprintf(m.Stderr, "ltnode: %s\n", cliutil.Describe(err))
	}
	return cliutil.Code(err)
}

// exitCode is an error that carries an exit code whose reason was already
// printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func (m *Main) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ltnode", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, usage) }
	hubAddr := fs.String("hub", m.Getenv("LTNODE_HUB"), "địa chỉ trục `HOST:PORT` (LTNODE_HUB)")
	idDir := fs.String("id", m.Getenv("LTNODE_ID"), "thư mục định danh cơ quan `D/agencies/CODE` (LTNODE_ID)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return cliutil.Usagef("thiếu lệnh (missing verb)")
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	connect := func() (*node.Client, error) {
		if *hubAddr == "" || *idDir == "" {
			return nil, cliutil.Usagef("cần --hub và --id (hoặc LTNODE_HUB, LTNODE_ID)")
		}
		id, err := node.LoadIdentity(*idDir)
		if err != nil {
			return nil, err
		}
		return node.Dial(*hubAddr, id)
	}
	switch verb {
	case "send":
		return m.send(ctx, rest, connect)
	case "inbox":
		return m.inbox(ctx, rest, connect)
	case "track":
		return m.track(ctx, rest, connect)
	case "agencies":
		return m.agencies(ctx, rest, connect)
	case "sign":
		return m.sign(ctx, rest)
	case "verify":
		return m.verify(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fs.Usage()
		return cliutil.Usagef("lệnh không rõ %q (unknown verb)", verb)
	}
}

func (m *Main) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ltnode "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}

func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// progressBar draws upload progress on stderr when stdout is a terminal.
func (m *Main) progressBar(label string) node.Progress {
	if m.IsTerminal == nil || !m.IsTerminal() {
		return nil
	}
	var last int
	return func(done, total int64) {
		if total < 1<<20 {
			return
		}
		pct := int(done * 100 / total)
		if pct == last && done != total {
			return
		}
		last = pct
		bar := strings.Repeat("█", pct/4) + strings.Repeat("░", 25-pct/4)
		fmt.Fprintf(m.Stderr, "\r%s %s %3d%% %d/%d MB", label, bar, pct, done>>20, total>>20)
		if done == total {
			fmt.Fprintln(m.Stderr)
		}
	}
}
