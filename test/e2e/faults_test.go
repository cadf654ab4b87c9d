package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// lthubProcess runs lthub (this test binary acting as lthub) as a child
// process, as an operator would, and returns its exit code, stdout and
// stderr.
func lthubProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LIENTHONG_E2E_AS_LTHUB=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("running lthub %q: %v", args, err)
	return 0, "", ""
}

// wantOneLineFailure checks that a command failed as an operator should
// see it: exit code 1, one line on stderr holding want, no Go panic.
func wantOneLineFailure(t *testing.T, code int, stdout, stderr, want string) {
	t.Helper()
	t.Logf("exit %d: %s", code, stderr)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, bad := range []string{"panic", "goroutine "} {
		if strings.Contains(stdout+stderr, bad) {
			t.Errorf("output holds %q:\n%s%s", bad, stdout, stderr)
		}
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "lthub: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q, want one line `lthub: …%s…`", stderr, want)
	}
}

// corruptBucketRoot overwrites the root page of a bucket of the stopped
// hub's database with garbage, as a failing disk would. The bucket must
// hold enough to have a branch page as its root.
func corruptBucketRoot(t *testing.T, dir, bucket string) {
	t.Helper()
	path := filepath.Join(provision.Layout{Dir: dir}.Data(), "hub.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	must(t, err)
	var root, pageSize int64
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return fmt.Errorf("no bucket %s", bucket)
		}
		root, pageSize = int64(b.Root()), int64(db.Info().PageSize)
		info, err := tx.Page(int(root))
		if err != nil {
			return err
		}
		if info == nil || info.Type != "branch" {
			return fmt.Errorf("bucket %s: root page %d is %+v, not a branch page: store more first", bucket, root, info)
		}
		return nil
	})
	must(t, db.Close())
	must(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt(bytes.Repeat([]byte{0xA5}, int(pageSize)), root*pageSize)
	must(t, err)
	must(t, f.Close())
}

// Every way `lthub serve` can fail to start is one line saying what to
// do, with exit code 1: no Go panic.
func TestServeStartFailures(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) []string // the serve arguments
		want  string
	}{{
		name: "missing directory",
		setup: func(t *testing.T) []string {
			return []string{"--dir", filepath.Join(t.TempDir(), "no-such-hub"), "--listen", "127.0.0.1:0"}
		},
		want: "(hub directory not found)",
	}, {
		name: "port in use",
		setup: func(t *testing.T) []string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			must(t, err)
			t.Cleanup(func() { l.Close() })
			return []string{"--dir", initHub(t), "--listen", l.Addr().String()}
		},
		want: "(address already in use)",
	}, {
		name: "second hub on the same directory",
		setup: func(t *testing.T) []string {
			dir := initHub(t)
			startHubProcess(t, dir, "127.0.0.1:0")
			return []string{"--dir", dir, "--listen", "127.0.0.1:0"}
		},
		want: "(another hub is using ",
	}, {
		name: "damaged database header",
		setup: func(t *testing.T) []string {
			dir := initHub(t)
			path := filepath.Join(provision.Layout{Dir: dir}.Data(), "hub.db")
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt(bytes.Repeat([]byte{0xA5}, 2*4096), 0) // both meta pages
			must(t, err)
			must(t, f.Close())
			return []string{"--dir", dir, "--listen", "127.0.0.1:0"}
		},
		want: "(hub database damaged, restore it from backup)",
	}, {
		name: "damaged branch page",
		setup: func(t *testing.T) []string {
			dir := initHub(t)
			st, err := store.Open(provision.Layout{Dir: dir}.Data(), store.Options{})
			must(t, err)
			var more []*lienthongv1.Agency
			for i := range 400 {
				more = append(more, &lienthongv1.Agency{Code: fmt.Sprintf("999.%02d.%02d.H53", i/100, i%100),
					Name: strings.Repeat("Ủy ban nhân dân xã thử nghiệm ", 8)})
			}
			must(t, st.PutAgencies(context.Background(), more))
			must(t, st.Close())
			corruptBucketRoot(t, dir, "agencies")
			return []string{"--dir", dir, "--listen", "127.0.0.1:0"}
		},
		want: "(hub database damaged, restore it from backup)",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.setup(t)
			code, stdout, stderr := lthubProcess(t, append([]string{"serve"}, args...)...)
			wantOneLineFailure(t, code, stdout, stderr, tc.want)
		})
	}
}

