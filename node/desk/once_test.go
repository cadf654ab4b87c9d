//go:build linux

package desk_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/desk"
	"github.com/lienthong/lienthong/node/register"
)

// opensOf counts the opens of the file at path from now on (inotify
// IN_OPEN), which are the passes over it: read the count after the
// operation watched.
func opensOf(t *testing.T, path string) (opens func() int) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	// Closes are watched too: inotify merges an event into the one before
	// it when they are the same and unread, so opens alone would count a
	// second pass as the first.
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_CLOSE); err != nil {
		t.Fatalf("watching %s: %v", path, err)
	}
	var n int
	return func() int {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.PathMax))
		for {
			k, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EAGAIN) {
				return n
			}
			must(t, err)
			for off := 0; off+unix.SizeofInotifyEvent <= k; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				if ev.Mask&unix.IN_OPEN != 0 {
					n++
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

// forwardUntilAnswered calls Forward until the hub, just started, answers
// (the connection retries after a backoff), as Run's loop does.
func forwardUntilAnswered(t *testing.T, d *desk.Desk) *node.ForwardReport {
	t.Helper()
	c := ctx(t)
	rep, err := d.Forward(c, nil)
	for err == nil && rep.Unreachable != nil && c.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		rep, err = d.Forward(c, nil)
	}
	must(t, err)
	return rep
}

// The clerk's send reads each attachment twice in all: the clerk's file
// once, copied into the outbox and hashed in the same pass, and the
// outbox copy once, to upload it. (It read the clerk's file twice before:
// once to hash it for the envelope, once to copy it.)
func TestSendReadsEachFileOnce(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	com := agencyDesk(t, dir, addr, commune, nil)
	original := writePDF(t, dir, commune, "ke-hoach.pdf")
	pdf, err := os.ReadFile(original)
	must(t, err)
	passes := opensOf(t, original)

	// The hub is down: the document waits in the outbox, so the upload
	// can be watched apart.
	res, err := com.Send(ctx(t), document(district, original), nil)
	must(t, err)
	if !res.Queued {
		t.Fatalf("Send = %+v, want queued", res)
	}
	if n := passes(); n != 1 {
		t.Errorf("the clerk's file was read %d times, want 1", n)
	}
	list := assertOutbox(t, com, 1)
	if got, err := os.ReadFile(list[0].Files[0]); err != nil || string(got) != string(pdf) {
		t.Fatalf("outbox copy: %d bytes of %d, %v", len(got), len(pdf), err)
	}
	env, err := list[0].Decode()
	must(t, err)
	if f := env.GetFiles()[0]; f.GetName() != "ke-hoach.pdf" || f.GetSize() != int64(len(pdf)) {
		t.Errorf("envelope declares %v", f)
	}
	copyOpens := opensOf(t, list[0].Files[0])

	serveHub(t, dir, addr)
	rep := forwardUntilAnswered(t, com)
	if len(rep.Forwarded) != 1 || rep.Forwarded[0].MessageID != res.MessageID {
		t.Fatalf("Forward = %+v", rep)
	}
	if n := copyOpens(); n != 1 {
		t.Errorf("the outbox copy was read %d times, want 1 (the upload)", n)
	}
	if n := passes(); n != 1 {
		t.Errorf("the clerk's file was read %d times in all, want 1", n)
	}
}

// An outbox copy that changes between being queued and being uploaded is
// caught: the hub refuses it for its SHA-256, the document stays in the
// outbox, failed, with the hub's message, and the recipient gets nothing.
func TestSendCatchesCopyChangedInOutbox(t *testing.T) {
	dir := initHub(t)
	addr := freeLoopback(t)
	com := agencyDesk(t, dir, addr, commune, nil)
	res, err := com.Send(ctx(t), document(district, writePDF(t, dir, commune, "kh.pdf")), nil)
	must(t, err)
	if !res.Queued {
		t.Fatalf("Send = %+v, want queued", res)
	}
	cp := assertOutbox(t, com, 1)[0].Files[0]
	b, err := os.ReadFile(cp)
	must(t, err)
	b[len(b)/2] ^= 1 // same size, one bit flipped
	must(t, os.WriteFile(cp, b, 0o600))

	serveHub(t, dir, addr)
	rep := forwardUntilAnswered(t, com)
	if len(rep.Forwarded) != 0 || len(rep.Refused) != 1 || rep.Refused[0].MessageID != res.MessageID {
		t.Fatalf("Forward = %+v, want the document refused", rep)
	}
	st := status.Convert(rep.Refused[0].Err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "SHA-256 không khớp") {
		t.Errorf("hub's answer: %v %q, want InvalidArgument, SHA-256 mismatch", st.Code(), st.Message())
	}
	list := assertOutbox(t, com, 1)
	if list[0].State != register.Failed || !strings.Contains(list[0].Error, "SHA-256 không khớp") {
		t.Errorf("outbox entry %s %q, want failed with the hub's message", list[0].State, list[0].Error)
	}
	if _, err := com.Register().SentDoc(res.MessageID); !errors.Is(err, register.ErrNotFound) {
		t.Errorf("sent register: %v, want ErrNotFound", err)
	}
	dis := agencyDesk(t, dir, addr, district, nil)
	n, err := dis.Receive(ctx(t), false, desk.Handlers{})
	must(t, err)
	if n != (desk.Received{}) {
		t.Errorf("the recipient received %+v, want nothing", n)
	}
}

// While Run's loop forwards the outbox (here every millisecond, as the
// web app's serve does every few seconds), the clerk who sends a document
// the hub refuses hears the hub's refusal: Send queues and forwards in one
// turn, so no pass of the loop sends the document in between and keeps
// the answer.
func TestSendRefusedWhileRunForwards(t *testing.T) {
	dir := initHub(t)
	addr, _ := serveHub(t, dir, "127.0.0.1:0")
	com := agencyDesk(t, dir, addr, commune, nil)
	runCtx, stop := context.WithCancel(ctx(t))
	ran := make(chan error, 1)
	go func() { ran <- com.Run(runCtx, time.Millisecond, desk.RunHandlers{}) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	pdf := writePDF(t, dir, commune, "kh.pdf")
	for i := range 5 {
		res, err := com.Send(ctx(t), document("000.09.99.H53", pdf), nil)
		var refused *desk.RefusedError
		if res != nil || !errors.As(err, &refused) || status.Code(err) != codes.NotFound {
			t.Fatalf("send %d: Send = %+v, %v; want the hub's refusal (NotFound)", i, res, err)
		}
		if list, err := com.Refused(register.Query{Search: refused.MessageID}); err != nil || len(list) != 1 {
			t.Errorf("send %d: refused list %+v, %v", i, list, err)
		}
	}
	assertOutbox(t, com, 0)
}
