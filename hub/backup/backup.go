// Package backup copies a hub while it serves and rebuilds a hub
// directory from the copy.
//
// A backup is a directory:
//
//	manifest.json        what the backup holds, with the SHA-256 and size of every file
//	hub.db               the database as of one read transaction (store.Snapshot)
//	blobs/xx/<sha256>    every file that database names
//	config/...           the hub directory without its data: certificates,
//	                     private keys, trust store, operators, sample agencies
//
// The manifest is written last, so a backup without one was cut short.
// Restore refuses a backup whose files differ from its manifest, naming
// the first such file.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/hub/store"
	"github.com/lienthong/lienthong/internal/fsutil"
)

// ManifestFile is the name of the manifest inside a backup.
const ManifestFile = "manifest.json"

const (
	format    = 1
	configDir = "config"
)

// File is one file of a backup: its path inside the backup (slash
// separated), SHA-256 (hex) and size; Mode for configuration files.
type File struct {
	Path   string      `json:"path"`
	SHA256 string      `json:"sha256"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode,omitempty"`
}

// Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Source is the hub directory backed up.
	Source string `json:"source"`
	// Documents is the number of documents in the database copy.
	Documents int `json:"documents"`
	// Database is hub.db; Blobs the stored files; Config the hub
	// directory's other files.
	Database File   `json:"database"`
	Blobs    []File `json:"blobs"`
	Config   []File `json:"config"`
	// Missing are the stored files the database names that were gone or
	// damaged (quarantined documents); they stay missing after a restore.
	Missing []string `json:"missing,omitempty"`
	// Linked counts the blobs hard-linked to the hub's own files rather
	// than copied: they share the hub's disk until the backup is copied
	// elsewhere.
	Linked int `json:"linked"`
}

// Bytes is the total size of the backup's files.
func (m *Manifest) Bytes() int64 {
	n := m.Database.Size
	for _, f := range m.Blobs {
		n += f.Size
	}
	for _, f := range m.Config {
		n += f.Size
	}
	return n
}

// Snapshotter is what Write needs of the store.
type Snapshotter interface {
	Snapshot(ctx context.Context, dbPath, blobsRoot string, link bool) (*store.Snapshot, error)
}

// Options tune Write.
type Options struct {
	// Copy makes every blob a copy; by default blobs are hard-linked
	// when out is on the hub's file system.
	Copy bool
	// Now stamps the manifest; nil means time.Now.
	Now func() time.Time
}

// Write backs up the hub of directory hubDir, whose open store is st,
// into out, which must not exist (or be an empty directory). It is safe
// while the hub serves. On failure it removes what it wrote.
func Write(ctx context.Context, st Snapshotter, hubDir, out string, opts Options) (_ *Manifest, err error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if hubDir, err = filepath.Abs(hubDir); err != nil {
		return nil, err
	}
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	if err := makeEmptyDir(out); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(out)
		}
	}()
	m := &Manifest{Format: format, Created: opts.Now().UTC(), Source: hubDir}
	snap, err := st.Snapshot(ctx, filepath.Join(out, store.DBFile), filepath.Join(out, store.BlobsDir), !opts.Copy)
	if err != nil {
		return nil, fmt.Errorf("backing up the hub database: %w", err)
	}
	m.Documents, m.Linked = snap.Documents, snap.Linked
	m.Database = File{Path: store.DBFile, SHA256: hex.EncodeToString(snap.DBSHA256[:]), Size: snap.DBSize}
	for _, b := range snap.Blobs {
		m.Blobs = append(m.Blobs, File{Path: blobPath(b.String()), SHA256: b.String(), Size: b.Size})
	}
	for _, b := range snap.Missing {
		m.Missing = append(m.Missing, b.String())
	}
	if m.Config, err = copyConfig(ctx, hubDir, out); err != nil {
		return nil, err
	}
	if err := writeManifest(out, m); err != nil {
		return nil, err
	}
	return m, nil
}

func blobPath(hx string) string {
	if len(hx) < 2 {
		return ""
	}
	return store.BlobsDir + "/" + hx[:2] + "/" + hx
}

