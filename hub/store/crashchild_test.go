package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// storeCrashDirEnv makes TestCrashChild, run in a child process by
// TestCrashKill, accept documents into the store in the directory it names.
const storeCrashDirEnv = "STORE_CRASH_DIR"

// TestCrashChild is the child of TestCrashKill: one sender that uploads a
// 64 KiB random file and accepts a document naming it, again and again,
// printing "accepted ID SHA256" on stdout only after Accept has returned,
// until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(storeCrashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashKill in a child process")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64<<10)
	for i := 0; ; i++ {
		id := fmt.Sprintf("c-%06d", i)
		rand.Read(data)
		w, err := s.NewBlob()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		ref, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		d := newDoc(t, s, id, "crash", []string{"A", "B"})
		d.Files = []BlobRef{ref}
		accept(t, s, d)
		// Straight to the pipe, unbuffered: once written, the parent has it.
		if _, err := fmt.Fprintf(os.Stdout, "accepted %s %x\n", id, ref.SHA256); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrashKill runs TestCrashChild in a child process, checks that the
// store cannot be opened while the child holds it, SIGKILLs the child after
// it has reported at least 30 documents, and reopens the store: every
// reported document is stored with its file intact and is pending for both
// recipients, in order, and nothing else is left behind.
func TestCrashKill(t *testing.T) {
	if os.Getenv(storeCrashDirEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	const killAfter = 30
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), storeCrashDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	type printed struct {
		id  string
		sum string
	}
	var got []printed
	// While the child holds the store, another process cannot open it:
	// checked beside the reading, which must go on meanwhile.
	lockChecked := make(chan error, 1)
	checking, checked := false, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var p printed
		if _, err := fmt.Sscanf(sc.Text(), "accepted %s %s", &p.id, &p.sum); err != nil {
			continue // the test framework's own output
		}
		got = append(got, p)
		if !checking {
			checking = true
			go func() { lockChecked <- openWhileHeld(dir) }()
		}
		if !checked {
			select {
			case err := <-lockChecked:
				checked = true
				if err != nil {
					t.Error(err)
				}
			default:
			}
		}
		if len(got) >= killAfter && checked && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines written before the kill are still read above: the pipe keeps
	// them, and the loop ends only at EOF.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself after %d documents: %v\n%s", len(got), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child not killed by SIGKILL: %v\n%s", err, stderr.String())
	}

	ctx := context.Background()
	s := openStore(t, dir, Options{}) // the kill released the lock
	<-s.sweepDone
	for i, p := range got {
		if want := fmt.Sprintf("c-%06d", i); p.id != want {
			t.Fatalf("line %d reports %s, want %s", i, p.id, want)
		}
		d, err := s.Document(ctx, p.id)
		if err != nil {
			t.Errorf("reported accepted, not stored: %v", err)
			continue
		}
		if len(d.Files) != 1 || hex.EncodeToString(d.Files[0].SHA256[:]) != p.sum || d.Files[0].Size != 64<<10 {
			t.Errorf("%s: files %v, want one of 64 KiB with SHA-256 %s", p.id, d.Files, p.sum)
			continue
		}
		f, err := s.OpenBlob(d.Files[0])
		if err != nil {
			t.Errorf("%s: %v", p.id, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil || n != 64<<10 || hex.EncodeToString(h.Sum(nil)) != p.sum {
			t.Errorf("%s: blob of %d bytes (%v) with SHA-256 %x, want 64 KiB with %s", p.id, n, err, h.Sum(nil), p.sum)
		}
	}
	// One sender, so the documents were stored one after another: the
	// queues hold the reported ones in order, plus at most the one whose
	// Accept returned but was not yet reported.
	st := countsOf(t, s)
	n := st.Documents
	if n != len(got) && n != len(got)+1 {
		t.Errorf("%d documents stored, %d reported; want the reported ones and at most one more", n, len(got))
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("c-%06d", i))
	}
	for _, r := range []string{"A", "B"} {
		if p := pending(t, s, r); !slices.Equal(p, want) {
			t.Errorf("Pending(%s) = %q, want %q", r, p, want)
		}
	}
	if wantCounts := (counts{Documents: n, Pending: 2 * n, Blobs: n}); st != wantCounts {
		t.Errorf("counts = %+v, want %+v (no orphan blob, no temporary file)", st, wantCounts)
	}
	t.Logf("killed after %d reported; %d stored", len(got), n)
}

// openWhileHeld opens the store in dir, which another process holds, and
// reports what is wrong with the outcome: Open must fail within about
// openTimeout with an error wrapping ErrLocked that says the store is in
// use.
func openWhileHeld(dir string) error {
	start := time.Now()
	s, err := Open(dir, Options{})
	elapsed := time.Since(start)
	switch {
	case err == nil:
		s.Close()
		return errors.New("Open succeeded while the child holds the store")
	case !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use"):
		return fmt.Errorf("Open error %q, want ErrLocked saying the store is in use", err)
	case elapsed < openTimeout/2 || elapsed > 3*openTimeout:
		return fmt.Errorf("Open gave up after %v, want about %v", elapsed, openTimeout)
	}
	return nil
}
