package bench

import (
	"bytes"
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
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// cacheFormat changes whenever the layout or content of cache entries
// does, so that older entries are not used. 2: hub directories have the
// signature trust store (D/trust, with the root's CRL).
const cacheFormat = 2

// renewBefore is how long before its certificates expire a cached hub
// template is rebuilt.
const renewBefore = 30 * 24 * time.Hour

const manifestName = "manifest.json"

// templateManifest describes Cache/hub-<key>: a hub directory made by
// hub.Init for Agencies.
type templateManifest struct {
	Format   int                      `json:"format"`
	Agencies []provision.SampleAgency `json:"agencies"`
	CASHA256 string                   `json:"ca_sha256"`
	// NotAfter is when the first of the root and hub certificates expires.
	NotAfter time.Time `json:"not_after"`
	Created  time.Time `json:"created"`
}

// corpusManifest describes Cache/hub-<key>/corpus-<key>.
type corpusManifest struct {
	Format    int    `json:"format"`
	CASHA256  string `json:"ca_sha256"`
	PerAgency int    `json:"per_agency"`
	PDFSize   int64  `json:"pdf_size"`
	// Files lists each agency's PDFs, relative to the corpus directory.
	Files   map[string][]string `json:"files"`
	Created time.Time           `json:"created"`
}

// corpus is a cache entry in use: the hub template and the PDFs signed
// with its keys.
type corpus struct {
	template string // hub directory, copied for every run
	caSHA256 string
	byAgency map[string][]corpusDoc
	all      []corpusDoc
	// built says what this run had to make: "" (all cached), "corpus" or
	// "hub+corpus".
	built string
}

type corpusDoc struct {
	agency string
	path   string
	size   int64
}

// meanSize is the mean size of the corpus PDFs in bytes.
func (c *corpus) meanSize() int64 {
	var n int64
	for _, d := range c.all {
		n += d.size
	}
	return n / int64(max(len(c.all), 1))
}

// DefaultCache returns the default cache directory:
// os.UserCacheDir()/lienthong-bench ($XDG_CACHE_HOME/lienthong-bench).
func DefaultCache() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory (use --cache): %w", err)
	}
	return filepath.Join(d, "lienthong-bench"), nil
}

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and numbers
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// openCorpus returns the cached hub template and corpus for these
// parameters, making whichever is missing or stale.
func openCorpus(ctx context.Context, root string, specs []provision.SampleAgency, perAgency int, pdfSize int64, logf func(string, ...any)) (*corpus, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	entry := filepath.Join(root, "hub-"+hashJSON(struct {
		Format   int
		Agencies []provision.SampleAgency
	}{cacheFormat, specs}))
	c := &corpus{template: filepath.Join(entry, "hub")}
	tm, err := loadTemplate(entry, specs)
	if err != nil {
		logf("building hub template of %d agencies in %s (%v)", len(specs), entry, err)
		if tm, err = buildTemplate(ctx, root, entry, specs); err != nil {
			return nil, err
		}
		c.built = "hub+corpus"
	}
	c.caSHA256 = tm.CASHA256

	cdir := filepath.Join(entry, "corpus-"+hashJSON(struct {
		Format    int
		CA        string
		PerAgency int
		PDFSize   int64
	}{cacheFormat, tm.CASHA256, perAgency, pdfSize}))
	cm, err := loadCorpus(cdir, tm.CASHA256, specs)
	if err != nil {
		logf("signing a corpus of %d×%d PDFs of %d bytes into %s (%v)", len(specs), perAgency, pdfSize, cdir, err)
		if cm, err = buildCorpus(ctx, entry, cdir, c.template, tm.CASHA256, specs, perAgency, pdfSize); err != nil {
			return nil, err
		}
		if c.built == "" {
			c.built = "corpus"
		}
	}
	c.byAgency = make(map[string][]corpusDoc, len(specs))
	for _, s := range specs {
		for _, rel := range cm.Files[s.Code] {
			p := filepath.Join(cdir, rel)
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("corpus: %w", err)
			}
			d := corpusDoc{agency: s.Code, path: p, size: fi.Size()}
			c.byAgency[s.Code] = append(c.byAgency[s.Code], d)
			c.all = append(c.all, d)
		}
	}
	return c, nil
}

