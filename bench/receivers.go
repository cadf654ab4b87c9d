package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub/limit"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/fsutil"
	"github.com/lienthong/lienthong/node"
)

// StartReceivers runs one waiting node.ReceiveInto per client, each into
// inbox/CODE: the node library writes, checks, flushes and acknowledges
// every document, then each (if not nil) sees it, and its folder is
// removed so the disk does not fill. A receiver that stops for any reason
// but stop calls fail. stop ends the receivers and waits for them; it may
// be called more than once.
//
// The receivers share one group sync (unless opts has one): on separate
// machines each would flush its own disk, here they share one, and a
// flush each would serialise them all on it.
func StartReceivers(ctx context.Context, clients map[string]*node.Client, inbox string, opts node.ReceiveOptions,
	each func(code string, c *node.Client, rc *node.Received) error, fail func(error)) (stop func(), err error) {
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return nil, fmt.Errorf("creating the receivers' inbox: %w", err)
	}
	closeSync := func() {}
	if opts.Sync == nil {
		gs, err := fsutil.NewGroupSync(inbox)
		if err != nil {
			return nil, err
		}
		opts.Sync, closeSync = gs, func() { gs.Close() }
	}
	ctx, cancel := context.WithCancel(ctx)
	opts.Wait = true
	var wg sync.WaitGroup
	for code, c := range clients {
		wg.Go(func() {
			err := c.ReceiveInto(ctx, filepath.Join(inbox, code), opts, func(rc *node.Received) error {
				if each != nil {
					if err := each(code, c, rc); err != nil {
						return err
					}
				}
				return removeReceived(rc)
			})
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("receive stream ended")
			}
			fail(fmt.Errorf("receiver %s: %w", code, err))
		})
	}
	return sync.OnceFunc(func() { cancel(); wg.Wait(); closeSync() }), nil
}

// DialAgencies dials the hub at addr as every agency of specs, with the
// identities of the hub directory l, into clients (so that the caller can
// close the ones opened even when one fails).
func DialAgencies(addr string, l provision.Layout, specs []provision.SampleAgency, clients map[string]*node.Client) error {
	for _, s := range specs {
		id, err := node.LoadIdentity(l.Agency(s.Code))
		if err != nil {
			return err
		}
		if clients[s.Code], err = node.Dial(addr, id); err != nil {
			return err
		}
	}
	return nil
}

// removeReceived removes a received document's folder by the names the
// node wrote in it (its files, node.DeliveryFile, node.DeliveredFile), one
// unlink each and a rmdir: a replay removes millions of folders, and
// os.RemoveAll (directory reads, a failed unlink first) took 7.5% of the
// clients' CPU on a tmpfs, this 3.6%. Anything else in the folder makes
// it fall back to os.RemoveAll.
func removeReceived(rc *node.Received) error {
	for _, p := range rc.Files {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return os.RemoveAll(rc.Dir)
		}
	}
	for _, name := range []string{node.DeliveryFile, node.DeliveredFile} {
		if err := os.Remove(filepath.Join(rc.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return os.RemoveAll(rc.Dir)
		}
	}
	if err := os.Remove(rc.Dir); err != nil {
		return os.RemoveAll(rc.Dir)
	}
	return nil
}

// ConnectAgencies makes every client's connection (its TLS handshake)
// before anything is measured, by listing the agency's own entry; as many
// at a time as the hub handshakes at once by default, so that none waits
// for a slot. A call the hub refuses as Unavailable is tried again
// after a pause, up to connectTries times, as a node would: when a
// thousand agencies connect at once to a hub on a loaded machine,
// handshakes may outlast the hub's --handshake-timeout.
func ConnectAgencies(ctx context.Context, clients map[string]*node.Client) error {
	codes := make(chan string)
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	for range limit.Defaults().MaxHandshakes {
		wg.Go(func() {
			for code := range codes {
				errs <- connect(ctx, code, clients[code])
			}
		})
	}
	for code := range clients {
		codes <- code
	}
	close(codes)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// connectTries bounds the attempts of ConnectAgencies per agency.
const connectTries = 6

func connect(ctx context.Context, code string, c *node.Client) error {
	pause := 500 * time.Millisecond
	for try := 1; ; try++ {
		_, err := c.Agencies(ctx, code)
		if err == nil {
			return nil
		}
		if status.Code(err) != codes.Unavailable || try == connectTries {
			return fmt.Errorf("connecting as %s: %w", code, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}
