package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// crashDirEnv tells a re-executed test binary to act as the crashing child
// of TestCrashDurability, in the directory it names.
const crashDirEnv = "LIENTHONG_STORE_CRASH_DIR"

// TestCrashDurability runs a child process that accepts documents from
// several goroutines and prints each message id once Accept has returned,
// kills it with SIGKILL mid-stream, and checks that every printed document
// is stored with intact blobs.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	const killAfter = 150
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	printed := make(map[string]string) // message id → hex SHA-256 of its file
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var id, sum string
		if _, err := fmt.Sscanf(sc.Text(), "accepted %s %s", &id, &sum); err != nil {
			continue // the test framework's own output
		}
		printed[id] = sum
		if len(printed) == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines printed before the kill are still read above: the pipe keeps them.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before being killed (%d documents): %v\n%s", len(printed), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\n%s", err, stderr.String())
	}

	ctx := context.Background()
	s := openStore(t, dir, Options{})
	<-s.sweepDone
	for id, sum := range printed {
		d, err := s.Document(ctx, id)
		if err != nil {
			t.Errorf("printed %s, not stored: %v", id, err)
			continue
		}
		if len(d.Files) != 1 || hex.EncodeToString(d.Files[0].SHA256[:]) != sum {
			t.Errorf("%s: files %v, want one with SHA-256 %s", id, d.Files, sum)
			continue
		}
		f, err := s.OpenBlob(d.Files[0])
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil || n != d.Files[0].Size || hex.EncodeToString(h.Sum(nil)) != sum {
			t.Errorf("%s: blob of %d bytes, %v, SHA-256 %x; want %d bytes, %s", id, n, err, h.Sum(nil), d.Files[0].Size, sum)
		}
	}
	// The store is consistent: each stored document is pending for both
	// recipients, has its own blob, and nothing else is left.
	st := countsOf(t, s)
	if st.Documents < len(printed) || st.Pending != 2*st.Documents || st.Blobs != st.Documents || st.TmpFiles != 0 {
		t.Errorf("counts = %+v with %d printed; want every document pending twice, one blob each, no tmp files", st, len(printed))
	}
	for _, r := range []string{"A", "B"} {
		if got := len(pending(t, s, r)); got != st.Documents {
			t.Errorf("Pending(%s) has %d entries, want %d", r, got, st.Documents)
		}
	}
	t.Logf("killed after %d printed; %d stored", len(printed), st.Documents)
}

// crashChild accepts documents until it is killed, printing "accepted ID
// SHA256" after each Accept returns.
func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var mu sync.Mutex
	deadline := time.Now().Add(2 * time.Minute) // in case nobody kills us
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			buf := make([]byte, 128<<10)
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("w%d-%05d", w, i)
				data := buf[:16<<10+rnd.IntN(112<<10)]
				for j := range data {
					data[j] = byte(rnd.Uint32())
				}
				sum, err := crashAccept(s, id, data)
				if err != nil {
					fmt.Fprintln(os.Stderr, id, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "accepted %s %x\n", id, sum)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.Close()
	os.Exit(0)
}

func crashAccept(s *Store, id string, data []byte) ([32]byte, error) {
	w, err := s.NewBlob()
	if err != nil {
		return [32]byte{}, err
	}
	for rest := data; len(rest) > 0; {
		n := min(32<<10, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			return [32]byte{}, err
		}
		rest = rest[n:]
	}
	ref, err := w.Commit(context.Background())
	if err != nil {
		return [32]byte{}, err
	}
	env, err := proto.Marshal(&lienthongv1.Envelope{MessageId: id, Sender: "S"})
	if err != nil {
		return [32]byte{}, err
	}
	body, err := proto.Marshal(&lienthongv1.ReceiptBody{MessageId: id, Status: lienthongv1.Status_STATUS_ACCEPTED, Time: timestamppb.Now()})
	if err != nil {
		return [32]byte{}, err
	}
	_, _, err = s.Accept(context.Background(), &Document{
		MessageID: id, Sender: "S", Envelope: &lienthongv1.SignedEnvelope{Envelope: env}, EnvelopeSHA256: sha256.Sum256(env),
		Recipients: []string{"A", "B"}, Files: []BlobRef{ref}, Accepted: &lienthongv1.Receipt{Body: body},
	})
	return ref.SHA256, err
}
