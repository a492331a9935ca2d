package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/buckket/go-blurhash"
	xdraw "golang.org/x/image/draw"
)

const (
	previewMax     = 640 // a preview fits in previewMax x previewMax
	previewQuality = 80  // JPEG quality of previews
	blurhashWidth  = 32  // width of the thumbnail the blurhash is computed from
	blurhashX      = 4   // blurhash components, as Mastodon uses
	blurhashY      = 4
)

// setPreview makes p's JPEG preview and blurhash from img.
func (p *Processed) setPreview(img image.Image) error {
	small := thumbnail(img, previewMax, previewMax)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: previewQuality}); err != nil {
		return fmt.Errorf("encode preview: %w", err)
	}
	hash, err := blurhashOf(small)
	if err != nil {
		return err
	}
	b := small.Bounds()
	p.Preview = buf.Bytes()
	p.Small = Dims{b.Dx(), b.Dy()}
	p.Blurhash = hash
	return nil
}

// blurhashOf computes the blurhash of a tiny copy of preview.
func blurhashOf(preview *image.RGBA) (string, error) {
	b := preview.Bounds()
	w := min(blurhashWidth, b.Dx())
	h := max(1, (b.Dy()*w+b.Dx()/2)/b.Dx())
	tiny := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(tiny, tiny.Bounds(), preview, b, xdraw.Src, nil)
	hash, err := blurhash.Encode(blurhashX, blurhashY, tiny)
	if err != nil {
		return "", fmt.Errorf("blurhash: %w", err)
	}
	return hash, nil
}

// fit returns the dims of a w×h picture scaled to fit in maxW×maxH, keeping
// its aspect ratio and never enlarging it; neither side is below 1.
func fit(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	if int64(w)*int64(maxH) >= int64(h)*int64(maxW) { // width bounds
		return maxW, max(1, int((int64(h)*int64(maxW)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(maxH)+int64(h)/2)/int64(h))), maxH
}

// thumbnail returns img scaled to fit in maxW×maxH (never enlarged) as an
// opaque RGBA image: transparent parts are laid on white.
//
// Scaling a 12-megapixel picture with a Catmull-Rom kernel straight away
// costs a kernel evaluation per source pixel and output row; instead a box
// filter first averages k×k blocks (k integer, chosen so the result is still
// at least twice the target size), which reads each source pixel once
// straight from its planes, and Catmull-Rom finishes from there. See
// BenchmarkThumbnail for the figures.
func thumbnail(img image.Image, maxW, maxH int) *image.RGBA {
	b := img.Bounds()
	w, h := fit(b.Dx(), b.Dy(), maxW, maxH)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	src := img
	if k := min(b.Dx()/(2*w), b.Dy()/(2*h)); k >= 2 {
		src = boxShrink(img, k)
	}
	sb := src.Bounds()
	if sb.Dx() == w && sb.Dy() == h {
		xdraw.Draw(dst, dst.Bounds(), src, sb.Min, xdraw.Src)
	} else {
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, xdraw.Src, nil)
	}
	flattenOnWhite(dst)
	return dst
}

// flattenOnWhite lays the premultiplied pixels of m over opaque white.
func flattenOnWhite(m *image.RGBA) {
	for i := 0; i+3 < len(m.Pix); i += 4 {
		a := m.Pix[i+3]
		if a == 0xff {
			continue
		}
		t := 0xff - a
		m.Pix[i] += t // premultiplied: c <= a, so c + (255-a) <= 255
		m.Pix[i+1] += t
		m.Pix[i+2] += t
		m.Pix[i+3] = 0xff
	}
}

// boxShrink returns img reduced k times in each direction (rounding up), each
// output pixel the mean of a k×k block (smaller at the right and bottom
// edges), premultiplied.
func boxShrink(img image.Image, k int) *image.RGBA {
	b := img.Bounds()
	ow, oh := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	switch m := img.(type) {
	case *image.YCbCr:
		boxYCbCr(dst, m, k)
	case *image.RGBA:
		boxBytes(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy(), k, false)
	case *image.NRGBA:
		boxBytes(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy(), k, true)
	case *image.Gray:
		boxGray(dst, m, k)
	default:
		boxAny(dst, img, k)
	}
	return dst
}

// boxSums accumulates one output row of a box filter, 4 channels a pixel.
type boxSums []uint32

// store writes the means of the sums into row y of dst; rows is the
// height of the block row, w the source width.
func (s boxSums) store(dst *image.RGBA, y, rows, w, k int) {
	out := dst.Pix[y*dst.Stride:]
	for ox := range dst.Rect.Dx() {
		cols := min(k, w-ox*k)
		n := uint32(cols * rows)
		i := 4 * ox
		out[i] = uint8((s[i] + n/2) / n)
		out[i+1] = uint8((s[i+1] + n/2) / n)
		out[i+2] = uint8((s[i+2] + n/2) / n)
		out[i+3] = uint8((s[i+3] + n/2) / n)
	}
}

