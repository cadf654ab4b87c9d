package edxmlconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Folders under Watcher.In where handled packages go.
const (
	SentDir   = "sent"
	FailedDir = "failed"
	// ReasonSuffix is added to a failed package's name for the file that
	// says why it failed.
	ReasonSuffix = ".reason.txt"
)

// Lookup returns the envelope of a document this node sent or received,
// for the status messages it writes.
type Lookup func(ctx context.Context, messageID string) (*lienthongv1.Envelope, error)

// Watcher exchanges edXML files with a product through two folders: every
// *.edxml file in In is imported (the product must write it under
// another name and rename it, so that no half-written package is taken),
// then moved to In/sent or In/failed with NAME.reason.txt beside it;
// documents received and status steps are written to Out.
type Watcher struct {
	Conn *Connector
	In   string
	Out  string
	// Interval between scans of In.
	Interval time.Duration
	// Lookup finds the envelope a status step is about.
	Lookup Lookup
	// Event is told what happened to each file (may be nil).
	Event func(Event)
}

// Event is one thing a Watcher did.
type Event struct {
	File      string // the package, or the file written to Out
	MessageID string
	Err       error // set when the package failed
}

// Run scans In every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		return errors.New("edxmlconn: Watcher needs a positive interval")
	}
	for _, d := range []string{w.In, filepath.Join(w.In, SentDir), filepath.Join(w.In, FailedDir), w.Out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("preparing the edXML folders: %w", err)
		}
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if _, err := w.Scan(ctx); err != nil && ctx.Err() == nil && w.Event != nil {
			w.Event(Event{File: w.In, Err: err})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan imports every package waiting in In, oldest name first, and
// returns how many it handled.
func (w *Watcher) Scan(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(w.In)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", w.In, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".edxml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	n := 0
	for _, name := range names {
		if ctx.Err() != nil {
			return n, nil
		}
		if err := w.handle(ctx, name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// handle imports one package and moves it; an error is one of the
// folders, not of the package.
func (w *Watcher) handle(ctx context.Context, name string) error {
	src := filepath.Join(w.In, name)
	imp, err := w.Conn.Import(ctx, src)
	if ctx.Err() != nil {
		return nil // stopped mid-send: the package stays, to be sent again
	}
	ev := Event{File: name, Err: err}
	if err == nil {
		ev.MessageID = imp.MessageID
		dst, mvErr := moveFree(src, filepath.Join(w.In, SentDir), name)
		if mvErr != nil {
			return mvErr
		}
		ev.File = dst
	} else {
		dst, mvErr := moveFree(src, filepath.Join(w.In, FailedDir), name)
		if mvErr != nil {
			return mvErr
		}
		ev.File = dst
		if err := os.WriteFile(dst+ReasonSuffix, []byte(Reason(err)+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing why %s failed: %w", name, err)
		}
	}
	if w.Event != nil {
		w.Event(ev)
	}
	return nil
}

// moveFree moves src into dir under name, or name with a counter when
// that is taken (a product sending the same file name twice).
func moveFree(src, dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("moving %s: %w", name, err)
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		cand := name
		if i > 0 {
			cand = fmt.Sprintf("%s.%d%s", base, i, ext)
		}
		dst := filepath.Join(dir, cand)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			return "", fmt.Errorf("moving %s to %s: %w", name, dir, err)
		}
		return dst, nil
	}
	return "", fmt.Errorf("moving %s: %s holds 1000 files of that name", name, dir)
}

// Reason is the clerk's text for why a package failed: the domain
// message, or the hub's, or the error.
func Reason(err error) string {
	var le *lienthong.Error
	if errors.As(err, &le) {
		return le.Message
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s [%s]", st.Message(), st.Code())
	}
	return err.Error()
}

// Document writes a received document to Out as MESSAGEID.edxml, with
// the sender's trace header at the time the hub accepted it.
func (w *Watcher) Document(env *lienthongv1.Envelope, accepted *lienthongv1.Receipt, dir string) (string, error) {
	var traces []edxml.Trace
	if body := new(lienthongv1.ReceiptBody); proto.Unmarshal(accepted.GetBody(), body) == nil && body.GetTime() != nil {
		traces = []edxml.Trace{{OrganID: env.GetSender(), Timestamp: body.GetTime().AsTime()}}
	}
	path := filepath.Join(w.Out, env.GetMessageId()+".edxml")
	err := WriteFile(path, func(out io.Writer) error { return ExportDocument(out, env, dir, traces) })
	if err == nil && w.Event != nil {
		w.Event(Event{File: path, MessageID: env.GetMessageId()})
	}
	return path, err
}

// Status writes a status step to Out as
// MESSAGEID.AGENCY.CODE.RECEIPT.status.edxml. Steps edXML has no code for
// (accepted, revoked, quarantined) write nothing and return "".
func (w *Watcher) Status(ctx context.Context, body *lienthongv1.ReceiptBody) (string, error) {
	code, ok := edxml.CodeOf(body.GetStatus())
	if !ok {
		return "", nil
	}
	env, err := w.Lookup(ctx, body.GetMessageId())
	if err != nil {
		return "", fmt.Errorf("finding document %s for its status: %w", body.GetMessageId(), err)
	}
	rid := body.GetReceiptId()
	if len(rid) > 8 {
		rid = rid[:8]
	}
	path := filepath.Join(w.Out, fmt.Sprintf("%s.%s.%s.%s.status.edxml", body.GetMessageId(), body.GetAgency(), code, rid))
	err = WriteFile(path, func(out io.Writer) error { return ExportStatus(out, body, env) })
	if err == nil && w.Event != nil {
		w.Event(Event{File: path, MessageID: body.GetMessageId()})
	}
	return path, err
}
