package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/appearance"
	"github.com/lienthong/lienthong/signing/appearance/appearancetest"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// TestHubAcceptsVisibleSignatures: a decision signed visibly by the
// commune's leader (image by the name line) and sealed by the commune
// (seal from the leader's widget), sent with a copy-style attachment,
// passes the hub's verification (the difference analysis sees only new
// signature fields) and reaches the district valid.
func TestHubAcceptsVisibleSignatures(t *testing.T) {
	font, err := appearance.LoadFont("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v", err)
	}
	dir := initHub(t)
	h := startHub(t, dir)
	ctx := context.Background()
	l := provision.Layout{Dir: dir}
	load := func(d string) pades.SignOptions {
		t.Helper()
		certs, err := pki.LoadCertificates(filepath.Join(d, "cert.pem"))
		must(t, err)
		key, err := pki.LoadKey(filepath.Join(d, "key.pem"))
		must(t, err)
		return pades.SignOptions{Signer: key, Certificate: certs[0], Time: time.Now().Truncate(time.Second)}
	}
	image := func(data []byte) *appearance.Image {
		im, err := appearance.DecodePNG(data)
		must(t, err)
		return im
	}
	sign := func(path string, o pades.SignOptions, spec appearance.Spec) {
		t.Helper()
		spec.Time = o.Time
		data, err := os.ReadFile(path)
		must(t, err)
		o.Appearance, err = appearance.Plan(bytes.NewReader(data), int64(len(data)), spec)
		must(t, err)
		must(t, pades.SignFile(path, path, o))
	}

	decision, _ := writePDF(t, dir, "", "quyetdinh.pdf", samplepdf.Options{Title: "Quyết định số 9/QĐ-UBND", Pages: 2, Texts: []samplepdf.Text{
		{Page: 2, X: 395, Y: 305, Size: 12, Text: "CHỦ TỊCH"},
		{Page: 2, X: 375, Y: 200, Size: 13, Text: "Nguyễn Văn An"},
	}})
	sign(decision, load(l.Leader(commune)), appearance.Spec{Kind: appearance.Leader, Image: image(appearancetest.SignaturePNG()), Anchor: "Nguyễn Văn An"})
	sign(decision, load(l.Agency(commune)), appearance.Spec{Kind: appearance.Seal, Image: image(appearancetest.SealPNG())})
	annex, _ := writePDF(t, dir, "", "phuluc.pdf", samplepdf.Options{Title: "Phụ lục"})
	sign(annex, load(l.Agency(commune)), appearance.Spec{Kind: appearance.Copy, Number: "9/QĐ-UBND", Font: font})

	c := client(t, h.Addr(), dir, commune)
	res, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: "9", Notation: "QĐ-UBND", Subject: "Chữ ký hiển thị",
		Files: []node.File{{Path: decision}, {Path: annex}}}, nil)
	must(t, err)
	v := res.Verification
	if v.GetVerdict() != "valid" || len(v.GetFiles()) != 2 || len(v.GetFiles()[0].GetSigners()) != 2 || len(v.GetFiles()[1].GetSigners()) != 1 {
		t.Fatalf("verification = %v", v)
	}
	var got []*node.Received
	must(t, client(t, h.Addr(), dir, district).ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
		func(r *node.Received) error { got = append(got, r); return nil }))
	if len(got) != 1 || got[0].Verification.GetVerdict() != "valid" {
		t.Fatalf("the district got %d documents, verification %v", len(got), got)
	}
}