// makeEmptyDir creates dir, or accepts it if it exists and is empty.
func makeEmptyDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		names, rerr := os.ReadDir(dir)
		if rerr != nil {
			return fmt.Errorf("reading %s: %w", dir, rerr)
		}
		if len(names) > 0 {
			return lienthong.Errorf(lienthong.KindAlreadyExists,
				"thư mục %s đã có dữ liệu: chọn một thư mục mới hoặc trống (directory not empty)", dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}

// copyConfig copies the regular files of hubDir, but for its data
// directory, the serving address and the backup itself (when out lies
// inside hubDir), into out/config.
func copyConfig(ctx context.Context, hubDir, out string) ([]File, error) {
	l := provision.Layout{Dir: hubDir}
	skip := map[string]bool{filepath.Clean(l.Data()): true, filepath.Clean(l.Serving()): true, filepath.Clean(out): true}
	dst := filepath.Join(out, configDir)
	var files []File
	err := filepath.WalkDir(hubDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if skip[filepath.Clean(path)] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(hubDir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f, err := copyFile(path, filepath.Join(dst, rel), info.Mode().Perm(), "")
		if err != nil {
			return err
		}
		f.Path = configDir + "/" + filepath.ToSlash(rel)
		f.Mode = info.Mode().Perm()
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backing up the hub's configuration and keys: %w", err)
	}
	return files, nil
}

// copyFile copies src to the new file dst (creating its directories)
// and returns its hash and size; with want set, a content of
// another SHA-256 is an error and dst is removed.
func copyFile(src, dst string, mode fs.FileMode, want string) (File, error) {
	in, err := os.Open(src)
	if err != nil {
		return File{}, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return File{}, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return File{}, err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err != nil {
		return File{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		out.Close()
		os.Remove(dst)
		return File{}, damaged(src)
	}
	return File{SHA256: sum, Size: n}, out.Close()
}

func writeManifest(out string, m *Manifest) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding backup manifest: %w", err)
	}
	// Everything written is flushed before the manifest says the backup
	// is complete.
	if err := fsutil.SyncFS(out); err != nil {
		return fmt.Errorf("flushing the backup: %w", err)
	}
	tmp := filepath.Join(out, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("flushing backup manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(out, ManifestFile)); err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	return fsutil.SyncDir(out)
}

func damaged(path string) error {
	return lienthong.Errorf(lienthong.KindInvalid,
		"tệp %s của bản sao lưu bị hỏng: nội dung khác mã băm trong manifest.json; dùng một bản sao lưu khác (backup file damaged)", path)
}

// ReadManifest reads in's manifest. A backup without one was cut short
// (or in is not a backup).
func ReadManifest(in string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(in, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, lienthong.Errorf(lienthong.KindInvalid,
			"%s không có %s: bản sao lưu chưa hoàn tất (bị ngắt khi đang ghi) hoặc không phải bản sao lưu của trục (incomplete backup: no manifest)", in, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("reading backup manifest: %w", err)
	}
	m := new(Manifest)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err, "%s của bản sao lưu %s không đọc được (manifest unreadable)", ManifestFile, in)
	}
	if m.Format != format {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "bản sao lưu %s có định dạng %d, phiên bản này đọc định dạng %d (unsupported backup format)", in, m.Format, format)
	}
	if err := m.checkPaths(in); err != nil {
		return nil, err
	}
	return m, nil
}

// checkPaths refuses a manifest naming a file outside its part of the
// backup: restore writes each file to the place its path says, so a
// crafted manifest must not reach outside the new hub directory or put a
// configuration file where the database goes.
func (m *Manifest) checkPaths(in string) error {
	bad := func(p string) error {
		return lienthong.Errorf(lienthong.KindInvalid, "manifest.json của bản sao lưu %s ghi đường dẫn không hợp lệ %q (bad path in manifest)", in, p)
	}
	if m.Database.Path != store.DBFile {
		return bad(m.Database.Path)
	}
	for _, f := range m.Blobs {
		if f.Path != blobPath(f.SHA256) || len(f.SHA256) != 64 {
			return bad(f.Path)
		}
	}
	for _, f := range m.Config {
		if !safePath(f.Path) || !strings.HasPrefix(f.Path, configDir+"/") {
			return bad(f.Path)
		}
	}
	return nil
}

// files lists every file of m.
func (m *Manifest) files() []File {
	return append(append([]File{m.Database}, m.Blobs...), m.Config...)
}

// Check reads every file of the backup in, comparing its size and
// SHA-256 with the manifest, and fails naming the first that is missing
// or differs.
func Check(ctx context.Context, in string) (*Manifest, error) {
	m, err := ReadManifest(in)
	if err != nil {
		return nil, err
	}
	for _, f := range m.files() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkFile(in, f); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func checkFile(in string, f File) error {
	path := filepath.Join(in, filepath.FromSlash(f.Path))
	r, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return lienthong.Errorf(lienthong.KindInvalid, "bản sao lưu thiếu tệp %s mà manifest.json liệt kê: bản sao lưu không đầy đủ (backup incomplete: file missing)", path)
	}
	if err != nil {
		return fmt.Errorf("checking backup file %s: %w", path, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("checking backup file %s: %w", path, err)
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return damaged(path)
	}
	return nil
}

// safePath reports whether p stays inside the backup.
func safePath(p string) bool {
	return p != "" && !filepath.IsAbs(p) && filepath.IsLocal(filepath.FromSlash(p)) && !strings.Contains(p, "\\")
}

// Restore checks the backup in against its manifest and rebuilds from it
// the hub directory dir, which must not exist or be empty: configuration
// and keys, the database and every blob, each flushed. The restored hub
// holds exactly what the backup held: documents accepted after it was
// taken are not there (their senders' nodes send them again, see the
// README).
func Restore(ctx context.Context, in, dir string) (_ *Manifest, err error) {
	m, err := Check(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := makeEmptyDir(dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	data := provision.Layout{Dir: dir}.Data()
	place := func(f File, dst string, mode fs.FileMode) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := copyFile(filepath.Join(in, filepath.FromSlash(f.Path)), dst, mode, f.SHA256); err != nil {
			return fmt.Errorf("restoring %s: %w", f.Path, err)
		}
		return nil
	}
	for _, f := range m.Config {
		rel := strings.TrimPrefix(f.Path, configDir+"/")
		if err := place(f, filepath.Join(dir, filepath.FromSlash(rel)), f.Mode|0o400); err != nil {
			return nil, err
		}
	}
	if err := place(m.Database, filepath.Join(data, store.DBFile), 0o600); err != nil {
		return nil, err
	}
	for _, f := range m.Blobs {
		if err := place(f, filepath.Join(data, filepath.FromSlash(f.Path)), 0o600); err != nil {
			return nil, err
		}
	}
	// One flush for every file and directory written (the store makes
	// blobs/tmp itself).
	if err := fsutil.SyncFS(dir); err != nil {
		return nil, fmt.Errorf("flushing the restored hub directory: %w", err)
	}
	return m, nil
}
