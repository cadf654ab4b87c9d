package nodecli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/edxmlconn"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// edxmlResult is what ltnode edxml prints with --json.
type edxmlResult struct {
	MessageID string   `json:"message_id,omitempty"`
	Number    string   `json:"number,omitempty"`
	Notation  string   `json:"notation,omitempty"`
	Legacy    string   `json:"legacy_namespace,omitempty"`
	Files     []string `json:"files,omitempty"`
	Status    string   `json:"status,omitempty"`
}

// edxmlVerb is `ltnode edxml import PKG.edxml` and `ltnode edxml export
// ID --out DIR`.
func (m *Main) edxmlVerb(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("edxml")
	out := fs.String("out", "", "thư mục ghi tệp .edxml (export)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 2 && pos[0] == "import":
		d, err := s.desk(deskConfig{online: true})
		if err != nil {
			return err
		}
		imp, err := edxmlconn.ForDesk(d, "", "").Conn.Import(ctx, pos[1])
		if err != nil {
			return err
		}
		if st := imp.Status; st != nil {
			if *asJSON {
				return m.printJSON(edxmlResult{MessageID: imp.MessageID, Status: string(st.Code)})
			}
			fmt.Fprintf(m.Stdout, "Đã báo trạng thái %s của văn bản %s (%s)\n", st.Code, st.ResponseFor.Code, imp.MessageID)
			return nil
		}
		h := imp.Package.Header
		res := edxmlResult{MessageID: imp.MessageID, Number: h.Code.Number, Notation: h.Code.Notation}
		if imp.Package.Legacy {
			res.Legacy = imp.Package.Namespace
		}
		if *asJSON {
			return m.printJSON(res)
		}
		fmt.Fprintf(m.Stdout, "Đã gửi gói edXML %s: văn bản %s/%s, mã %s\n", filepath.Base(pos[1]), h.Code.Number, h.Code.Notation, imp.MessageID)
		if imp.Package.Legacy {
			fmt.Fprintf(m.Stdout, "  (gói dùng không gian tên cũ %s; đã đọc như QCVN 102:2016)\n", imp.Package.Namespace)
		}
		return nil
	case len(pos) == 2 && pos[0] == "export" && *out != "":
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		d, err := s.desk(deskConfig{})
		if err != nil {
			return err
		}
		paths, err := edxmlExport(ctx, d, pos[1], *out)
		if err != nil {
			return err
		}
		if *asJSON {
			return m.printJSON(edxmlResult{MessageID: pos[1], Files: paths})
		}
		for _, p := range paths {
			fmt.Fprintln(m.Stdout, p)
		}
		return nil
	}
	return cliutil.Usagef("edxml cần import PKG.edxml hoặc export ID --out DIR")
}

// edxmlExport writes a received document as a package, or the status
// steps of a sent one (from the hub) as status messages.
func edxmlExport(ctx context.Context, d *desk.Desk, id, out string) ([]string, error) {
	if e, err := d.Register().ReceivedDoc(id); err == nil && e.Dir != "" {
		p, err := edxmlconn.ExportReceived(e.Dir, out)
		if err != nil {
			return nil, err
		}
		return []string{p}, nil
	}
	if d.Client() == nil {
		return nil, lienthong.Errorf(lienthong.KindNotFound,
			"văn bản %s không có trong sổ văn bản đến; để xuất trạng thái văn bản đi cần --hub (not a received document)", id)
	}
	t, err := d.Track(ctx, id)
	if err != nil {
		return nil, err
	}
	w := &edxmlconn.Watcher{Out: out, Lookup: func(context.Context, string) (*lienthongv1.Envelope, error) { return t.Envelope, nil }}
	var paths []string
	for _, tr := range t.Receipts {
		if tr.Err != nil {
			return paths, tr.Err
		}
		if _, ok := edxml.CodeOf(tr.Body.GetStatus()); !ok {
			continue
		}
		p, err := w.Status(ctx, tr.Body)
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// runEdxml starts the folder connector of ltnode run and chains its
// exports after the printer's handlers; stop waits for it to end.
func (m *Main) runEdxml(ctx context.Context, d *desk.Desk, in, out string, r *runPrinter, h *desk.Handlers, interval time.Duration) (stop func()) {
	w := edxmlconn.ForDesk(d, in, out)
	w.Event = func(e edxmlconn.Event) {
		switch {
		case e.Err != nil:
			r.event(runEvent{Type: "edxml-failed", MessageID: e.MessageID, Error: edxmlconn.Reason(e.Err)},
				fmt.Sprintf("Gói edXML %s không gửi được: %s", e.File, edxmlconn.Reason(e.Err)))
		default:
			r.event(runEvent{Type: "edxml", MessageID: e.MessageID}, fmt.Sprintf("edXML: %s (%s)", e.File, e.MessageID))
		}
	}
	doc, note := h.Document, h.Notification
	h.Document = func(in *desk.Incoming) error {
		if doc != nil {
			if err := doc(in); err != nil {
				return err
			}
		}
		_, err := w.Document(in.Envelope, in.Accepted, in.Dir)
		return err
	}
	h.Notification = func(n *desk.Notification) error {
		if note != nil {
			if err := note(n); err != nil {
				return err
			}
		}
		_, err := w.Status(ctx, n.Body)
		return err
	}
	w.Interval = interval
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			r.event(runEvent{Type: "error", Error: err.Error()}, "Lỗi thư mục edXML: "+err.Error())
		}
	}()
	return func() { cancel(); <-done }
}
