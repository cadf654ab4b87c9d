package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lienthong/lienthong"
)

var (
	// ErrDamaged reports a database that bbolt cannot read consistently: a
	// damaged header at Open, a failed consistency check, or a panic while
	// reading a page. The cure is a restore from backup.
	ErrDamaged = errors.New("hub database is damaged")
	// ErrNoStore reports that Open, asked not to create one
	// (Options.MustExist), found no database.
	ErrNoStore = errors.New("no hub database here")
)

// DefaultCheckUpTo is the largest database Open checks by default: bbolt's
// check reads every page, and a 532 MiB database took 2.4 s (warm page
// cache, README "Faults and soak"), so start-up stays within seconds.
// Larger ones are checked on demand (lthub serve --check).
const DefaultCheckUpTo = 512 << 20

// diskFull gives err the kind lienthong.KindDiskFull when it says the
// disk (or the hub's quota on it) is full, so that the sender is told to
// try again later instead of being refused for good.
func diskFull(err error) error {
	if err == nil || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return err
	}
	return lienthong.Wrap(lienthong.KindDiskFull, err,
		"ổ đĩa của trục đã đầy nên văn bản chưa được lưu; văn bản vẫn chờ trong hộp thư đi và sẽ được gửi lại, "+
			"hãy báo trung tâm CNTT của tỉnh giải phóng dung lượng (hub disk full)")
}

// damaged is the error a caller gets once the database is known to be
// damaged. Unavailable, not Internal: the document was not refused, and a
// node keeps it to send again once the hub is restored.
func damaged(cause error) error {
	return lienthong.Wrap(lienthong.KindUnavailable, cause,
		"cơ sở dữ liệu của trục bị hỏng; trục ngừng nhận văn bản cho đến khi được khôi phục, "+
			"hãy báo trung tâm CNTT của tỉnh (hub database damaged)")
}

// openFailure classifies an error of bolt.Open: bbolt's own verdicts on
// the file's header mean a damaged database.
func openFailure(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("opening %s: %w", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return fmt.Errorf("opening hub database %s: %w", path, err)
}

// openBolt opens the database file, failing with ErrNoStore when it does
// not exist and mustExist is set. A panic in bbolt on a damaged file is
// ErrDamaged.
func openBolt(path string, mustExist bool) (db *bolt.DB, err error) {
	if mustExist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoStore)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%w: %v", ErrDamaged, p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, openFailure(path, err)
	}
	return db, nil
}

// check runs bbolt's consistency check (every page reachable exactly once,
// every branch and leaf well formed) when the file is at most upTo bytes,
// and returns an error wrapping ErrDamaged describing the first faults.
func check(db *bolt.DB, upTo int64) error {
	if upTo < 0 {
		return nil
	}
	if upTo == 0 {
		upTo = DefaultCheckUpTo
	}
	info, err := os.Stat(db.Path())
	if err != nil {
		return fmt.Errorf("checking hub database: %w", err)
	}
	if info.Size() > upTo {
		return nil
	}
	var faults []string
	n := 0
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		return db.View(func(tx *bolt.Tx) error {
			// Drained to the end: the check's goroutine blocks on each error
			// until it is read.
			for e := range tx.Check() {
				if n++; n <= 3 {
					faults = append(faults, strings.TrimPrefix(e.Error(), "panic: "))
				}
			}
			return nil
		})
	}()
	if err != nil {
		faults = append(faults, err.Error())
		n++
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: bbolt's check found %d faults: %s", ErrDamaged, n, strings.Join(faults, "; "))
}

// recoverDamage, deferred in a method that runs a read transaction, turns
// a panic into an error. A panic raised in bbolt (its reaction to a
// damaged page, or a fault reading one) marks the store damaged: from then
// on writes are refused, since a write could spread the damage, and reads
// that do not touch the damaged pages go on. A panic of the store's own
// code is a bug of one request, not a reason to stop writing.
func (s *Store) recoverDamage(err *error) {
	if p := recover(); p != nil {
		*err = s.panicked(p, debug.Stack())
	}
}

// panicked returns the error for a panic p recovered with stack.
func (s *Store) panicked(p any, stack []byte) error {
	if raisedIn(stack, "go.etcd.io/bbolt") {
		return s.damagedBy(p)
	}
	s.log.Error("panic in a hub database transaction", "panic", fmt.Sprint(p), "stack", string(stack))
	return fmt.Errorf("panic in a transaction: %v", p)
}

// raisedIn reports whether the panic whose stack (debug.Stack, taken in
// the deferred recover) is given was raised in a function of package
// prefix pkg: the first frame below the call of panic, past the runtime's
// own (a fault enters through runtime.sigpanic).
func raisedIn(stack []byte, pkg string) bool {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "panic(") {
			continue
		}
		for _, f := range lines[i+1:] {
			if f == "" || strings.HasPrefix(f, "\t") || strings.HasPrefix(f, "runtime.") {
				continue
			}
			return strings.HasPrefix(f, pkg)
		}
	}
	return false
}

// damagedBy records a panic p met in a transaction and returns the error
// for the caller.
func (s *Store) damagedBy(p any) error {
	if s.damaged.CompareAndSwap(false, true) {
		s.log.Error("hub database damaged: writes are refused from now on; stop the hub, run `lthub serve --check`, "+
			"and restore the data directory from the latest backup", "path", s.db.Path(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	} else {
		s.log.Error("reading the damaged hub database failed", "panic", fmt.Sprint(p))
	}
	return damaged(fmt.Errorf("%w: %v", ErrDamaged, p))
}
