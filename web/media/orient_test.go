package media

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"
)

// uprightSource returns, for EXIF orientation o of a w×h stored image, the
// stored pixel shown at (x, y) of the upright picture. The formulas restate
// the EXIF 2.3 table (where row 0 and column 0 of the stored image go).
func uprightSource(o, w, h, x, y int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return y, h - 1 - x
	case 7:
		return w - 1 - y, h - 1 - x
	case 8:
		return w - 1 - y, x
	}
	return x, y
}

func randomFill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func TestOrient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][2]int{{7, 5}, {8, 6}, {1, 9}, {9, 1}, {16, 16}, {33, 18}}
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		for o := 1; o <= 8; o++ {
			dw, dh := w, h
			if o >= 5 {
				dw, dh = h, w
			}
			t.Run(fmt.Sprintf("gray/%dx%d/%d", w, h, o), func(t *testing.T) {
				src := image.NewGray(image.Rect(0, 0, w, h))
				randomFill(r, src.Pix)
				want := image.NewGray(src.Rect)
				copy(want.Pix, src.Pix)
				got, ok := orient(src, o).(*image.Gray)
				if !ok || got.Rect != image.Rect(0, 0, dw, dh) {
					t.Fatalf("orient = %T %v, want Gray %dx%d", got, got.Bounds(), dw, dh)
				}
				if o != 1 && &got.Pix[0] != &src.Pix[0] {
					t.Error("orient allocated a new image")
				}
				for y := range dh {
					for x := range dw {
						sx, sy := uprightSource(o, w, h, x, y)
						if got.GrayAt(x, y) != want.GrayAt(sx, sy) {
							t.Fatalf("pixel (%d,%d) = %v, want stored (%d,%d) = %v", x, y, got.GrayAt(x, y), sx, sy, want.GrayAt(sx, sy))
						}
					}
				}
			})
			t.Run(fmt.Sprintf("rgba_padded/%dx%d/%d", w, h, o), func(t *testing.T) {
				// A sub-image: rows are longer than the picture and it
				// does not start at (0,0).
				big := image.NewRGBA(image.Rect(0, 0, w+5, h+3))
				randomFill(r, big.Pix)
				src := big.SubImage(image.Rect(2, 1, 2+w, 1+h)).(*image.RGBA)
				want := image.NewRGBA(image.Rect(0, 0, w, h))
				for y := range h {
					for x := range w {
						want.SetRGBA(x, y, src.RGBAAt(2+x, 1+y))
					}
				}
				got := orient(src, o)
				gb := got.Bounds() // o == 1 returns src itself
				if gb.Dx() != dw || gb.Dy() != dh {
					t.Fatalf("bounds %v, want %dx%d", gb, dw, dh)
				}
				for y := range dh {
					for x := range dw {
						sx, sy := uprightSource(o, w, h, x, y)
						if c := got.At(gb.Min.X+x, gb.Min.Y+y); c != want.At(sx, sy) {
							t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, c, want.At(sx, sy))
						}
					}
				}
			})
			for _, ratio := range []image.YCbCrSubsampleRatio{
				image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
				image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
			} {
				name := strings.TrimPrefix(ratio.String(), "YCbCrSubsampleRatio")
				t.Run(fmt.Sprintf("ycbcr%s/%dx%d/%d", name, w, h, o), func(t *testing.T) {
					testOrientYCbCr(t, r, w, h, o, ratio)
				})
			}
		}
	}
}

// testOrientYCbCr checks luma exactly and, where the subsampling allows an
// exact answer (even dims, or none), chroma too.
func testOrientYCbCr(t *testing.T, r *rand.Rand, w, h, o int, ratio image.YCbCrSubsampleRatio) {
	src := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	randomFill(r, src.Y)
	randomFill(r, src.Cb)
	randomFill(r, src.Cr)
	want := image.NewYCbCr(src.Rect, ratio)
	copy(want.Y, src.Y)
	copy(want.Cb, src.Cb)
	copy(want.Cr, src.Cr)
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	got := orient(src, o)
	if got.Bounds() != image.Rect(0, 0, dw, dh) {
		t.Fatalf("bounds %v, want %dx%d", got.Bounds(), dw, dh)
	}
	hs, vs := chromaShift(ratio)
	exactChroma := w%(1<<hs) == 0 && h%(1<<vs) == 0
	m, inPlace := got.(*image.YCbCr)
	if _, ok := transposedRatio(ratio); inPlace && !ok && o >= 5 {
		t.Fatalf("%s transposed gave a YCbCr with ratio %v", ratio, m.SubsampleRatio)
	}
	for y := range dh {
		for x := range dw {
			sx, sy := uprightSource(o, w, h, x, y)
			wantC := want.YCbCrAt(sx, sy)
			if inPlace {
				gotC := m.YCbCrAt(x, y)
				if gotC.Y != wantC.Y || exactChroma && gotC != wantC {
					t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, gotC, wantC)
				}
				continue
			}
			// Copied into RGBA64: compare colours.
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := wantC.RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got.At(x, y), wantC)
			}
		}
	}
}

func TestOrient_copyFallback(t *testing.T) {
	src := image.NewRGBA64(image.Rect(0, 0, 3, 2))
	for i := range src.Pix {
		src.Pix[i] = byte(i)
	}
	got := orient(src, 6)
	if got.Bounds() != image.Rect(0, 0, 2, 3) {
		t.Fatalf("bounds %v", got.Bounds())
	}
	for y := range 3 {
		for x := range 2 {
			sx, sy := uprightSource(6, 3, 2, x, y)
			if got.At(x, y) != color.Color(src.RGBA64At(sx, sy)) {
				t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got.At(x, y), src.RGBA64At(sx, sy))
			}
		}
	}
}

func BenchmarkOrient12MP(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for _, o := range []int{3, 6} {
		b.Run(fmt.Sprintf("orientation=%d", o), func(b *testing.B) {
			b.ReportAllocs()
			m := image.Image(src)
			for b.Loop() {
				m = orient(m, o) // in place: each turn orients the last result
			}
		})
	}
}
