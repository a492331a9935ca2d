package media

import (
	"image"
	"image/color"
)

// orientation is an EXIF Orientation value taken apart into the steps that
// make the image upright, done in this order: transpose (swap rows and
// columns), then mirror left-right, then mirror top-bottom.
type orientation struct {
	transpose, flipH, flipV bool
}

// orientationSteps maps EXIF Orientation 1..8 to its steps.
func orientationSteps(o int) orientation {
	switch o {
	case 2: // mirrored left-right
		return orientation{flipH: true}
	case 3: // rotated 180°
		return orientation{flipH: true, flipV: true}
	case 4: // mirrored top-bottom
		return orientation{flipV: true}
	case 5: // transposed
		return orientation{transpose: true}
	case 6: // needs 90° clockwise
		return orientation{transpose: true, flipH: true}
	case 7: // transversed
		return orientation{transpose: true, flipH: true, flipV: true}
	case 8: // needs 90° counter-clockwise
		return orientation{transpose: true, flipV: true}
	}
	return orientation{}
}

// orient returns img turned upright for EXIF orientation o. For the types
// image/jpeg decodes to (YCbCr 4:4:4, 4:2:2, 4:4:0, 4:2:0, Gray, RGBA,
// CMYK) it works in place, reusing img's pixel memory, so that no second
// full-size image is ever allocated; img must not be used afterwards. Other
// types (YCbCr 4:1:1 and 4:1:0 when transposed) are copied.
//
// Subsampled chroma is mirrored at its own resolution: with an odd width
// (height) a mirrored image's chroma moves by one luma pixel, which no one
// can see.
func orient(img image.Image, o int) image.Image {
	s := orientationSteps(o)
	if s == (orientation{}) {
		return img
	}
	switch m := img.(type) {
	case *image.Gray:
		pl := plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Rect.Dx(), m.Rect.Dy(), m.Stride, 1}.apply(s)
		return &image.Gray{Pix: pl.pix, Stride: pl.stride, Rect: image.Rect(0, 0, pl.w, pl.h)}
	case *image.RGBA:
		pl := plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Rect.Dx(), m.Rect.Dy(), m.Stride, 4}.apply(s)
		return &image.RGBA{Pix: pl.pix, Stride: pl.stride, Rect: image.Rect(0, 0, pl.w, pl.h)}
	case *image.NRGBA:
		pl := plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Rect.Dx(), m.Rect.Dy(), m.Stride, 4}.apply(s)
		return &image.NRGBA{Pix: pl.pix, Stride: pl.stride, Rect: image.Rect(0, 0, pl.w, pl.h)}
	case *image.CMYK:
		pl := plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Rect.Dx(), m.Rect.Dy(), m.Stride, 4}.apply(s)
		return &image.CMYK{Pix: pl.pix, Stride: pl.stride, Rect: image.Rect(0, 0, pl.w, pl.h)}
	case *image.YCbCr:
		if out := orientYCbCr(m, s); out != nil {
			return out
		}
	}
	return orientCopy(img, s)
}

// transposedRatio is the subsample ratio of a transposed YCbCr image, false
// when Go has no name for it.
func transposedRatio(r image.YCbCrSubsampleRatio) (image.YCbCrSubsampleRatio, bool) {
	switch r {
	case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420:
		return r, true
	case image.YCbCrSubsampleRatio422:
		return image.YCbCrSubsampleRatio440, true
	case image.YCbCrSubsampleRatio440:
		return image.YCbCrSubsampleRatio422, true
	}
	return 0, false
}

// chromaShift returns log2 of the horizontal and vertical chroma
// subsampling factors of r.
func chromaShift(r image.YCbCrSubsampleRatio) (h, v uint) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// orientYCbCr orients m's three planes in place, or returns nil when the
// result would have no Go subsample ratio.
func orientYCbCr(m *image.YCbCr, s orientation) *image.YCbCr {
	ratio := m.SubsampleRatio
	if s.transpose {
		var ok bool
		if ratio, ok = transposedRatio(m.SubsampleRatio); !ok {
			return nil
		}
	}
	r := m.Rect
	hs, vs := chromaShift(m.SubsampleRatio)
	cw := (r.Max.X+1<<hs-1)>>hs - r.Min.X>>hs
	ch := (r.Max.Y+1<<vs-1)>>vs - r.Min.Y>>vs
	y := plane{m.Y[m.YOffset(r.Min.X, r.Min.Y):], r.Dx(), r.Dy(), m.YStride, 1}.apply(s)
	c0 := m.COffset(r.Min.X, r.Min.Y)
	cb := plane{m.Cb[c0:], cw, ch, m.CStride, 1}.apply(s)
	cr := plane{m.Cr[c0:], cw, ch, m.CStride, 1}.apply(s)
	return &image.YCbCr{
		Y: y.pix, Cb: cb.pix, Cr: cr.pix,
		YStride: y.stride, CStride: cb.stride,
		SubsampleRatio: ratio,
		Rect:           image.Rect(0, 0, y.w, y.h),
	}
}

