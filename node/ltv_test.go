package node

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf/pdftest"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestAppendLTV: the hub's B-LT update is appended to a received PDF only
// when it adds validation data and nothing else; an update that edits the
// page, or bytes that are no update at all, leave the file as the sender
// signed it.
func TestAppendLTV(t *testing.T) {
	now := time.Now()
	root, err := pki.NewRoot(pki.Request{CommonName: "Root", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.Issue(pki.Request{CommonName: "Ký", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.DocumentSigning})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := samplepdf.Bytes(samplepdf.Options{Title: "LTV"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pades.Sign(&out, bytes.NewReader(doc), int64(len(doc)), pades.SignOptions{Signer: key, Certificate: cert, Time: now}); err != nil {
		t.Fatal(err)
	}
	signed := out.Bytes()

	good, err := pades.LTVUpdate(bytes.NewReader(signed), int64(len(signed)), pades.DSSData{Certs: []*x509.Certificate{cert, root.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	u := pdftest.Append(t, signed)
	b := u.Base()
	u.Set(pdftest.Ref(t, b.Page, "Contents").Num, pdftest.Stream("", "BT /F1 24 Tf 72 700 Td (Da sua) Tj ET"))
	edit := u.Bytes()[len(signed):]

	tests := []struct {
		name   string
		update []byte
		want   []byte
	}{
		{"validation data only", good, append(bytes.Clone(signed), good...)},
		{"an update that edits the page", edit, signed},
		{"not an update", []byte("\n%% rác\n"), signed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vb.pdf")
			if err := os.WriteFile(path, signed, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := appendLTV(path, int64(len(signed)), tc.update); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("file has %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}