func readManifest(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeManifest(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFile(path, append(b, '\n'), 0o644)
}

// loadTemplate checks a cached hub template: same directory, same format,
// certificates valid for a while yet.
func loadTemplate(entry string, specs []provision.SampleAgency) (*templateManifest, error) {
	var tm templateManifest
	if err := readManifest(filepath.Join(entry, manifestName), &tm); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("not cached yet")
		}
		return nil, err
	}
	switch {
	case tm.Format != cacheFormat || !reflect.DeepEqual(tm.Agencies, specs):
		return nil, errors.New("cached template is of another format or directory")
	case time.Until(tm.NotAfter) < renewBefore:
		return nil, fmt.Errorf("cached certificates expire %s", tm.NotAfter.Format(time.DateOnly))
	}
	l := provision.Layout{Dir: filepath.Join(entry, "hub")}
	for _, p := range []string{l.CACert(), l.Trust()} {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	return &tm, nil
}

// buildTemplate runs hub.Init in a scratch directory of the cache and
// renames it into place, so an interrupted build leaves no entry.
func buildTemplate(ctx context.Context, root, entry string, specs []provision.SampleAgency) (*templateManifest, error) {
	tmp, err := os.MkdirTemp(root, ".build-hub-*")
	if err != nil {
		return nil, fmt.Errorf("building hub template: %w", err)
	}
	defer os.RemoveAll(tmp)
	hubDir := filepath.Join(tmp, "hub")
	if _, err := hub.Init(ctx, hubDir, provision.Options{Agencies: specs}); err != nil {
		return nil, fmt.Errorf("building hub template: %w", err)
	}
	l := provision.Layout{Dir: hubDir}
	ca, err := pki.LoadCertificates(l.CACert())
	if err != nil {
		return nil, err
	}
	hubCert, err := pki.LoadCertificates(l.HubCert())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(ca[0].Raw)
	tm := &templateManifest{Format: cacheFormat, Agencies: specs, CASHA256: hex.EncodeToString(sum[:]),
		NotAfter: ca[0].NotAfter, Created: time.Now().UTC()}
	if hubCert[0].NotAfter.Before(tm.NotAfter) {
		tm.NotAfter = hubCert[0].NotAfter
	}
	if err := writeManifest(filepath.Join(tmp, manifestName), tm); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(entry); err != nil {
		return nil, fmt.Errorf("removing stale cache entry: %w", err)
	}
	if err := os.Rename(tmp, entry); err != nil {
		return nil, fmt.Errorf("storing hub template: %w", err)
	}
	return tm, nil
}

func loadCorpus(cdir, caSHA256 string, specs []provision.SampleAgency) (*corpusManifest, error) {
	var cm corpusManifest
	if err := readManifest(filepath.Join(cdir, manifestName), &cm); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("not cached yet")
		}
		return nil, err
	}
	if cm.Format != cacheFormat || cm.CASHA256 != caSHA256 {
		return nil, errors.New("cached corpus is of another format or PKI")
	}
	for _, s := range specs {
		if len(cm.Files[s.Code]) != cm.PerAgency {
			return nil, fmt.Errorf("cached corpus lacks the PDFs of %s", s.Code)
		}
	}
	return &cm, nil
}

// loadSigner reads the certificate and key in dir (cert.pem, key.pem).
func loadSigner(dir, reason string) (pades.SignOptions, error) {
	certs, err := pki.LoadCertificates(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return pades.SignOptions{}, err
	}
	key, err := pki.LoadKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		return pades.SignOptions{}, err
	}
	return pades.SignOptions{Signer: key, Certificate: certs[0], Reason: reason, Location: "H53"}, nil
}