// orientCopy orients any image by copying it into a new RGBA64 one. Only
// used for types orient cannot handle in place.
func orientCopy(img image.Image, s orientation) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if s.transpose {
		w, h = h, w
	}
	out := image.NewRGBA64(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			sx, sy := x, y
			if s.flipH {
				sx = w - 1 - sx
			}
			if s.flipV {
				sy = h - 1 - sy
			}
			if s.transpose {
				sx, sy = sy, sx
			}
			out.SetRGBA64(x, y, color.RGBA64Model.Convert(img.At(b.Min.X+sx, b.Min.Y+sy)).(color.RGBA64))
		}
	}
	return out
}

// plane is a rectangle of w*h elements of es bytes each, rows stride bytes
// apart, starting at pix[0].
type plane struct {
	pix          []byte
	w, h, stride int
	es           int
}

// apply performs s on p in place and returns the result, packed (stride
// w*es) at the start of the same memory.
func (p plane) apply(s orientation) plane {
	p = p.pack()
	if s.transpose {
		p.transpose()
	}
	if s.flipH {
		p.flipH()
	}
	if s.flipV {
		p.flipV()
	}
	return p
}

// pack moves the rows together so that they are w*es bytes apart.
func (p plane) pack() plane {
	row := p.w * p.es
	if p.stride != row {
		for y := 1; y < p.h; y++ {
			copy(p.pix[y*row:y*row+row], p.pix[y*p.stride:y*p.stride+row])
		}
	}
	p.stride = row
	p.pix = p.pix[: row*p.h : row*p.h]
	return p
}

// transpose turns the packed h×w plane into a w×h one in place, following
// each cycle of the permutation once: the element that ends at index q
// comes from index q*w mod (n-1), n = w*h. A bitmap (n bits) marks the
// indices done.
func (p *plane) transpose() {
	n := p.w * p.h
	w := p.w
	p.w, p.h = p.h, p.w
	p.stride = p.w * p.es
	if p.w == 1 || p.h == 1 {
		return // a single row or column is laid out the same either way
	}
	last := n - 1
	done := make([]uint64, (n+63)/64)
	switch p.es {
	case 1:
		pix := p.pix
		for start := 1; start < last; start++ {
			if done[start>>6]&(1<<(start&63)) != 0 {
				continue
			}
			saved := pix[start]
			q := start
			for {
				done[q>>6] |= 1 << (q & 63)
				src := q * w % last
				if src == start {
					pix[q] = saved
					break
				}
				pix[q] = pix[src]
				q = src
			}
		}
	default:
		es := p.es
		saved := make([]byte, es)
		for start := 1; start < last; start++ {
			if done[start>>6]&(1<<(start&63)) != 0 {
				continue
			}
			copy(saved, p.pix[start*es:])
			q := start
			for {
				done[q>>6] |= 1 << (q & 63)
				src := q * w % last
				if src == start {
					copy(p.pix[q*es:q*es+es], saved)
					break
				}
				copy(p.pix[q*es:q*es+es], p.pix[src*es:src*es+es])
				q = src
			}
		}
	}
}

// flipH mirrors each row left-right.
func (p plane) flipH() {
	es := p.es
	for y := range p.h {
		row := p.pix[y*p.stride : y*p.stride+p.w*es]
		for i, j := 0, (p.w-1)*es; i < j; i, j = i+es, j-es {
			for k := range es {
				row[i+k], row[j+k] = row[j+k], row[i+k]
			}
		}
	}
}

// flipV mirrors the rows top-bottom.
func (p plane) flipV() {
	row := p.w * p.es
	for i, j := 0, p.h-1; i < j; i, j = i+1, j-1 {
		a := p.pix[i*p.stride : i*p.stride+row]
		b := p.pix[j*p.stride : j*p.stride+row]
		for k := range a {
			a[k], b[k] = b[k], a[k]
		}
	}
}
