// Package buildinfo tells which build of lienthong is running: the module
// version the Go toolchain recorded (a tag for `go install …@v1.2.3`,
// "(devel)" for a build from a checkout) and, when built from a git work
// tree, the revision and whether it had uncommitted changes.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info describes a build.
type Info struct {
	Module    string // module path
	Version   string // module version, "(devel)" when built from a checkout
	Revision  string // vcs.revision, or ""
	Time      string // vcs.time (RFC 3339), or ""
	Modified  bool   // vcs.modified: built from a work tree with changes
	GoVersion string
}

// Read returns the running binary's build information. Without any (a
// binary built without module support) it returns Version "unknown".
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", GoVersion: runtime.Version()}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is one line for `lthub version` and `ltnode version`, e.g.
// "lthub v1.2.0 (revision 93d61de…, 2026-12-03T09:00:00Z) go1.26.8".
func (in Info) String() string {
	s := in.Version
	if in.Revision != "" {
		rev := in.Revision
		if in.Modified {
			rev += "+modified"
		}
		if in.Time != "" {
			s += fmt.Sprintf(" (revision %s, %s)", rev, in.Time)
		} else {
			s += fmt.Sprintf(" (revision %s)", rev)
		}
	}
	return s + " " + in.GoVersion
}