// The commands that read a hub directory refuse one that does not exist,
// and create nothing there.
func TestAdminCommandsRefuseMissingDirectory(t *testing.T) {
	for _, args := range [][]string{
		{"report"}, {"agency", "list"}, {"counters", "check"}, {"counters", "rebuild"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mistyped")
			code, stdout, stderr := lthubProcess(t, append(args, "--dir", dir)...)
			wantOneLineFailure(t, code, stdout, stderr, "(hub directory not found)")
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after the command: %v", dir, err)
			}
		})
	}
	// A directory that exists but holds no hub database is refused too.
	empty := t.TempDir()
	code, stdout, stderr := lthubProcess(t, "report", "--dir", empty)
	wantOneLineFailure(t, code, stdout, stderr, "(no hub database)")
	if names, _ := os.ReadDir(empty); len(names) != 0 {
		t.Errorf("report created %v in %s", names, empty)
	}
}

// mountTmpfs mounts a tmpfs of the given size (e.g. "16m") on a new
// temporary directory, unmounted when the test ends. Without the
// privilege to mount, the test is skipped (failed under CI=true).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir, err := tryMountTmpfs(t, size)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return dir
}

// tryMountTmpfs is mountTmpfs that returns why it cannot mount instead of
// skipping.
func tryMountTmpfs(t *testing.T, size string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		return "", fmt.Errorf("cannot mount a %s tmpfs to fill a disk (%v): run the tests as root or with CAP_SYS_ADMIN", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir, nil
}

// fillDisk writes a file in dir until the file system is full and returns
// its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// initHubIn runs `lthub init` into dir.
func initHubIn(t *testing.T, dir string) string {
	t.Helper()
	if code, _, errOut := lthub(t, "init", "--sample", "--dir", dir); code != 0 {
		t.Fatalf("lthub init exit %d: %s", code, errOut)
	}
	return dir
}

// A full hub disk: the hub answers ResourceExhausted saying its disk is
// full and stores nothing; `ltnode send` keeps the document in the outbox
// (it used to drop it); once space is freed, `ltnode sync` forwards it
// and the recipient gets it once.
func TestHubDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "24m")
	dir := initHubIn(t, filepath.Join(mnt, "hub"))
	var logs syncBuffer
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	pdf, sum := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh", PadBytes: 200 << 10})
	db := filepath.Join(t.TempDir(), "node", "node.db") // the node's disk is not the hub's
	filler := fillDisk(t, mnt)

	code, out, errOut := ltnode(t, h.Addr(), dir, commune, "--db", db, "send", "--json", "--to", district,
		"--file", pdf, "--number", "12", "--notation", "QĐ-UBND", "--subject", "Khi ổ đĩa trục đầy")
	if code != 0 {
		t.Fatalf("ltnode send: exit %d: %s%s", code, out, errOut)
	}
	sent := decodeJSON[outboxSendJSON](t, out)
	if !sent.Queued || !strings.Contains(sent.Unreachable, "ổ đĩa của trục đã đầy") ||
		!strings.Contains(sent.Unreachable, "(hub disk full) [ResourceExhausted]") {
		t.Fatalf("ltnode send: %+v, want queued with the hub's disk-full message", sent)
	}
	// The library's view of the same answer: the exact code and message.
	c := client(t, h.Addr(), dir, commune)
	reg, err := register.Open(db, register.Options{})
	must(t, err)
	rep, err := c.Forward(context.Background(), reg, nil)
	must(t, err)
	if st, _ := status.FromError(rep.Unreachable); st.Code() != codes.ResourceExhausted ||
		!strings.HasPrefix(st.Message(), "ổ đĩa của trục đã đầy nên văn bản chưa được lưu") || len(rep.Refused) != 0 || rep.Queued != 1 {
		t.Fatalf("forward on a full disk: %+v (%v), want ResourceExhausted, one queued, none refused", rep, rep.Unreachable)
	}
	list, err := reg.Outbox()
	must(t, err)
	if len(list) != 1 || list[0].MessageID != sent.MessageID || list[0].State != register.Queued {
		t.Fatalf("outbox %+v, want %s queued", list, sent.MessageID)
	}
	st, err := h.Store().Stats(context.Background())
	must(t, err)
	if st.Documents != 0 || st.Blobs != 0 || st.TmpFiles != 0 {
		t.Fatalf("hub stored %+v on a full disk, want nothing", st)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"hub disk full: free space on the data directory's disk`) {
		t.Errorf("the hub's log does not tell the operator that its disk is full:\n%s", logs.String())
	}

	must(t, os.Remove(filler))
	code, out, errOut = ltnode(t, h.Addr(), dir, commune, "--db", db, "sync", "--json")
	if code != 0 {
		t.Fatalf("ltnode sync after freeing space: exit %d: %s%s", code, out, errOut)
	}
	if s := decodeJSON[outboxSyncJSON](t, out); s.Forwarded != 1 || s.Queued != 0 || s.Failed != 0 {
		t.Fatalf("sync after freeing space: %+v, want 1 forwarded", s)
	}
	rcv := client(t, h.Addr(), dir, district)
	var got []string
	must(t, rcv.ReceiveInto(context.Background(), filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{}, func(r *node.Received) error {
		got = append(got, r.MessageID)
		if s := fileSHA256(t, r.Files[0]); s != sum {
			t.Errorf("received file sha256 %s, want %s", s, sum)
		}
		return nil
	}))
	if len(got) != 1 || got[0] != sent.MessageID {
		t.Fatalf("district received %v, want [%s]", got, sent.MessageID)
	}
}

