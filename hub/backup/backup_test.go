package backup

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A manifest naming a file outside its part of the backup is refused
// before anything is read or written.
func TestManifestPathsChecked(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		m    Manifest
		bad  string
	}{
		{"config escapes", Manifest{Database: File{Path: "hub.db"}, Config: []File{{Path: "config/../../evil"}}}, "config/../../evil"},
		{"config outside config/", Manifest{Database: File{Path: "hub.db"}, Config: []File{{Path: "hub/data/hub.db"}}}, "hub/data/hub.db"},
		{"absolute config", Manifest{Database: File{Path: "hub.db"}, Config: []File{{Path: "/etc/passwd"}}}, "/etc/passwd"},
		{"database elsewhere", Manifest{Database: File{Path: "../hub.db"}}, "../hub.db"},
		{"blob not at its address", Manifest{Database: File{Path: "hub.db"}, Blobs: []File{{Path: "blobs/00/" + sum, SHA256: sum}}}, "blobs/00/" + sum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := t.TempDir()
			tc.m.Format = format
			raw, _ := json.Marshal(tc.m)
			if err := os.WriteFile(filepath.Join(in, ManifestFile), raw, 0o600); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "d")
			_, err := Restore(context.Background(), in, target)
			if err == nil || !strings.Contains(err.Error(), "bad path in manifest") || !strings.Contains(err.Error(), tc.bad) {
				t.Fatalf("Restore = %v, want a bad path %q", err, tc.bad)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("restore created %s", target)
			}
		})
	}
}
