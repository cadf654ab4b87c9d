package appearance

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pdf"
)

// maxImagePixels bounds a signature or seal image (a 2000×2000 scan is
// already far more than a 4 cm seal needs).
const maxImagePixels = 4000 * 4000

// Image is a decoded PNG signature or seal image.
type Image struct {
	img image.Image
	// DPI is the resolution the PNG's pHYs chunk states, 0 when absent:
	// what gives a seal its real size.
	DPI float64
}

// DecodePNG decodes a PNG image (with the standard library's image/png)
// and reads the resolution from its pHYs chunk.
func DecodePNG(data []byte) (*Image, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "ảnh chữ ký/con dấu không phải PNG hợp lệ (not a valid PNG): %v", err)
	}
	if cfg.Width*cfg.Height > maxImagePixels || cfg.Width == 0 || cfg.Height == 0 {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "ảnh %d×%d điểm ảnh: quá lớn hoặc rỗng, tối đa %d điểm ảnh (image too large or empty)", cfg.Width, cfg.Height, maxImagePixels)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "ảnh chữ ký/con dấu không phải PNG hợp lệ (not a valid PNG): %v", err)
	}
	return &Image{img: img, DPI: pngDPI(data)}, nil
}

// Size returns the image's size in pixels.
func (im *Image) Size() (w, h int) {
	b := im.img.Bounds()
	return b.Dx(), b.Dy()
}

// pngDPI reads the pHYs chunk (pixels per metre) before the image data.
func pngDPI(data []byte) float64 {
	p := 8
	for p+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if typ == "IDAT" || n < 0 || p+12+n > len(data) {
			return 0
		}
		if typ == "pHYs" && n == 9 {
			x, y := binary.BigEndian.Uint32(data[p+8:]), binary.BigEndian.Uint32(data[p+12:])
			if data[p+16] == 1 && x == y && x > 0 { // unit: metre, square pixels
				return float64(x) * 0.0254
			}
			return 0
		}
		p += 12 + n
	}
	return 0
}

// embed adds the image to the update as an RGB Image XObject, with its
// alpha channel as a soft mask (/SMask) when it has transparency.
func (im *Image) embed(objs pades.Objects) pdf.Ref {
	b := im.img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgb := make([]byte, 0, 3*w*h)
	alpha := make([]byte, 0, w*h)
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(im.img.At(x, y)).(color.NRGBA)
			rgb = append(rgb, c.R, c.G, c.B)
			alpha = append(alpha, c.A)
			opaque = opaque && c.A == 0xff
		}
	}
	d := pdf.NewDict()
	d.Set("Type", pdf.Name("XObject"))
	d.Set("Subtype", pdf.Name("Image"))
	d.Set("Width", int64(w))
	d.Set("Height", int64(h))
	d.Set("ColorSpace", pdf.Name("DeviceRGB"))
	d.Set("BitsPerComponent", int64(8))
	d.Set("Filter", pdf.Name("FlateDecode"))
	if !opaque {
		fillTransparent(rgb, alpha)
		m := pdf.NewDict()
		m.Set("Type", pdf.Name("XObject"))
		m.Set("Subtype", pdf.Name("Image"))
		m.Set("Width", int64(w))
		m.Set("Height", int64(h))
		m.Set("ColorSpace", pdf.Name("DeviceGray"))
		m.Set("BitsPerComponent", int64(8))
		m.Set("Filter", pdf.Name("FlateDecode"))
		d.Set("SMask", objs.AddStream(m, deflate(alpha)))
	}
	return objs.AddStream(d, deflate(rgb))
}

// realSize returns the image's printed size in points at its stated DPI.
func (im *Image) realSize() (w, h float64, err error) {
	if im.DPI <= 0 {
		return 0, 0, lienthong.Errorf(lienthong.KindInvalid, "ảnh con dấu không ghi độ phân giải (thiếu khối pHYs) nên không biết kích thước thật; lưu ảnh với DPI hoặc chỉ khung bằng --rect (the seal PNG states no resolution)")
	}
	pw, ph := im.Size()
	return float64(pw) * 72 / im.DPI, float64(ph) * 72 / im.DPI, nil
}

// WithDPI returns PNG data with a pHYs chunk stating dpi inserted after
// the header, which gives a seal image its real size (image/png writes
// none). data must not have a pHYs chunk already.
func WithDPI(data []byte, dpi float64) ([]byte, error) {
	if len(data) < 33 || string(data[12:16]) != "IHDR" {
		return nil, fmt.Errorf("appearance: not a PNG")
	}
	ppm := uint32(dpi/0.0254 + 0.5)
	chunk := make([]byte, 0, 21)
	chunk = binary.BigEndian.AppendUint32(chunk, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = append(chunk, 1)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	at := 33 // signature 8 + IHDR chunk 25
	out := append(append(append([]byte(nil), data[:at]...), chunk...), data[at:]...)
	return out, nil
}

// fillTransparent gives fully transparent pixels the mean colour of the
// visible ones: a viewer that smooths the image when scaling it then
// blends the ink with its own colour, not with black (no dark fringe).
func fillTransparent(rgb, alpha []byte) {
	var sum [3]int
	n := 0
	for i, a := range alpha {
		if a != 0 {
			for c := 0; c < 3; c++ {
				sum[c] += int(rgb[3*i+c])
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	fill := [3]byte{byte(sum[0] / n), byte(sum[1] / n), byte(sum[2] / n)}
	for i, a := range alpha {
		if a == 0 {
			copy(rgb[3*i:3*i+3], fill[:])
		}
	}
}
