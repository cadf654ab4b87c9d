package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"tagged module", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/lienthong/lienthong", Version: "v1.2.0"}},
			"v1.2.0 go1.26.8"},
		{"checkout with vcs", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "93d61de"}, {Key: "vcs.time", Value: "2026-12-03T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) (revision 93d61de+modified, 2026-12-03T09:00:00Z) go1.26.8"},
		{"no version recorded", debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}},
			"(devel) (revision abc) go1.26.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadInTest(t *testing.T) {
	// A test binary has build information: its module is this one.
	if in := Read(); in.GoVersion == "" || in.Version == "" {
		t.Errorf("Read() = %+v, want a Go and a module version", in)
	}
}
