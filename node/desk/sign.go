package desk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/pades"
)

// PDFSigner signs one PDF: it reads the document at in and writes the
// signed document to out (a new file; in is left as it was). A key file
// (PAdES below) and a PKCS#11 token both sign through it.
type PDFSigner interface {
	SignPDF(ctx context.Context, in, out string) error
}

// PAdES signs with pades.SignFileContext and the given options: Options
// holds the key (any crypto.Signer: a key file, a token), the certificate
// and chain, the reason, the TSA. The signing time is Now when Options.Time
// is zero.
type PAdES struct {
	Options pades.SignOptions
	// Now is the clock of the signing time; nil means time.Now.
	Now func() time.Time
}

// SignPDF signs in into out.
func (p *PAdES) SignPDF(ctx context.Context, in, out string) error {
	opts := p.Options
	if opts.Time.IsZero() && p.Now != nil {
		opts.Time = p.Now()
	}
	if opts.Name == "" && opts.Certificate != nil {
		opts.Name = opts.Certificate.Subject.CommonName
	}
	if err := pades.SignFileContext(ctx, in, out, opts); err != nil {
		return fmt.Errorf("ký %s: %w", filepath.Base(in), err)
	}
	return nil
}

// isPDF reports whether a file of a document is a PDF, by its media type
// or, when it has none, its name.
func isPDF(f node.File) bool {
	if f.MediaType != "" {
		return f.MediaType == "application/pdf"
	}
	name := f.Name
	if name == "" {
		name = f.Path
	}
	return strings.EqualFold(filepath.Ext(name), ".pdf")
}

// signFiles signs each PDF of files into tmp, keeping the names the
// recipient sees, and returns the files to send; the other files are
// sent as given.
func signFiles(ctx context.Context, s PDFSigner, files []node.File, tmp string) ([]node.File, error) {
	out := make([]node.File, len(files))
	for i, f := range files {
		out[i] = f
		if !isPDF(f) {
			continue
		}
		if out[i].Name == "" {
			out[i].Name = filepath.Base(f.Path)
		}
		dir := filepath.Join(tmp, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("preparing to sign %s: %w", f.Path, err)
		}
		out[i].Path = filepath.Join(dir, "signed.pdf")
		if err := s.SignPDF(ctx, f.Path, out[i].Path); err != nil {
			return nil, err
		}
	}
	return out, nil
}
