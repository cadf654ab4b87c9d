// Package nodecli is the ltnode command: what an agency's document clerk
// (văn thư) runs to send, receive and track documents, and to sign and
// check PDFs. cmd/ltnode only calls Main.Run; end-to-end tests run the same
// code.
package nodecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/internal/termsafe"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
)

// Main is one invocation of ltnode.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads LTNODE_HUB, LTNODE_ID and LTNODE_DB; nil means
	// os.Getenv.
	Getenv func(string) string
	// IsTerminal reports whether Stdout is a terminal (for progress bars);
	// nil means never.
	IsTerminal func() bool
	// Now is the clock of the local register (receive times, what is
	// overdue); nil means time.Now.
	Now func() time.Time

	// rawStdout and rawStderr are Stdout and Stderr as given, for JSON
	// and the progress bar; during Run, Stdout and Stderr strip terminal
	// control sequences (see Run).
	rawStdout, rawStderr io.Writer
	// help is set when the command line asks for help.
	help bool
}

const usage = `ltnode — máy trạm liên thông văn bản của cơ quan (agency node)

Cách dùng / usage:
  ltnode --hub HOST:PORT --id D/agencies/CODE [--db FILE] <lệnh> [tham số]
  (hoặc đặt biến môi trường LTNODE_HUB, LTNODE_ID, LTNODE_DB)
  Sổ văn bản và hộp thư đi nằm trong FILE, mặc định D/agencies/CODE/node.db.
  ltnode <lệnh> --help: cách dùng từng lệnh.

Lệnh / verbs:
  send      gửi văn bản          --to CODE[,CODE] --file F [--file F] --number N --notation K --subject S
            [--due YYYY-MM-DD] [--revokes ID | --updates ID | --replaces ID] [--sign KEY.pem --cert CERT.pem] [--json]
            (trục chưa kết nối được: văn bản chờ trong hộp thư đi, gửi sau bằng sync hoặc run)
  sync      chuyển ngay các văn bản chờ trong hộp thư đi   [--retry] [--drop ID] [--json]
  inbox     nhận văn bản đến và thông báo trạng thái       --out DIR [--wait 30s] [--json]
            (mỗi văn bản một thư mục: các tệp PDF, thong-tin.json để đọc, delivery.pb làm bằng chứng)
  status    báo trạng thái xử lý văn bản đến               MESSAGE_ID received|rejected|assigned|in-progress|done [--reason TEXT] [--json]
  track     theo dõi văn bản     MESSAGE_ID [--json]
  register  sổ văn bản đi/đến    [sent|received|outbox|refused] [--search TEXT] [--overdue] [--json]
  run       chạy thường trực: chuyển hộp thư đi và nhận văn bản   --out DIR [--interval 5s] [--json]
            [--edxml-in DIR --edxml-out DIR]  (gói edXML đặt vào DIR được gửi, chuyển sang sent/ hoặc failed/;
             văn bản đến và trạng thái ra thành tệp .edxml)
  edxml     gói edXML (QCVN 102:2016)   import PKG.edxml | export ID --out DIR [--json]
  agencies  danh bạ cơ quan      [--under CODE] [--json]
  declare   khai báo văn bản đi không qua trục (để tính tỷ lệ liên thông)
            --kind paper|secret --number N --notation K --date YYYY-MM-DD [--type "Quyết định"] [--json]

  ltnode sign   IN.pdf OUT.pdf --key KEY.pem --cert CERT.pem [--chain CHAIN.pem] [--reason R] [--trust ROOTS.pem] [--tsa URL]
  ltnode verify F.pdf --trust ROOTS.pem [--crl CRL.pem] [--tsa-trust TSAROOTS.pem] [--json]
  ltnode ltv    IN.pdf OUT.pdf --trust ROOTS.pem --crl CRL.pem [--tsa URL]
            (thêm dữ liệu kiểm tra dài hạn: chuỗi chứng thư và CRL vào DSS (PAdES B-LT),
             với --tsa thêm dấu thời gian tài liệu (B-LTA))
            (exit 0 hợp lệ, 1 không hợp lệ/bị sửa/chưa ký, 2 không đọc được)

Thời điểm in theo giờ Việt Nam (+07:00); với --json theo RFC 3339.

Ví dụ / example:
  ltnode --hub 127.0.0.1:7443 --id hub/agencies/000.01.31.H53 send \
      --to 000.00.31.H53 --file qd.pdf --number 12 --notation QĐ-UBND --subject "Về việc ..."
  ltnode --id hub/agencies/000.00.31.H53 register received --overdue
`

