// Package desk is the document clerk's desk (bàn làm việc của văn thư):
// the use cases of an agency's clerk on top of the hub client (package
// node) and the local books (package register). Send through the outbox,
// receive into the register, report a processing step, declare a document
// issued outside the hub, search the registers, track a document, sign
// PDFs before sending. ltnode's verbs and the clerk's web app both call
// it, so each rule has one home here and the front ends only present.
package desk

import (
	"errors"
	"sync"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
)

// Config is what a Desk is built from.
type Config struct {
	// Client is the connection to the hub as the agency; nil for a desk
	// that only reads its books (the hub's use cases then fail with
	// ErrOffline).
	Client *node.Client
	// Register holds the outbox (its copies in the register's outbox
	// folder), the registers and the cached directory. Required.
	Register *register.Register
	// InboxDir is the folder received documents are written to, one
	// folder per document; required to receive.
	InboxDir string
	// Signer, if not nil, signs each PDF of a document before it is
	// queued (see PDFSigner).
	Signer PDFSigner
	// Now is the clock (signing and declaration dates); nil means
	// time.Now. The register and the client's identity have their own,
	// which should be the same.
	Now func() time.Time
}

// Desk is one agency's clerk's desk. It is safe for concurrent use.
type Desk struct {
	c      *node.Client
	reg    *register.Register
	inbox  string
	signer PDFSigner
	now    func() time.Time

	// mu guards the directory: loaded from the hub once per desk (and
	// again by a full Agencies listing), or from the register's copy,
	// namesCached, at namesAt, while the hub does not answer.
	mu          sync.Mutex
	names       map[string]register.Agency
	namesCached bool
	namesAt     time.Time
}

// ErrOffline is returned by a use case that needs the hub on a desk built
// without a client.
var ErrOffline = lienthong.Errorf(lienthong.KindFailedPrecondition,
	"máy trạm chưa được cấu hình để kết nối trục: cần --hub và --id (no hub connection configured)")

// errNoInbox is returned by Receive on a desk built without InboxDir.
var errNoInbox = errors.New("desk: no inbox folder configured")

// New returns a desk.
func New(cfg Config) (*Desk, error) {
	if cfg.Register == nil {
		return nil, errors.New("desk: a register is required")
	}
	d := &Desk{c: cfg.Client, reg: cfg.Register, inbox: cfg.InboxDir, signer: cfg.Signer, now: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Client returns the hub client, nil on an offline desk.
func (d *Desk) Client() *node.Client { return d.c }

// Register returns the desk's books.
func (d *Desk) Register() *register.Register { return d.reg }

// Code returns the agency's code; empty on an offline desk.
func (d *Desk) Code() string {
	if d.c == nil {
		return ""
	}
	return d.c.Identity().Code
}

func (d *Desk) client() (*node.Client, error) {
	if d.c == nil {
		return nil, ErrOffline
	}
	return d.c, nil
}
