package media

import (
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/buckket/go-blurhash"
	xdraw "golang.org/x/image/draw"
)

// maxDiff returns the largest difference of any 8-bit channel between two
// images of the same size (compared from their top-left corners).
func maxDiff(a, b image.Image) int {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 1 << 16
	}
	d := 0
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, a1 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, p := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}, {a1, a2}} {
				d = max(d, abs(int(p[0]>>8)-int(p[1]>>8)))
			}
		}
	}
	return d
}

// meanDiff returns the mean absolute difference of the RGB channels.
func meanDiff(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	var sum, n float64
	for y := range min(ab.Dy(), bb.Dy()) {
		for x := range min(ab.Dx(), bb.Dx()) {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			sum += float64(abs(int(r1>>8)-int(r2>>8)) + abs(int(g1>>8)-int(g2>>8)) + abs(int(b1>>8)-int(b2>>8)))
			n += 3
		}
	}
	return sum / n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFit(t *testing.T) {
	tests := []struct{ w, h, wantW, wantH int }{
		{4000, 3000, 640, 480},
		{3000, 4000, 480, 640},
		{640, 640, 640, 640},
		{100, 50, 100, 50}, // never enlarged
		{641, 10, 640, 10},
		{100000, 10, 640, 1}, // never below 1
		{10, 100000, 1, 640},
		{1280, 721, 640, 361}, // rounded
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.w, tt.h), func(t *testing.T) {
			if w, h := fit(tt.w, tt.h, 640, 640); w != tt.wantW || h != tt.wantH {
				t.Errorf("fit = %dx%d, want %dx%d", w, h, tt.wantW, tt.wantH)
			}
		})
	}
}

func TestDimsAspect(t *testing.T) {
	tests := []struct {
		d    Dims
		want float64
	}{
		{Dims{640, 480}, 640.0 / 480},
		{Dims{0, 480}, 0},
		{Dims{640, 0}, 0},
		{Dims{}, 0},
	}
	for _, tt := range tests {
		if got := tt.d.Aspect(); got != tt.want {
			t.Errorf("%v.Aspect() = %v, want %v", tt.d, got, tt.want)
		}
	}
}

// noisyGradient returns a w×h YCbCr 4:2:0 picture like a photo: smooth
// gradients plus noise, the way a camera's JPEG decodes.
func noisyGradient(w, h int, seed uint64) *image.YCbCr {
	r := rand.New(rand.NewPCG(seed, 7))
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		row := m.Y[y*m.YStride:]
		for x := range w {
			v := (x*200)/w + (y*40)/h + int(r.IntN(24))
			row[x] = uint8(min(v, 255))
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := range ch {
		for x := range cw {
			m.Cb[y*m.CStride+x] = uint8(90 + x*80/cw + r.IntN(8))
			m.Cr[y*m.CStride+x] = uint8(170 - y*80/ch + r.IntN(8))
		}
	}
	return m
}

// toRGBA converts any image to RGBA (a reference path: slow, allocating).
func toRGBA(img image.Image) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(m, m.Rect, img, img.Bounds().Min, draw.Src)
	return m
}

