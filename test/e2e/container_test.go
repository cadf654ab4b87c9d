package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/lienthong/lienthong/internal/samplepdf"
)

// The container image's start-up, as plain processes: the image's
// entrypoint (deploy/entrypoint.sh) with the commands and environment
// deploy/compose.yaml gives the hub and the three nodes (read from it;
// only paths move into a data directory per container, its volume, and
// listeners onto free loopback ports), the binaries the Containerfile
// builds. The hub
// initialises the sample province on its first start, the nodes run
// `ltnode run`, a document from the commune reaches the district and the
// province, /readyz and /metrics answer, nothing is written outside the
// volumes, and SIGTERM stops every process cleanly. (This machine has no
// container engine; make compose-demo runs the same with one.)
func TestContainerEntrypoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lthub and ltnode")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "../../cmd/lthub", "../../cmd/ltnode")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	entrypoint, err := filepath.Abs("../../deploy/entrypoint.sh")
	must(t, err)
	root := t.TempDir()
	// The image's working directory and home are /data; a process that
	// wrote anywhere else (its working directory stands in for the
	// read-only root) would show up in cwd.
	cwd := filepath.Join(root, "root")
	must(t, os.Mkdir(cwd, 0o755))
	vol := func(name string) string {
		d := filepath.Join(root, "volumes", name)
		must(t, os.MkdirAll(d, 0o700))
		return d
	}
	hubData := vol("hubdata")
	start := func(name string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *lineWatch) {
		cmd := exec.Command("sh", append([]string{entrypoint}, args...)...)
		cmd.Dir = cwd
		cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + hubData, "TMPDIR=" + t.TempDir()}, env...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		w := watchLines(out)
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		return cmd, &errb, w
	}

	compose := readCompose(t)
	// Each service's environment from compose.yaml, its paths moved into
	// the service's volumes and its listeners onto free loopback ports.
	envOf := func(service, dataVol string, set map[string]string) []string {
		t.Helper()
		svc, ok := compose.Services[service]
		if !ok {
			t.Fatalf("compose.yaml has no service %s", service)
		}
		var env []string
		for k, v := range svc.Environment {
			switch {
			case set[k] != "":
				v = set[k]
			case strings.HasPrefix(v, "/data/"):
				v = filepath.Join(dataVol, strings.TrimPrefix(v, "/data/"))
			case strings.HasPrefix(v, "/hub/"):
				v = filepath.Join(hubData, strings.TrimPrefix(v, "/hub/"))
			}
			env = append(env, k+"="+v)
		}
		for k, v := range set {
			if _, ok := svc.Environment[k]; !ok {
				env = append(env, k+"="+v)
			}
		}
		return env
	}
	hubCmd, hubLog, hubOut := start("hub", envOf("hub", hubData, map[string]string{
		// The image's default, /data/hub, in this test's volume.
		"LTHUB_DIR":    filepath.Join(hubData, "hub"),
		"LTHUB_LISTEN": "127.0.0.1:0", "LTHUB_METRICS_LISTEN": "127.0.0.1:0",
	}), compose.Services["hub"].Command...)
	addr := hubOut.await(t, "lthub: serving on ", hubLog)
	metricsURL := strings.TrimSuffix(hubOut.await(t, "lthub: metrics on ", hubLog), "/metrics")
	if body := getOK(t, metricsURL+"/readyz"); !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("/readyz = %s", body)
	}

	// Any other first argument is a command: the build's version.
	for _, prog := range []string{"lthub", "ltnode"} {
		v := exec.Command("sh", entrypoint, prog, "version")
		v.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		out, err := v.CombinedOutput()
		if err != nil || !regexp.MustCompile(`^`+prog+` \S+ .*go1\.\d+`).Match(out) {
			t.Errorf("%s version: %v, %q", prog, err, out)
		}
	}

	hubDir := filepath.Join(hubData, "hub")
	type nodeProc struct {
		cmd   *exec.Cmd
		log   *bytes.Buffer
		inbox string
	}
	nodes := map[string]nodeProc{}
	for name, code := range map[string]string{"province": province, "district": district, "commune": commune} {
		data := vol(name)
		env := envOf(name, data, map[string]string{"LTNODE_HUB": addr})
		if want := "LTNODE_ID=" + filepath.Join(hubDir, "agencies", code); !slices.Contains(env, want) {
			t.Fatalf("compose.yaml: %s's environment %v lacks %s", name, env, want)
		}
		cmd, log, _ := start(name, env, compose.Services[name].Command...)
		nodes[name] = nodeProc{cmd, log, filepath.Join(data, "inbox")}
	}

	// The commune's clerk sends (a register of its own: ltnode run holds
	// node.db), as make compose-demo does inside the commune's container.
	pdf, sum := writePDF(t, hubDir, commune, "qd-12.pdf", samplepdf.Options{Title: "Quyet dinh"})
	send := exec.Command(filepath.Join(bin, "ltnode"), "send", "--to", district+","+province, "--file", pdf,
		"--number", "12", "--notation", "QĐ-UBND", "--subject", "Thử nghiệm triển khai bằng container", "--json")
	send.Dir = cwd
	send.Env = []string{"LTNODE_HUB=" + addr, "LTNODE_ID=" + filepath.Join(hubDir, "agencies", commune),
		"LTNODE_DB=" + filepath.Join(root, "volumes", "commune", "send.db")}
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("ltnode send: %v\n%s", err, out)
	}
	msg := decodeJSON[struct {
		MessageID string `json:"message_id"`
	}](t, string(out)).MessageID
	for _, name := range []string{"district", "province"} {
		got := filepath.Join(nodes[name].inbox, msg, "qd-12.pdf")
		waitUntil(t, func() bool { _, err := os.Stat(got); return err == nil })
		if s := fileSHA256(t, got); s != sum {
			t.Errorf("%s stored %s with SHA-256 %s, want %s", name, got, s, sum)
		}
	}
	s := scrapeMetrics(t, metricsURL+"/metrics")
	if n := s.value("lienthong_documents_accepted_total"); n != 1 {
		t.Errorf("documents accepted = %v, want 1", n)
	}
	waitUntil(t, func() bool {
		return scrapeMetrics(t, metricsURL+"/metrics").value("lienthong_acknowledgements_total") == 2
	})

	// SIGTERM (the image's STOPSIGNAL) ends every process with status 0.
	stop := func(name string, cmd *exec.Cmd, log *bytes.Buffer) {
		must(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s after SIGTERM: %v\n%s", name, err, log)
			}
		case <-time.After(45 * time.Second):
			t.Errorf("%s did not stop within 45 s of SIGTERM", name)
		}
	}
	for name, n := range nodes {
		stop(name, n.cmd, n.log)
	}
	stop("hub", hubCmd, hubLog)

	if entries, err := os.ReadDir(cwd); err != nil || len(entries) > 0 {
		t.Errorf("written outside the volumes (in the working directory): %v %v", entries, err)
	}
}