// agencySigners returns the agency head's signature and the agency seal,
// in signing order.
func agencySigners(template, code string) ([2]pades.SignOptions, error) {
	l := provision.Layout{Dir: template}
	head, err := loadSigner(l.Leader(code), "Ký duyệt")
	if err != nil {
		return [2]pades.SignOptions{}, fmt.Errorf("corpus: signing key of the head of %s: %w", code, err)
	}
	seal, err := loadSigner(l.Agency(code), "Đóng dấu phát hành")
	if err != nil {
		return [2]pades.SignOptions{}, fmt.Errorf("corpus: seal of %s: %w", code, err)
	}
	return [2]pades.SignOptions{head, seal}, nil
}

// signatureOverhead is how many bytes two signatures add to a PDF, so that
// the corpus PDFs come out at the requested size.
func signatureOverhead(sig [2]pades.SignOptions) (int64, error) {
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "overhead"})
	if err != nil {
		return 0, err
	}
	base := int64(len(doc))
	for _, s := range sig {
		var out bytes.Buffer
		if err := pades.Sign(&out, bytes.NewReader(doc), int64(len(doc)), s); err != nil {
			return 0, err
		}
		doc = out.Bytes()
	}
	return int64(len(doc)) - base + 2<<10, nil // + the title and lines of a real one
}

// buildCorpus writes perAgency PDFs per agency, each signed by the agency
// head then sealed by the agency (pades.SignFile), using all cores.
func buildCorpus(ctx context.Context, entry, cdir, template, caSHA256 string, specs []provision.SampleAgency, perAgency int, pdfSize int64) (*corpusManifest, error) {
	tmp, err := os.MkdirTemp(entry, ".build-corpus-*")
	if err != nil {
		return nil, fmt.Errorf("building corpus: %w", err)
	}
	defer os.RemoveAll(tmp)
	first, err := agencySigners(template, specs[0].Code)
	if err != nil {
		return nil, err
	}
	overhead, err := signatureOverhead(first)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	pad := max(pdfSize-overhead, 0)

	cm := &corpusManifest{Format: cacheFormat, CASHA256: caSHA256, PerAgency: perAgency, PDFSize: pdfSize,
		Files: make(map[string][]string, len(specs)), Created: time.Now().UTC()}
	for _, s := range specs {
		for i := range perAgency {
			cm.Files[s.Code] = append(cm.Files[s.Code], filepath.Join(s.Code, strconv.Itoa(i+1)+".pdf"))
		}
	}
	jobs := make(chan provision.SampleAgency)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for s := range jobs {
				if err := signAgencyCorpus(ctx, template, tmp, s, cm.Files[s.Code], pad); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		})
	}
feed:
	for _, s := range specs {
		select {
		case jobs <- s:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	if err := writeManifest(filepath.Join(tmp, manifestName), cm); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(cdir); err != nil {
		return nil, fmt.Errorf("removing stale corpus: %w", err)
	}
	if err := os.Rename(tmp, cdir); err != nil {
		return nil, fmt.Errorf("storing corpus: %w", err)
	}
	return cm, nil
}

func signAgencyCorpus(ctx context.Context, template, dir string, s provision.SampleAgency, files []string, pad int64) error {
	sig, err := agencySigners(template, s.Code)
	if err != nil {
		return err
	}
	for i, rel := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		out := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		raw := out + ".unsigned"
		f, err := os.Create(raw)
		if err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		err = samplepdf.Write(f, samplepdf.Options{
			Title: fmt.Sprintf("Quyết định số %d/QĐ-%s", i+1, s.Code),
			Lines: []string{s.Name, "V/v thử tải trục liên thông văn bản", "Văn bản mẫu cho đo hiệu năng"},
			Pages: 2, PadBytes: pad,
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("corpus: writing %s: %w", raw, err)
		}
		if err := pades.SignFile(raw, out, sig[0]); err != nil {
			return fmt.Errorf("corpus: signing %s as the head of %s: %w", out, s.Code, err)
		}
		if err := pades.SignFile(out, out, sig[1]); err != nil {
			return fmt.Errorf("corpus: sealing %s as %s: %w", out, s.Code, err)
		}
		if err := os.Remove(raw); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	return nil
}

// copyTree copies the directory src to dst (which must not exist), keeping
// file modes: private keys stay 0600.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Mkdir(target, info.Mode().Perm()|0o700)
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("copying hub template: %s is not a regular file", path)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