func TestThumbnail(t *testing.T) {
	photo := noisyGradient(2560, 1440, 1) // box factor 2, then Catmull-Rom
	gray := image.NewGray(photo.Rect)
	for y := range photo.Rect.Dy() {
		copy(gray.Pix[y*gray.Stride:], photo.Y[y*photo.YStride:y*photo.YStride+photo.Rect.Dx()])
	}
	rgba := toRGBA(photo)
	nrgba := image.NewNRGBA(rgba.Rect)
	copy(nrgba.Pix, rgba.Pix)
	pal := image.NewPaletted(photo.Rect, palette.WebSafe) // index r*36 + g*6 + b, each in 0..5
	cmyk := image.NewCMYK(photo.Rect)
	for i := 0; i < len(rgba.Pix); i += 4 {
		r, g, b := rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]
		pal.Pix[i/4] = uint8((int(r)+25)/51*36 + (int(g)+25)/51*6 + (int(b)+25)/51)
		c, m, y, k := color.RGBToCMYK(r, g, b)
		cmyk.Pix[i], cmyk.Pix[i+1], cmyk.Pix[i+2], cmyk.Pix[i+3] = c, m, y, k
	}
	sub := photo.SubImage(image.Rect(11, 21, 2560-3, 1440-5)).(*image.YCbCr)
	ycc422 := image.NewYCbCr(photo.Rect, image.YCbCrSubsampleRatio422)
	copy(ycc422.Y, photo.Y)
	for y := range photo.Rect.Dy() {
		for cx := range ycc422.CStride {
			ycc422.Cb[y*ycc422.CStride+cx] = photo.Cb[y/2*photo.CStride+cx]
			ycc422.Cr[y*ycc422.CStride+cx] = photo.Cr[y/2*photo.CStride+cx]
		}
	}

	tests := []struct {
		name string
		img  image.Image
	}{
		{"ycbcr420", photo},
		{"ycbcr420_subimage", sub},
		{"ycbcr422", ycc422},
		{"gray", gray},
		{"rgba", rgba},
		{"nrgba", nrgba},
		{"paletted", pal},
		{"cmyk", cmyk},
		{"no_box", noisyGradient(1000, 700, 2)},
		{"fits", noisyGradient(500, 300, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := thumbnail(tt.img, 640, 640)
			b := tt.img.Bounds()
			ww, wh := fit(b.Dx(), b.Dy(), 640, 640)
			if got.Rect != image.Rect(0, 0, ww, wh) {
				t.Fatalf("thumbnail is %v, want %dx%d", got.Rect, ww, wh)
			}
			// Reference: Catmull-Rom straight from the full picture, which
			// x/image/draw filters properly when shrinking (and is slow;
			// from RGBA it is less slow).
			want := image.NewRGBA(got.Rect)
			xdraw.CatmullRom.Scale(want, want.Rect, toRGBA(tt.img), image.Rect(0, 0, b.Dx(), b.Dy()), xdraw.Src, nil)
			if d := meanDiff(got, want); d > 1.5 {
				t.Errorf("mean difference from the reference is %.2f per channel, want <= 1.5", d)
			}
		})
	}
}

func TestThumbnail_transparentOnWhite(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 2000, 1000))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 0, 0, 0, 0 // transparent black
	}
	for y := range 1000 { // left half opaque blue
		for x := range 1000 {
			m.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 255})
		}
	}
	got := thumbnail(m, 640, 640)
	if c := got.RGBAAt(10, 10); c != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("opaque part = %v, want blue", c)
	}
	if c := got.RGBAAt(630, 10); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("transparent part = %v, want white", c)
	}
	for i := 3; i < len(got.Pix); i += 4 {
		if got.Pix[i] != 0xff {
			t.Fatal("thumbnail is not opaque")
		}
	}
}

func TestSetPreview(t *testing.T) {
	tests := []struct {
		name      string
		img       image.Image
		wantSmall Dims
	}{
		{"landscape", noisyGradient(1600, 900, 2), Dims{640, 360}},
		{"portrait", noisyGradient(900, 1600, 3), Dims{360, 640}},
		{"small", noisyGradient(50, 20, 4), Dims{50, 20}},
		{"one_pixel", noisyGradient(1, 1, 5), Dims{1, 1}},
		{"thin", noisyGradient(5000, 3, 6), Dims{640, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Processed
			if err := p.setPreview(tt.img); err != nil {
				t.Fatal(err)
			}
			if p.Small != tt.wantSmall {
				t.Errorf("Small = %v, want %v", p.Small, tt.wantSmall)
			}
			checkPreview(t, &p)
		})
	}
}

