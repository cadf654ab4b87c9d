// Package appearancetest makes the images tests of visible signatures
// need: a blue handwritten-like signature and a red seal with its real
// size, both PNG with a transparent background.
package appearancetest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/lienthong/lienthong/signing/appearance"
)

// SignaturePNG is a 300×150 blue stroke (a wave and a downstroke) on a
// transparent background, with no stated resolution.
func SignaturePNG() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 150))
	blue := color.NRGBA{R: 10, G: 40, B: 200, A: 255}
	for x := 10; x < 290; x++ {
		y := 75 + 45*math.Sin(float64(x)/30)
		for dy := -4; dy <= 4; dy++ {
			img.SetNRGBA(x, int(y)+dy, blue)
		}
	}
	for y := 20; y < 130; y++ {
		for dx := -4; dx <= 4; dx++ {
			img.SetNRGBA(60+dx, y, blue)
		}
	}
	return encode(img)
}

// SealMM is the real diameter of SealPNG's seal.
const SealMM = 40

// SealPNG is a red double ring with a bar, 236 px across at 150 dpi (a
// 40 mm seal), on a transparent background.
func SealPNG() []byte {
	const n = 236
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{R: 220, G: 20, B: 30, A: 255}
	c := float64(n-1) / 2
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r := math.Hypot(float64(x)-c, float64(y)-c)
			if (r <= 117 && r >= 107) || (r <= 80 && r >= 76) || (math.Abs(float64(y)-c) < 3 && r < 76) {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	data, err := appearance.WithDPI(encode(img), 150)
	if err != nil {
		panic(err) // encode always writes a header WithDPI accepts
	}
	return data
}

func encode(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // encoding an in-memory NRGBA image cannot fail
	}
	return b.Bytes()
}
