package nodecli

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/internal/cliutil"
	"github.com/lienthong/lienthong/node"
)

// resend sends a document of the register of documents sent again,
// unchanged (same message id, same signed envelope), with its files: for a
// hub restored from a backup taken before it accepted the document, which
// answers `track` with "not found".
func (m *Main) resend(ctx context.Context, args []string, s *session) error {
	fs := m.newFlags("resend")
	var files cliutil.List
	fs.Var(&files, "file", "tệp đã gửi, theo đúng thứ tự khi gửi (lặp lại cho nhiều tệp)")
	asJSON := fs.Bool("json", false, "in kết quả dạng JSON")
	pos, err := cliutil.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(files) == 0 {
		return cliutil.Usagef("resend cần đúng một MESSAGE_ID và --file cho từng tệp đã gửi")
	}
	id := pos[0]
	d, err := s.desk(deskConfig{online: true})
	if err != nil {
		return err
	}
	res, err := d.Resend(ctx, id, files, m.progressBar("Đang gửi lại"))
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			MessageID   string     `json:"message_id"`
			Queued      bool       `json:"queued"`
			Unreachable string     `json:"unreachable,omitempty"`
			Duplicate   bool       `json:"duplicate"`
			ReceiptID   string     `json:"receipt_id,omitempty"`
			AcceptedAt  *time.Time `json:"accepted_at,omitempty"`
		}{MessageID: id, Queued: res.Queued}
		if res.Queued {
			out.Unreachable = node.Describe(res.Unreachable)
		} else {
			out.Duplicate, out.ReceiptID, out.AcceptedAt = res.Result.Duplicate, res.Result.Body.GetReceiptId(), timePtr(res.Result.Body.GetTime().AsTime())
		}
		return m.printJSON(out)
	}
	switch f := res.Result; {
	case f == nil:
		fmt.Fprintf(m.Stdout, "Trục chưa nhận được văn bản %s (%s): văn bản nằm trong hộp thư đi và sẽ được chuyển khi trục nhận lại (`ltnode sync`).\n",
			id, node.Describe(res.Unreachable))
	case f.Duplicate:
		fmt.Fprintf(m.Stdout, "Trục vẫn còn văn bản %s (biên nhận gốc lúc %s): không cần gửi lại.\n", id, formatTime(f.Body.GetTime().AsTime()))
	default:
		fmt.Fprintf(m.Stdout, "Đã gửi lại văn bản %s — trục đã tiếp nhận lúc %s (biên nhận %s).\n", id, formatTime(f.Body.GetTime().AsTime()), f.Body.GetReceiptId())
	}
	return nil
}

// lostByHub explains a "not found" from the hub about a document this
// node's register says the hub accepted: the hub lost it (restored from
// an older backup), and the clerk sends it again unchanged.
func lostByHub(err error, s *session, id string) error {
	if status.Code(err) != codes.NotFound {
		return err
	}
	reg, rerr := s.register()
	if rerr != nil {
		return err
	}
	if _, rerr := reg.SentDoc(id); rerr != nil {
		return err
	}
	return fmt.Errorf("trục không còn văn bản %s mà trục đã tiếp nhận trước đây (có thể trục vừa được khôi phục từ bản sao lưu cũ hơn): "+
		"gửi lại nguyên văn bằng `ltnode resend %s --file TỆP...` với đúng các tệp đã gửi (the hub lost this document; resend it): %w", id, id, err)
}
