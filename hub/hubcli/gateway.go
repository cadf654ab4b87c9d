package hubcli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/gateway"
	"github.com/lienthong/lienthong/internal/cliutil"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// gatewayVerb keeps the credentials of the e-office systems that call
// the hub's HTTP gateway (D/gateway): add-system prints the new secret
// once, remove-system revokes at the next request, list shows them.
// They work whether or not the hub runs.
func (m *Main) gatewayVerb(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cliutil.Usagef("gateway cần add-system, remove-system hoặc list")
	}
	verb := args[0]
	fs, af := m.adminFlagSet("gateway " + verb)
	id := fs.String("id", "", "mã hệ thống (X-SystemId) muốn đặt; mặc định: MÃ-CƠ-QUAN.xxxxxx")
	pos, err := cliutil.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *af.dir == "" {
		return cliutil.Usagef("gateway %s cần --dir D", verb)
	}
	systems := &gateway.Systems{Dir: gateway.SystemsDir(*af.dir)}
	switch verb {
	case "add-system":
		if len(pos) != 1 {
			return cliutil.Usagef("gateway add-system cần đúng một mã cơ quan")
		}
		// The agency must be in the directory (of the running hub, or of
		// the stopped hub's store).
		resp, err := adminCall(ctx, af, func(api adminAPI) (*lienthongv1.ListDirectoryResponse, error) {
			return api.ListDirectory(ctx, &lienthongv1.ListDirectoryRequest{})
		})
		if err != nil {
			return err
		}
		found := false
		for _, a := range resp.GetAgencies() {
			found = found || a.GetCode() == pos[0]
		}
		if !found {
			return lienthong.Errorf(lienthong.KindNotFound, "không có cơ quan mã %s trong danh bạ (unknown agency)", pos[0])
		}
		sys, secret, err := systems.Add(pos[0], *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "X-SystemId: %s\nX-SecretKey: %s\n", sys.ID, secret)
		fmt.Fprintf(m.Stderr, "lthub: khóa bí mật chỉ hiện lần này; trục chỉ lưu mã băm của nó. Trao cho đơn vị quản trị phần mềm của %s qua kênh an toàn.\n", sys.Agency)
		return nil
	case "remove-system":
		if len(pos) != 1 {
			return cliutil.Usagef("gateway remove-system cần đúng một mã hệ thống")
		}
		sys, err := systems.Remove(pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "đã thu hồi %s (%s)\n", sys.ID, sys.Agency)
		return nil
	case "list":
		list, err := systems.List()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MÃ HỆ THỐNG\tCƠ QUAN\tNGÀY CẤP")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Agency, s.Created.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	return cliutil.Usagef("gateway: lệnh không rõ %q", verb)
}
