package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pki"
)

// System is one e-office product allowed on the gateway, acting for one
// agency. Its secret is never stored: only its HMAC under the hub's
// gateway key.
type System struct {
	ID      string    `json:"id"`
	Agency  string    `json:"agency"`
	MAC     string    `json:"mac"`
	Created time.Time `json:"created"`
}

// Systems is the credential file of the gateway, D/gateway/systems.json,
// beside its HMAC key D/gateway/hmac.key (both mode 0600). The admin
// commands write it whether or not the hub runs (atomically, by rename);
// a running gateway sees the change at the next request, since it
// re-reads the file when its modification time or size changes.
//
// Why HMAC-SHA256 under a server key and not a slow KDF: the hub makes
// every secret itself, 256 random bits, so no guess can succeed and a
// slow hash would buy nothing but CPU on every call (products poll every
// few minutes, a thousand agencies); the key means a copy of systems.json
// alone does not even let anyone test a candidate secret.
type Systems struct {
	// Dir is the gateway directory (D/gateway).
	Dir string
	// Now is the clock for creation times; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	stamp fileStamp
	key   []byte
	byID  map[string]System
}

// fileStamp identifies a version of the file: every save renames a new
// file into place, so the file identity changes with the content even
// when the size and modification time (to its granularity) do not.
type fileStamp struct {
	mod  time.Time
	size int64
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	return a.info != nil && b.info != nil && a.mod.Equal(b.mod) && a.size == b.size && os.SameFile(a.info, b.info)
}

// SystemsDir is where the gateway keeps its credentials in a hub
// directory.
func SystemsDir(hubDir string) string { return filepath.Join(hubDir, "gateway") }

func (s *Systems) path() string    { return filepath.Join(s.Dir, "systems.json") }
func (s *Systems) keyPath() string { return filepath.Join(s.Dir, "hmac.key") }

// idPattern is what a system id may look like: it travels in an HTTP
// header and in logs.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Add creates a system for agency and returns its id and secret; the
// secret is shown this once. id may be empty to have one made from the
// agency code.
func (s *Systems) Add(agency, id string) (System, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(true); err != nil {
		return System{}, "", err
	}
	if id == "" {
		var b [3]byte
		rand.Read(b[:])
		id = agency + "." + hex.EncodeToString(b[:])
	}
	if !idPattern.MatchString(id) {
		return System{}, "", lienthong.Errorf(lienthong.KindInvalid,
			"mã hệ thống %q không hợp lệ: chỉ dùng chữ, số, dấu chấm, gạch ngang, gạch dưới, tối đa 64 ký tự (invalid system id)", id)
	}
	if _, ok := s.byID[id]; ok {
		return System{}, "", lienthong.Errorf(lienthong.KindAlreadyExists, "đã có hệ thống mã %s (system id already exists)", id)
	}
	var raw [32]byte
	rand.Read(raw[:])
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	sys := System{ID: id, Agency: agency, MAC: s.mac(secret), Created: now().UTC().Truncate(time.Second)}
	next := maps.Clone(s.byID)
	next[id] = sys
	if err := s.save(next); err != nil {
		return System{}, "", err
	}
	return sys, secret, nil
}

// Remove revokes a system: its secret stops working at the next request.
func (s *Systems) Remove(id string) (System, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return System{}, err
	}
	sys, ok := s.byID[id]
	if !ok {
		return System{}, lienthong.Errorf(lienthong.KindNotFound, "không có hệ thống mã %s (no such system)", id)
	}
	next := maps.Clone(s.byID)
	delete(next, id)
	return sys, s.save(next)
}

// List returns the systems, by id.
func (s *Systems) List() ([]System, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return nil, err
	}
	out := make([]System, 0, len(s.byID))
	for _, sys := range s.byID {
		out = append(out, sys)
	}
	slices.SortFunc(out, func(a, b System) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Authenticate returns the system whose id and secret these are. The
// error says which of the two is wrong only as far as is safe: an
// unknown id and a wrong secret read the same.
func (s *Systems) Authenticate(id, secret string) (System, error) {
	if id == "" || secret == "" {
		return System{}, lienthong.Errorf(lienthong.KindUnauthenticated,
			"thiếu thông tin xác thực: cần tiêu đề X-SystemId và X-SecretKey do trung tâm CNTT của tỉnh cấp (missing X-SystemId / X-SecretKey headers)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return System{}, err
	}
	sys, ok := s.byID[id]
	// The MAC is computed even for an unknown id, so that timing does not
	// tell which ids exist.
	want := s.mac(secret)
	if !ok || len(s.key) == 0 || !hmac.Equal([]byte(want), []byte(sys.MAC)) {
		return System{}, lienthong.Errorf(lienthong.KindUnauthenticated,
			"mã hệ thống hoặc khóa bí mật không đúng, hoặc hệ thống đã bị thu hồi; liên hệ trung tâm CNTT của tỉnh (invalid X-SystemId or X-SecretKey)")
	}
	return sys, nil
}

func (s *Systems) mac(secret string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

// load reads the key and the file if they changed; create makes the key
// when there is none yet.
func (s *Systems) load(create bool) error {
	if len(s.key) == 0 {
		key, err := os.ReadFile(s.keyPath())
		switch {
		case err == nil && len(key) == 32:
			s.key = key
		case err == nil:
			return fmt.Errorf("gateway key %s: %d bytes, want 32", s.keyPath(), len(key))
		case errors.Is(err, os.ErrNotExist) && create:
			key = make([]byte, 32)
			rand.Read(key)
			if err := pki.WriteFile(s.keyPath(), key, 0o600); err != nil {
				return fmt.Errorf("creating the gateway key: %w", err)
			}
			s.key = key
		case errors.Is(err, os.ErrNotExist):
			// No system was ever added: nothing authenticates.
		default:
			return fmt.Errorf("reading the gateway key: %w", err)
		}
	}
	info, err := os.Stat(s.path())
	if errors.Is(err, os.ErrNotExist) {
		s.byID, s.stamp = map[string]System{}, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading gateway systems: %w", err)
	}
	stamp := fileStamp{mod: info.ModTime(), size: info.Size(), info: info}
	if s.byID != nil && stamp.same(s.stamp) {
		return nil
	}
	data, err := os.ReadFile(s.path())
	if err != nil {
		return fmt.Errorf("reading gateway systems: %w", err)
	}
	var list []System
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("reading gateway systems %s: %w", s.path(), err)
	}
	byID := make(map[string]System, len(list))
	for _, sys := range list {
		byID[sys.ID] = sys
	}
	s.byID, s.stamp = byID, stamp
	return nil
}

func (s *Systems) save(byID map[string]System) error {
	list := make([]System, 0, len(byID))
	for _, sys := range byID {
		list = append(list, sys)
	}
	slices.SortFunc(list, func(a, b System) int { return strings.Compare(a.ID, b.ID) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding gateway systems: %w", err)
	}
	if err := pki.WriteFile(s.path(), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving gateway systems: %w", err)
	}
	// Forget the stamp: the next load reads what was written.
	s.byID = nil
	return nil
}
