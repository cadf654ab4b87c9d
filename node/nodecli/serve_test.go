package nodecli

import (
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/cliutil"
)

// The web app has no TLS and no login of its own: ltnode serve refuses
// any address but loopback, before it opens anything.
func TestServeRefusesTheNetwork(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8090", ":8090", "192.168.1.10:8090", "[::]:8090"} {
		rc, out, errs := run(t, "--hub", "127.0.0.1:1", "--id", t.TempDir(), "serve", "--http", addr, "--out", t.TempDir())
		if rc != cliutil.ExitUsage || out != "" || !strings.Contains(errs, "chỉ mở trang làm việc trên địa chỉ loopback") {
			t.Errorf("serve --http %s: exit %d, stdout %q, stderr %q; want exit %d and the refusal", addr, rc, out, errs, cliutil.ExitUsage)
		}
	}
	if rc, _, errs := run(t, "serve", "--http", "127.0.0.1:0"); rc != cliutil.ExitUsage || !strings.Contains(errs, "serve cần --out DIR") {
		t.Errorf("serve without --out: exit %d, %q", rc, errs)
	}
}