// globalFlags is the part of every verb's help about the flags given
// before the verb.
const globalFlags = `
Tham số chung / global flags (đặt trước lệnh):
  --hub HOST:PORT        địa chỉ trục (LTNODE_HUB)
  --id D/agencies/CODE   thư mục định danh cơ quan (LTNODE_ID)
  --db FILE              sổ văn bản và hộp thư đi (LTNODE_DB); mặc định node.db trong thư mục định danh
`

// verbUsage is each verb's synopsis: its positional arguments, then what
// it does.
var verbUsage = map[string]string{
	"send":     "send --to CODE[,CODE] --file F [--file F] --number N --notation K --subject S [tham số]\n  gửi văn bản qua hộp thư đi; trục chưa kết nối được thì văn bản chờ trong hộp thư đi",
	"sync":     "sync [--retry] [--drop ID] [--json]\n  chuyển ngay các văn bản chờ trong hộp thư đi",
	"inbox":    "inbox --out DIR [--wait 30s] [--json]\n  nhận văn bản đến (mỗi văn bản một thư mục: tệp PDF, thong-tin.json) và thông báo trạng thái",
	"status":   "status MESSAGE_ID received|rejected|assigned|in-progress|done [--reason TEXT] [--json]\n  báo trục bước xử lý văn bản đến",
	"track":    "track MESSAGE_ID [--json]\n  theo dõi văn bản: trạng thái từng nơi nhận và biên nhận do trục ký",
	"register": "register [sent|received|outbox|refused] [--search TEXT] [--overdue] [--json]\n  sổ văn bản đi, đến, hộp thư đi, văn bản bị trục từ chối",
	"run":      "run --out DIR [--interval 5s] [--json] [--edxml-in DIR --edxml-out DIR]\n  chạy thường trực: chuyển hộp thư đi và nhận văn bản",
	"agencies": "agencies [--under CODE] [--json]\n  danh bạ cơ quan",
	"declare":  "declare --kind paper|secret --number N --notation K --date YYYY-MM-DD [--type T] [--json]\n  khai báo văn bản đi không qua trục",
	"sign":     "sign IN.pdf OUT.pdf --key KEY.pem --cert CERT.pem [tham số]\n  ký số tệp PDF (PAdES)",
	"verify":   "verify F.pdf --trust ROOTS.pem [tham số]\n  kiểm tra chữ ký số của tệp PDF (exit 0 hợp lệ, 1 không hợp lệ, 2 không đọc được)",
	"edxml":    "edxml import PKG.edxml | edxml export ID --out DIR [--json]\n  gửi một gói edXML (QCVN 102:2016) qua hộp thư đi; xuất văn bản đến hoặc trạng thái văn bản đi thành edXML",
	"ltv":      "ltv IN.pdf OUT.pdf --trust ROOTS.pem --crl CRL.pem [--tsa URL]\n  thêm dữ liệu kiểm tra dài hạn (PAdES B-LT, B-LTA)",
}