// composeFile is what the tests read of deploy/compose.yaml.
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		ReadOnly    bool              `yaml:"read_only"`
		User        string            `yaml:"user"`
		CapDrop     []string          `yaml:"cap_drop"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/compose.yaml")
	must(t, err)
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// compose.yaml runs a hub and the three nodes hardened: read-only root,
// an unprivileged user, no capabilities, data only in volumes.
func TestComposeFileHardened(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"hub", "province", "district", "commune"} {
		svc, ok := c.Services[name]
		switch {
		case !ok:
			t.Errorf("no service %s", name)
			continue
		case !svc.ReadOnly:
			t.Errorf("%s: read_only is not set", name)
		case svc.User == "" || strings.HasPrefix(svc.User, "0"):
			t.Errorf("%s: user %q, want an unprivileged one", name, svc.User)
		case !slices.Equal(svc.CapDrop, []string{"ALL"}):
			t.Errorf("%s: cap_drop %v, want [ALL]", name, svc.CapDrop)
		case len(svc.Command) == 0:
			t.Errorf("%s: no command (role)", name)
		}
		if !slices.ContainsFunc(svc.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
			t.Errorf("%s: no volume on /data", name)
		}
	}
}

// lineWatch collects the lines a process prints.
type lineWatch struct{ lines chan string }

func watchLines(r io.Reader) *lineWatch {
	w := &lineWatch{lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case w.lines <- sc.Text():
			default:
			}
		}
		close(w.lines)
	}()
	return w
}

// await returns the rest of the first line starting with prefix.
func (w *lineWatch) await(t *testing.T, prefix string, log fmt.Stringer) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("process ended before printing %q\n%s", prefix, log)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return rest
			}
		case <-timeout:
			t.Fatalf("no line %q within 60 s\n%s", prefix, log)
		}
	}
}
