package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/node"
)

// TestRemoveReceived: a received folder goes by the names the node wrote,
// and one holding anything else still goes entirely.
func TestRemoveReceived(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string // more files in the folder than the node wrote
	}{
		{"as written", nil},
		{"delivered receipt missing", []string{}},
		{"a file more", []string{"note.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "msg")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			rc := &node.Received{Dir: dir, Files: []string{filepath.Join(dir, "van-ban.pdf"), filepath.Join(dir, "phu-luc.pdf")}}
			names := []string{"van-ban.pdf", "phu-luc.pdf", node.DeliveryFile}
			if tc.extra == nil {
				names = append(names, node.DeliveredFile)
			}
			for _, n := range append(names, tc.extra...) {
				if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeReceived(rc); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("folder still there: %v", err)
			}
		})
	}
}
