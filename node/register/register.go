// Package register is an agency node's local books, kept in one bbolt file
// beside the agency's identity:
//
//   - the outbox: documents prepared (envelope signed, files hashed) that
//     the hub has not accepted yet, with a copy of their files, so a clerk
//     can send while the hub is down and move or delete the originals;
//   - the register of documents sent (sổ văn bản đi), with each recipient's
//     latest status as the hub's notifications and Track report it;
//   - the register of documents received (sổ văn bản đến), with the
//     agency's own processing status, de-duplicated by message id;
//   - the documents the hub refused at send, with its reason;
//   - the last copy of the hub's directory, so names show beside codes
//     while the hub is away.
//
// A Register opens the database for each operation and closes it after, so
// several ltnode processes (a clerk's send while `ltnode run` works in the
// background) share one file; an operation waits for the others' short
// transactions. It never talks to the hub: package node does, and records
// the outcome here.
package register

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	// ErrNotFound reports that no such document is in the register or the
	// outbox.
	ErrNotFound = errors.New("không có văn bản này trong sổ (not in the register)")
	// ErrQueued reports that a message id is already waiting in the outbox
	// with a different envelope.
	ErrQueued = errors.New("mã văn bản này đang chờ trong hộp thư đi với nội dung khác (message id already queued)")
	// ErrFileChanged reports that a file differs from what the signed
	// envelope declares (changed between hashing and queuing).
	ErrFileChanged = errors.New("tệp đã thay đổi sau khi ký phong bì (file changed since it was hashed)")
)

// Bucket names. Values are JSON records; keys are message ids.
var (
	bucketOutbox   = []byte("outbox")
	bucketSent     = []byte("sent")
	bucketReceived = []byte("received")
	bucketRefused  = []byte("refused")
	bucketMeta     = []byte("meta")
)

// openTimeout is how long an operation waits for another process's
// transaction to release the file.
const openTimeout = 30 * time.Second

// Options tune a Register. The zero value is ready to use.
type Options struct {
	// OutboxDir holds the outbox copies of queued documents' files, one
	// folder per message id; default: "outbox" beside the database.
	OutboxDir string
	// Now is the clock for queue, receive and overdue times; nil means
	// time.Now.
	Now func() time.Time
}

// Register is an agency's outbox and registers in one bbolt file. It is
// safe for concurrent use, and by several processes.
type Register struct {
	path   string
	outbox string
	now    func() time.Time
	mu     sync.Mutex // one open of the file per process at a time
}

// Open returns the register kept in the file at path, creating it (and
// its folder) if needed.
func Open(path string, opts Options) (*Register, error) {
	r := &Register{path: path, outbox: opts.OutboxDir, now: opts.Now}
	if r.outbox == "" {
		r.outbox = filepath.Join(filepath.Dir(path), "outbox")
	}
	if r.now == nil {
		r.now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the register's folder: %w", err)
	}
	if err := r.update(func(*bolt.Tx) error { return nil }); err != nil {
		return nil, err
	}
	return r, nil
}

// OutboxDir returns the folder of the outbox copies.
func (r *Register) OutboxDir() string { return r.outbox }

func (r *Register) open(readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(r.path, 0o600, &bolt.Options{Timeout: openTimeout, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("opening the node register %s: %w", r.path, err)
	}
	return db, nil
}

// update runs fn in a write transaction, with every bucket present.
func (r *Register) update(fn func(*bolt.Tx) error) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	db, err := r.open(false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing the node register: %w", cerr)
		}
	}()
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketOutbox, bucketSent, bucketReceived, bucketRefused, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// view runs fn in a read transaction. Open has created every bucket.
func (r *Register) view(fn func(*bolt.Tx) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	db, err := r.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(fn)
}

// get decodes the record at key of bucket into v; false when absent.
func get(tx *bolt.Tx, bucket []byte, key string, v any) (bool, error) {
	raw := tx.Bucket(bucket).Get([]byte(key))
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("register record %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

func put(tx *bolt.Tx, bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding register record %s/%s: %w", bucket, key, err)
	}
	return tx.Bucket(bucket).Put([]byte(key), raw)
}

// each decodes every record of bucket in turn.
func each[T any](tx *bolt.Tx, bucket []byte, fn func(*T) error) error {
	return tx.Bucket(bucket).ForEach(func(k, raw []byte) error {
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("register record %s/%s: %w", bucket, k, err)
		}
		return fn(v)
	})
}
