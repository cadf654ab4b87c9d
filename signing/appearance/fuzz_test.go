package appearance

import (
	"os"
	"testing"

	"github.com/lienthong/lienthong/signing/pdf"
)

// FuzzTextLines: hostile content streams and ToUnicode CMaps neither
// panic nor hang the extraction.
func FuzzTextLines(f *testing.F) {
	f.Add([]byte("BT /F1 12 Tf 72 500 Td (a\\(b\\)c\\101) Tj [(x) -120 <41>] TJ T* (y) ' ET q 1 0 0 1 5 5 cm Q"))
	f.Add([]byte("/P <</MCID 0>> BDC BI /W 1 ID \x00\xff EI EMC [[[[[ ( <<"))
	f.Add([]byte("2 beginbfrange <0000> <FFFF> <0041> <01> <02> [<0041> <00>] endbfrange 1 beginbfchar <01> <D8> endbfchar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fi := &fontInfo{codeLen: 2, widths: map[int]float64{}, missing: 1000, toUni: parseToUnicode(data)}
		textLines(data, map[pdf.Name]*fontInfo{"F1": fi, "F2": {codeLen: 1, widths: map[int]float64{}, missing: 500}})
	})
}

// FuzzParseFont: a damaged font file is refused, not a panic; a subset
// of what parses can be cut.
func FuzzParseFont(f *testing.F) {
	if data, err := os.ReadFile(FontPaths()[0]); err == nil {
		f.Add(data[:min(len(data), 4096)])
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 'h', 'e', 'a', 'd', 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		font, err := ParseFont(data)
		if err != nil {
			return
		}
		sub := font.NewSubset()
		if _, err := sub.Encode("Aệ"); err == nil {
			sub.fontFile()
		}
	})
}
