package appearance_test

import (
	"os"
	"testing"

	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/signing/appearance"
)

func TestZZDump(t *testing.T) {
	s := newSigner(t, signedAt)
	unsigned := decree(t)
	leader := s.sign(t, unsigned, s.leader, appearance.Spec{Kind: appearance.Leader, Image: decodeImage(t, signatureImage(t)), Anchor: "Nguyễn Văn An"})
	sealed := s.sign(t, leader, s.agency, appearance.Spec{Kind: appearance.Seal, Image: decodeImage(t, sealImage(t))})
	os.WriteFile("/tmp/app-unsigned.pdf", unsigned, 0o644)
	os.WriteFile("/tmp/app-sealed.pdf", sealed, 0o644)
	att, _ := samplepdf.Bytes(samplepdf.Options{Title: "Phụ lục: Danh sách đơn vị", Lines: []string{"1. Sở Nội vụ", "2. Sở Tài chính"}, Pages: 2})
	c := s.sign(t, att, s.agency, appearance.Spec{Kind: appearance.Copy, Number: "15/SY-SNV", CopyType: "Sao y bản chính", Agency: "Sở Nội vụ tỉnh Thái Nguyên", Time: signedAt, Font: font(t)})
	os.WriteFile("/tmp/app-copy.pdf", c, 0o644)
}
