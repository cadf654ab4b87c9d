package hubcli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// quarantinedItem is one quarantined document in --json output.
type quarantinedItem struct {
	MessageID      string    `json:"message_id"`
	Sender         string    `json:"sender"`
	Number         string    `json:"number"`
	Notation       string    `json:"notation"`
	File           string    `json:"file"`
	ExpectedSHA256 string    `json:"expected_sha256"`
	ExpectedSize   int64     `json:"expected_size"`
	ActualSHA256   string    `json:"actual_sha256,omitempty"`
	ActualSize     int64     `json:"actual_size"`
	FoundBy        string    `json:"found_by"`
	FoundAt        time.Time `json:"found_at"`
	Recipients     []string  `json:"recipients"`
}

// quarantine lists the documents the hub took out of delivery because a
// stored file is damaged.
func (m *Main) quarantine(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return cliutil.Usagef("quarantine cần list")
	}
	fs, af := m.adminFlagSet("quarantine list")
	asJSON := fs.Bool("json", false, "in dạng JSON")
	if _, err := cliutil.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("quarantine list cần --dir D")
	}
	resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ListQuarantinedResponse, error) {
		return api.ListQuarantined(ctx, &lienthongv1.ListQuarantinedRequest{})
	})
	if err != nil {
		return err
	}
	items := make([]quarantinedItem, 0, len(resp.GetDocuments()))
	for _, d := range resp.GetDocuments() {
		items = append(items, quarantinedItem{
			MessageID: d.GetMessageId(), Sender: d.GetSender(), Number: d.GetNumber(), Notation: d.GetNotation(),
			File: d.GetFileName(), ExpectedSHA256: hex.EncodeToString(d.GetExpectedSha256()), ExpectedSize: d.GetExpectedSize(),
			ActualSHA256: hex.EncodeToString(d.GetActualSha256()), ActualSize: d.GetActualSize(),
			FoundBy: d.GetFoundBy(), FoundAt: d.GetFoundAt().AsTime(), Recipients: d.GetRecipients(),
		})
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(m.Stdout, "Không có văn bản nào bị cách ly (no quarantined documents).")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MÃ VĂN BẢN\tSỐ/KÝ HIỆU\tNƠI GỬI\tTỆP HỎNG\tPHÁT HIỆN\tNƠI NHẬN BỊ CHẶN")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s (%s…)\t%s %s\t%s\n", it.MessageID, it.Number, it.Notation, it.Sender,
			it.File, it.ExpectedSHA256[:min(12, len(it.ExpectedSHA256))], it.FoundBy, it.FoundAt.Local().Format(time.DateTime), strings.Join(it.Recipients, ","))
	}
	return tw.Flush()
}
