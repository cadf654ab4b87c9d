package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deploy/install.sh into a staging tree (DESTDIR): the binaries, the
// units and the data directories with the permissions the services
// need; run twice (an upgrade), it keeps what the data directory holds.
func TestInstallScript(t *testing.T) {
	bin := t.TempDir()
	for _, b := range []string{"lthub", "ltnode"} {
		must(t, os.WriteFile(filepath.Join(bin, b), []byte("#!/bin/sh\necho "+b+"\n"), 0o755))
	}
	root := t.TempDir()
	run := func(role string) {
		t.Helper()
		cmd := exec.Command("sh", "../../deploy/install.sh", role, "--bin", bin)
		cmd.Env = append(os.Environ(), "DESTDIR="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("install.sh %s: %v\n%s", role, err, out)
		}
	}
	run("hub")
	run("node")
	kept := filepath.Join(root, "var/lib/lienthong/hub.db")
	must(t, os.WriteFile(kept, []byte("data"), 0o600))
	run("hub")

	want := map[string]fs.FileMode{
		"usr/local/bin/lthub":                   0o755,
		"usr/local/bin/ltnode":                  0o755,
		"etc/systemd/system/lthub.service":      0o644,
		"etc/systemd/system/ltnode-run.service": 0o644,
		"var/lib/lienthong":                     fs.ModeDir | 0o700,
		"var/lib/ltnode":                        fs.ModeDir | 0o700,
		"var/lib/ltnode/identity":               fs.ModeDir | 0o700,
		"var/lib/ltnode/den":                    fs.ModeDir | 0o750,
		"var/lib/lienthong/hub.db":              0o600,
	}
	for p, mode := range want {
		info, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if info.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, info.Mode(), mode)
		}
	}
	for _, unit := range []string{"lthub.service", "ltnode-run.service"} {
		got, err := os.ReadFile(filepath.Join(root, "etc/systemd/system", unit))
		must(t, err)
		src, err := os.ReadFile(filepath.Join("../../deploy", unit))
		must(t, err)
		if string(got) != string(src) {
			t.Errorf("%s installed differs from deploy/%s", unit, unit)
		}
	}

	// Without the binaries it refuses, naming make build.
	cmd := exec.Command("sh", "../../deploy/install.sh", "hub", "--bin", t.TempDir())
	cmd.Env = append(os.Environ(), "DESTDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "make build") {
		t.Errorf("install.sh without binaries: %v, %s", err, out)
	}
}

// The systemd units parse (systemd-analyze verify): the only complaint
// allowed is the binaries not being installed on this machine.
func TestSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found: install the Debian package systemd")
		}
		t.Skip("systemd-analyze not found: install the Debian package systemd")
	}
	for _, unit := range []string{"lthub.service", "ltnode-run.service"} {
		out, _ := exec.Command("systemd-analyze", "verify", filepath.Join("../../deploy", unit)).CombinedOutput()
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" || strings.Contains(line, "/usr/local/bin/") && strings.Contains(line, "is not executable") {
				continue
			}
			t.Errorf("systemd-analyze verify %s: %s", unit, line)
		}
	}
}

// The Containerfile builds in one stage and runs in another, as an
// unprivileged user, with /data its volume and deploy/entrypoint.sh its
// entrypoint; every file it copies from the build context exists.
func TestContainerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Containerfile")
	must(t, err)
	var froms, users, volumes, entrypoints []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		rest := f[1:]
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, strings.Join(rest, " "))
		case "USER":
			users = append(users, rest[0])
		case "VOLUME":
			volumes = append(volumes, rest...)
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, strings.Join(rest, " "))
		case "COPY":
			if strings.HasPrefix(rest[0], "--from=") {
				continue
			}
			for _, src := range rest[:len(rest)-1] {
				if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
			}
		}
	}
	if len(froms) != 2 || !strings.Contains(froms[0], " AS build") {
		t.Errorf("stages %q, want a build stage and a runtime stage", froms)
	}
	if len(users) != 1 || strings.HasPrefix(users[0], "0") || strings.HasPrefix(users[0], "root") {
		t.Errorf("USER %q, want one unprivileged user", users)
	}
	if !slices.Equal(volumes, []string{"/data"}) {
		t.Errorf("VOLUME %q, want /data", volumes)
	}
	if len(entrypoints) != 1 || !strings.Contains(entrypoints[0], "lienthong-entrypoint") ||
		!strings.Contains(string(raw), "COPY deploy/entrypoint.sh /usr/local/bin/lienthong-entrypoint") {
		t.Errorf("ENTRYPOINT %q, want deploy/entrypoint.sh", entrypoints)
	}
}