// A damaged page met by a request (the database was too large to check
// at start) ends that request with Unavailable and a message saying the
// hub's database is damaged; the hub stays up, refuses writes from then
// on, and answers what does not touch the damage.
func TestDamagedPageOnRequest(t *testing.T) {
	dir := initHub(t)
	h := startHub(t, dir)
	pdf, _ := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh"})
	c := client(t, h.Addr(), dir, commune)
	var ids []string
	for i := range 40 {
		res, err := c.Send(context.Background(), node.Document{Recipients: []string{district}, Number: fmt.Sprint(i + 1),
			Notation: "QĐ-UBND", Subject: strings.Repeat("Trang hỏng ", 40), Files: []node.File{{Path: pdf}}}, nil)
		must(t, err)
		ids = append(ids, res.MessageID)
	}
	h.stop()
	corruptBucketRoot(t, dir, "docs")

	var logs syncBuffer
	h2 := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Store: store.Options{CheckUpTo: -1},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	c2 := client(t, h2.Addr(), dir, commune)
	ctx := context.Background()
	const want = "cơ sở dữ liệu của trục bị hỏng"
	_, err := c2.Track(ctx, ids[0])
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.HasPrefix(st.Message(), want) {
		t.Fatalf("Track on a damaged page: %v, want Unavailable %q", err, want)
	}
	_, err = c2.Send(ctx, node.Document{Recipients: []string{district}, Number: "99", Notation: "QĐ-UBND",
		Subject: "sau khi hỏng", Files: []node.File{{Path: pdf}}}, nil)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.HasPrefix(st.Message(), want) {
		t.Fatalf("Send after the damage: %v, want Unavailable %q", err, want)
	}
	if agencies, err := c2.Agencies(ctx, ""); err != nil || len(agencies) == 0 {
		t.Fatalf("ListAgencies after the damage: %d, %v; want the directory", len(agencies), err)
	}
	if !strings.Contains(logs.String(), "hub database damaged: writes are refused from now on") {
		t.Errorf("the log does not tell the operator:\n%s", logs.String())
	}
}

// A client that cancels an upload mid-stream is not an error of the hub:
// the log says so at INFO, with no ERROR line.
func TestClientCancelIsNotAnError(t *testing.T) {
	dir := initHub(t)
	var logs syncBuffer
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	pdf, _ := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh", PadBytes: 200 << 10})
	c := client(t, h.Addr(), dir, commune)
	p, err := c.Identity().Prepare(node.Document{Recipients: []string{district}, Number: "1", Notation: "QĐ-UBND",
		Subject: "huỷ giữa chừng", Files: []node.File{{Path: pdf}}})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.API().Send(ctx)
	must(t, err)
	must(t, stream.Send(&lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Envelope{Envelope: p.Signed}}))
	must(t, stream.Send(&lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Chunk{
		Chunk: &lienthongv1.FileChunk{FileIndex: 0, Data: make([]byte, 1000)}}}))
	time.Sleep(100 * time.Millisecond) // let the hub start on the file
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"request ended by the client"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no INFO line for the cancelled send:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client cancel was logged as an error:\n%s", logs.String())
	}
	st, err := h.Store().Stats(context.Background())
	must(t, err)
	if st.Documents != 0 || st.Blobs != 0 || st.TmpFiles != 0 {
		t.Errorf("a cancelled send left %+v", st)
	}
}