// boxYCbCr averages the Y, Cb and Cr samples of each block, then converts
// the means to RGB: one conversion per output pixel instead of per source
// pixel.
func boxYCbCr(dst *image.RGBA, m *image.YCbCr, k int) {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	hs, _ := chromaShift(m.SubsampleRatio)
	cx0 := b.Min.X >> hs
	ow := dst.Rect.Dx()
	sums := make(boxSums, 4*ow)
	for oy := range dst.Rect.Dy() {
		clear(sums)
		rows := min(k, h-oy*k)
		for y := oy * k; y < oy*k+rows; y++ {
			yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
			c := m.COffset(b.Min.X, b.Min.Y+y) // chroma of column b.Min.X
			cbrow, crrow := m.Cb[c:], m.Cr[c:]
			for ox := range ow {
				x0 := ox * k
				x1 := min(x0+k, w)
				var sy, scb, scr uint32
				for x := x0; x < x1; x++ {
					ci := (b.Min.X+x)>>hs - cx0
					sy += uint32(yrow[x])
					scb += uint32(cbrow[ci])
					scr += uint32(crrow[ci])
				}
				sums[4*ox] += sy
				sums[4*ox+1] += scb
				sums[4*ox+2] += scr
			}
		}
		// Means of Y, Cb, Cr, then one conversion per pixel.
		out := dst.Pix[oy*dst.Stride:]
		for ox := range ow {
			n := uint32(min(k, w-ox*k) * rows)
			i := 4 * ox
			r, g, bl := color.YCbCrToRGB(uint8((sums[i]+n/2)/n), uint8((sums[i+1]+n/2)/n), uint8((sums[i+2]+n/2)/n))
			out[i], out[i+1], out[i+2], out[i+3] = r, g, bl, 0xff
		}
	}
}

// boxBytes averages 4-byte RGBA or NRGBA pixels (NRGBA is premultiplied
// first, so that transparent pixels do not bleed their colour).
func boxBytes(dst *image.RGBA, pix []byte, stride, w, h, k int, nonPremul bool) {
	ow := dst.Rect.Dx()
	sums := make(boxSums, 4*ow)
	for oy := range dst.Rect.Dy() {
		clear(sums)
		rows := min(k, h-oy*k)
		for y := oy * k; y < oy*k+rows; y++ {
			row := pix[y*stride : y*stride+4*w]
			for x := range w {
				px := row[4*x : 4*x+4 : 4*x+4]
				r, g, bl, a := uint32(px[0]), uint32(px[1]), uint32(px[2]), uint32(px[3])
				if nonPremul && a != 0xff {
					r, g, bl = (r*a+127)/255, (g*a+127)/255, (bl*a+127)/255
				}
				i := 4 * (x / k)
				sums[i] += r
				sums[i+1] += g
				sums[i+2] += bl
				sums[i+3] += a
			}
		}
		sums.store(dst, oy, rows, w, k)
	}
}

// boxGray averages gray pixels.
func boxGray(dst *image.RGBA, m *image.Gray, k int) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow := dst.Rect.Dx()
	sums := make(boxSums, 4*ow)
	for oy := range dst.Rect.Dy() {
		clear(sums)
		rows := min(k, h-oy*k)
		for y := oy * k; y < oy*k+rows; y++ {
			row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
			for x := range w {
				i := 4 * (x / k)
				v := uint32(row[x])
				sums[i] += v
				sums[i+1] += v
				sums[i+2] += v
				sums[i+3] += 0xff
			}
		}
		sums.store(dst, oy, rows, w, k)
	}
}

// boxAny averages any image through RGBA64At (premultiplied), without
// allocating per pixel when img implements image.RGBA64Image (all the
// standard types do).
func boxAny(dst *image.RGBA, img image.Image, k int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	at := func(x, y int) color.RGBA64 { return color.RGBA64Model.Convert(img.At(x, y)).(color.RGBA64) }
	if m, ok := img.(image.RGBA64Image); ok {
		at = m.RGBA64At
	}
	ow := dst.Rect.Dx()
	sums := make(boxSums, 4*ow)
	for oy := range dst.Rect.Dy() {
		clear(sums)
		rows := min(k, h-oy*k)
		for y := oy * k; y < oy*k+rows; y++ {
			for x := range w {
				c := at(b.Min.X+x, b.Min.Y+y)
				i := 4 * (x / k)
				sums[i] += uint32(c.R >> 8)
				sums[i+1] += uint32(c.G >> 8)
				sums[i+2] += uint32(c.B >> 8)
				sums[i+3] += uint32(c.A >> 8)
			}
		}
		sums.store(dst, oy, rows, w, k)
	}
}
