package register

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Agency is an entry of the cached directory.
type Agency struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Active bool   `json:"active"`
}

// Directory is the last copy of the hub's directory the node fetched.
type Directory struct {
	Agencies  []Agency  `json:"agencies"`
	FetchedAt time.Time `json:"fetched_at"`
}

var keyDirectory = []byte("directory")

// SaveDirectory replaces the cached directory.
func (r *Register) SaveDirectory(list []Agency) error {
	raw, err := json.Marshal(Directory{Agencies: list, FetchedAt: r.now()})
	if err != nil {
		return fmt.Errorf("encoding the directory: %w", err)
	}
	return r.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyDirectory, raw) })
}

// Directory returns the cached directory; empty (zero FetchedAt) when the
// node never fetched it.
func (r *Register) Directory() (*Directory, error) {
	var d Directory
	err := r.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil { // a register from before the cache
			return nil
		}
		raw := b.Get(keyDirectory)
		if raw == nil {
			return nil
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("reading the cached directory: %w", err)
		}
		return nil
	})
	return &d, err
}
