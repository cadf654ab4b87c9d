package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/fsutil"
	"github.com/lienthong/lienthong/node"
)

// StartReceivers runs one waiting node.ReceiveInto per client, each into
// inbox/CODE: the node library writes, checks, flushes and acknowledges
// every document, then each (if not nil) sees it, and its folder is
// removed so the disk does not fill. A receiver that stops for any reason
// but stop calls fail. stop ends the receivers and waits for them.
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
	return func() { cancel(); wg.Wait(); closeSync() }, nil
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
// os.RemoveAll's directory reads took about a tenth of the clients' CPU
// on a tmpfs. Anything else in the folder makes it fall back to
// os.RemoveAll.
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