// checkPreview checks that p.Preview is a JPEG of p.Small within 640x640
// and that p.Blurhash decodes to 4x4 components.
func checkPreview(t *testing.T, p *Processed) {
	t.Helper()
	if p.Small.Width < 1 || p.Small.Height < 1 || p.Small.Width > 640 || p.Small.Height > 640 {
		t.Errorf("Small = %v, want within 640x640", p.Small)
	}
	img, err := decodeJPEGBytes(p.Preview)
	if err != nil {
		t.Fatalf("preview does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != p.Small.Width || b.Dy() != p.Small.Height {
		t.Errorf("preview is %v, Small says %v", b, p.Small)
	}
	if p.Blurhash == "" {
		t.Fatal("no blurhash")
	}
	if x, y, err := blurhash.Components(p.Blurhash); err != nil || x != 4 || y != 4 {
		t.Errorf("blurhash %q: %dx%d components, %v", p.Blurhash, x, y, err)
	}
	if _, err := blurhash.Decode(p.Blurhash, 32, 32, 1); err != nil {
		t.Errorf("blurhash %q does not decode: %v", p.Blurhash, err)
	}
}

// zonePlate returns a w×h gray YCbCr picture of concentric rings whose
// frequency rises outwards: the test pattern that shows aliasing.
func zonePlate(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			dx, dy := float64(x-w/2), float64(y-h/2)
			m.Y[y*m.YStride+x] = uint8(127.5 + 127.5*math.Cos((dx*dx+dy*dy)*math.Pi/float64(2*w)))
		}
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 128, 128
	}
	return m
}

// BenchmarkThumbnail compares ways to shrink a 12-megapixel picture to
// 640x480, timed on a photo-like picture (noisy gradients). The meandiff
// metrics are the mean absolute difference per channel from Catmull-Rom
// applied to the full picture (the slow reference: x/image/draw widens the
// kernel when shrinking, so it does not alias), for the photo and for a zone
// plate, which shows aliasing. Process uses box+catmullrom: the box factor
// is chosen to leave at least twice the target size (3 here); box6 goes to
// just above the target and aliases.
func BenchmarkThumbnail(b *testing.B) {
	photo := noisyGradient(4000, 3000, 9)
	zone := zonePlate(4000, 3000)
	reference := func(img image.Image) *image.RGBA {
		ref := image.NewRGBA(image.Rect(0, 0, 640, 480))
		xdraw.CatmullRom.Scale(ref, ref.Rect, img, img.Bounds(), xdraw.Src, nil)
		return ref
	}
	photoRef, zoneRef := reference(photo), reference(zone)
	direct := func(s xdraw.Scaler) func(image.Image) *image.RGBA {
		return func(img image.Image) *image.RGBA {
			dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
			s.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
			return dst
		}
	}
	boxThen := func(k int, s xdraw.Scaler) func(image.Image) *image.RGBA {
		return func(img image.Image) *image.RGBA {
			small := boxShrink(img, k)
			dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
			s.Scale(dst, dst.Rect, small, small.Rect, xdraw.Src, nil)
			return dst
		}
	}
	for _, v := range []struct {
		name string
		f    func(image.Image) *image.RGBA
	}{
		{"box+catmullrom", func(img image.Image) *image.RGBA { return thumbnail(img, 640, 640) }}, // what Process uses
		{"box+bilinear", boxThen(3, xdraw.BiLinear)},
		{"box6+catmullrom", boxThen(6, xdraw.CatmullRom)},
		{"catmullrom", direct(xdraw.CatmullRom)},
		{"bilinear", direct(xdraw.BiLinear)},
		{"approxbilinear", direct(xdraw.ApproxBiLinear)},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			var out *image.RGBA
			for b.Loop() {
				out = v.f(photo)
			}
			b.ReportMetric(meanDiff(out, photoRef), "meandiff-photo")
			b.ReportMetric(meanDiff(v.f(zone), zoneRef), "meandiff-zoneplate")
		})
	}
}