// Run executes ltnode with args (without the program name) and returns the
// process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	// ltnode prints what others wrote: subjects, names, reasons, the hub's
	// messages. Every line of text goes through termsafe, so none of it
	// can recolour the clerk's terminal, move its cursor or reverse the
	// text after it (a fake green "Đã ký hợp lệ"). JSON is written as
	// encoded, with those characters escaped (printJSON).
	r := *m
	r.rawStdout, r.rawStderr = m.Stdout, m.Stderr
	r.Stdout, r.Stderr = termsafe.NewWriter(m.Stdout), termsafe.NewWriter(m.Stderr)
	err := r.run(ctx, args)
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		if errors.Is(err, flag.ErrHelp) {
			// Asked for: the help went to stdout.
			return cliutil.ExitOK
		}
		fmt.Fprintf(r.Stderr, "ltnode: %s\n", cliutil.Describe(err))
	}
	return cliutil.Code(err)
}

// exitCode is an error that carries an exit code whose reason was already
// printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func (m *Main) run(ctx context.Context, args []string) error {
	m.help = wantsHelp(args)
	fs := flag.NewFlagSet("ltnode", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.usageOut(), usage) }
	hubAddr := fs.String("hub", m.Getenv("LTNODE_HUB"), "địa chỉ trục `HOST:PORT` (LTNODE_HUB)")
	idDir := fs.String("id", m.Getenv("LTNODE_ID"), "thư mục định danh cơ quan `D/agencies/CODE` (LTNODE_ID)")
	dbPath := fs.String("db", m.Getenv("LTNODE_DB"), "tệp sổ văn bản và hộp thư đi `FILE` (LTNODE_DB); mặc định node.db trong thư mục định danh")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", cliutil.ErrUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return cliutil.Usagef("thiếu lệnh (missing verb)")
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	s := &session{hubAddr: *hubAddr, idDir: *idDir, dbPath: *dbPath, now: m.Now}
	defer s.close()
	if verb == "help" && len(rest) == 1 && verbUsage[rest[0]] != "" {
		// ltnode help VERB is ltnode VERB --help.
		m.help = true
		verb, rest = rest[0], []string{"--help"}
	}
	return m.dispatch(ctx, verb, rest, s)
}

// dispatch runs one verb.
func (m *Main) dispatch(ctx context.Context, verb string, rest []string, s *session) error {
	switch verb {
	case "send":
		return m.send(ctx, rest, s)
	case "sync":
		return m.sync(ctx, rest, s)
	case "inbox":
		return m.inbox(ctx, rest, s)
	case "status":
		return m.status(ctx, rest, s)
	case "track":
		return m.track(ctx, rest, s)
	case "register":
		return m.register(ctx, rest, s)
	case "run":
		return m.runNode(ctx, rest, s)
	case "agencies":
		return m.agencies(ctx, rest, s)
	case "declare":
		return m.declare(ctx, rest, s)
	case "sign":
		return m.sign(ctx, rest)
	case "verify":
		return m.verify(ctx, rest)
	case "ltv":
		return m.ltv(ctx, rest)
	case "edxml":
		return m.edxmlVerb(ctx, rest, s)
	case "help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return cliutil.Usagef("lệnh không rõ %q (unknown verb)", verb)
	}
}

// session is what the verbs share: where the hub, the identity and the
// register are, each loaded when a verb first needs it.
type session struct {
	hubAddr, idDir, dbPath string
	now                    func() time.Time
	id                     *node.Identity
	reg                    *register.Register
	client                 *node.Client
}

func (s *session) identity() (*node.Identity, error) {
	if s.id != nil {
		return s.id, nil
	}
	if s.idDir == "" {
		return nil, cliutil.Usagef("cần --id (hoặc LTNODE_ID)")
	}
	id, err := node.LoadIdentity(s.idDir)
	if err != nil {
		return nil, err
	}
	// Documents are dated and checked by the command's clock.
	id.Now = s.now
	s.id = id
	return id, nil
}

// connect dials the hub; the connection is made at the first call, and
// closed when the verb returns.
func (s *session) connect() (*node.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	if s.hubAddr == "" || s.idDir == "" {
		return nil, cliutil.Usagef("cần --hub và --id (hoặc LTNODE_HUB, LTNODE_ID)")
	}
	id, err := s.identity()
	if err != nil {
		return nil, err
	}
	c, err := node.Dial(s.hubAddr, id)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}

func (s *session) close() {
	if s.client != nil {
		s.client.Close()
	}
}

// register opens the local register: --db, else node.db in the identity
// folder.
func (s *session) register() (*register.Register, error) {
	if s.reg != nil {
		return s.reg, nil
	}
	path := s.dbPath
	if path == "" {
		if s.idDir == "" {
			return nil, cliutil.Usagef("cần --id hoặc --db (hoặc LTNODE_ID, LTNODE_DB) để mở sổ văn bản")
		}
		path = filepath.Join(s.idDir, "node.db")
	}
	reg, err := register.Open(path, register.Options{Now: s.now})
	if err != nil {
		return nil, err
	}
	s.reg = reg
	return reg, nil
}

// deskConfig says what a verb's desk needs.
type deskConfig struct {
	// online: the verb needs the hub; otherwise the desk connects only
	// when --hub and --id are given.
	online bool
	inbox  string
	signer desk.PDFSigner
}

// desk builds the clerk's desk the verbs work on.
func (s *session) desk(cfg deskConfig) (*desk.Desk, error) {
	var c *node.Client
	if cfg.online || (s.hubAddr != "" && s.idDir != "") {
		var err error
		if c, err = s.connect(); err != nil {
			return nil, err
		}
	}
	reg, err := s.register()
	if err != nil {
		return nil, err
	}
	return desk.New(desk.Config{Client: c, Register: reg, InboxDir: cfg.inbox, Signer: cfg.signer, Now: s.now})
}

// newFlags returns a verb's flag set; its help (--help) goes to stdout
// with the verb's synopsis and the global flags.
func (m *Main) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ltnode "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		w := m.usageOut()
		fmt.Fprintf(w, "Cách dùng / usage:\n  ltnode [tham số chung] %s\n\nTham số / flags:\n", verbUsage[name])
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(m.Stderr)
		fmt.Fprint(w, globalFlags)
	}
	return fs
}

// usageOut is where help goes: stdout when it was asked for, stderr with
// a mistake.
func (m *Main) usageOut() io.Writer {
	if m.help {
		return m.Stdout
	}
	return m.Stderr
}

// wantsHelp reports whether the command line asks for help (-h, -help or
// --help before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printJSON writes v as indented JSON. encoding/json escapes C0 control
// characters; termsafe.EscapeJSON escapes the others that would act on a
// terminal, so the value is the same and the terminal shows it as typed.
func (m *Main) printJSON(v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := m.rawStdout.Write(termsafe.EscapeJSON(b.Bytes()))
	return err
}

// printJSONLine writes v as one line of JSON, as printJSON does.
func (m *Main) printJSONLine(v any) error {
	var b bytes.Buffer
	if err := jsonLine(&b, v); err != nil {
		return err
	}
	_, err := m.rawStdout.Write(termsafe.EscapeJSON(b.Bytes()))
	return err
}

// formatTime is how every time reads on the terminal: Vietnam time with
// its zone (see desk.FormatTime).
func formatTime(t time.Time) string { return desk.FormatTime(t) }

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
		// Our own text, with the carriage return that redraws the bar:
		// written past the filter that would strip it.
		fmt.Fprintf(m.rawStderr, "\r%s %s %3d%% %d/%d MB", label, bar, pct, done>>20, total>>20)
		if done == total {
			fmt.Fprintln(m.rawStderr)
		}
	}
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// mustMarshal encodes a message for output; a message that cannot be
// encoded comes out empty.
func mustMarshal(msg proto.Message) []byte {
	b, _ := proto.Marshal(msg)
	return b
}
