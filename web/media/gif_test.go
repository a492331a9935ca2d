package media

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"testing"
)

// twoFrameGIF returns an animated GIF: 2 frames of w×h, looping forever,
// the second frame smaller than the screen when partial is set.
func twoFrameGIF(t testing.TB, w, h int, partial bool) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for i := range 2 {
		r := image.Rect(0, 0, w, h)
		if partial && i == 1 {
			r = image.Rect(w/4, h/4, w/2, h/2)
		}
		m := image.NewPaletted(r, palette.Plan9)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(200 * i), 255})
			}
		}
		g.Image = append(g.Image, m)
		g.Delay = append(g.Delay, 10*(i+1))
		g.Disposal = append(g.Disposal, gif.DisposalNone)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withGIFExtensions splices blocks in front of the first frame's block
// (after the header, screen descriptor and global colour table).
func withGIFExtensions(g []byte, blocks ...[]byte) []byte {
	at := 13
	if g[10]&0x80 != 0 {
		at += 3 << (g[10]&7 + 1)
	}
	out := append([]byte(nil), g[:at]...)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, g[at:]...)
}

var (
	gifComment = append([]byte{0x21, 0xfe, 18}, append([]byte("SECRET-GIF-COMMENT"), 0)...)
	gifXMP     = append([]byte{0x21, 0xff, 11}, append([]byte("XMP DataXMP"), append([]byte{16}, append([]byte("SECRET-GIF-XMP!!"), 0)...)...)...)
)

func TestScanGIF(t *testing.T) {
	g := twoFrameGIF(t, 30, 20, true)
	tests := []struct {
		name    string
		in      []byte
		frames  int
		area    int64
		corrupt bool
	}{
		{"two_frames", g, 2, 30*20 + 8*5, false},
		{"with_extensions", withGIFExtensions(g, gifComment, gifXMP), 2, 30*20 + 8*5, false},
		{"truncated", g[:len(g)-10], 0, 0, true},
		{"no_trailer", g[:len(g)-1], 0, 0, true},
		{"bad_block", withGIFExtensions(g, []byte{0x99}), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, area, err := scanGIF(bufio.NewReader(bytes.NewReader(tt.in)))
			if tt.corrupt {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("err = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil || frames != tt.frames || area != tt.area {
				t.Fatalf("scanGIF = %d frames, %d pixels, %v; want %d, %d", frames, area, err, tt.frames, tt.area)
			}
		})
	}
}

func TestOnScreen(t *testing.T) {
	m := image.NewPaletted(image.Rect(2, 2, 4, 4), color.Palette{color.RGBA{255, 0, 0, 255}})
	o := &onScreen{Paletted: m, screen: image.Rect(0, 0, 6, 6)}
	if o.Bounds() != image.Rect(0, 0, 6, 6) {
		t.Errorf("Bounds = %v", o.Bounds())
	}
	if c := o.RGBA64At(0, 0); c != (color.RGBA64{}) {
		t.Errorf("outside the frame: %v, want transparent", c)
	}
	if _, _, _, a := o.At(3, 3).RGBA(); a != 0xffff {
		t.Errorf("inside the frame: alpha %d, want opaque", a)
	}
}

func FuzzScanGIF(f *testing.F) {
	f.Add(twoFrameGIF(f, 8, 6, true))
	f.Add(withGIFExtensions(twoFrameGIF(f, 8, 6, false), gifComment, gifXMP))
	f.Fuzz(func(t *testing.T, in []byte) {
		frames, area, err := scanGIF(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		if frames < 0 || area < 0 || area > int64(frames)*65535*65535 {
			t.Fatalf("scanGIF = %d frames, %d pixels", frames, area)
		}
		// What scanGIF accepts with frames, image/gif may still refuse,
		// but it must not find more frames than scanGIF counted.
		if g, err := gif.DecodeAll(bytes.NewReader(in)); err == nil && len(g.Image) > frames {
			t.Fatalf("gif.DecodeAll found %d frames, scanGIF %d", len(g.Image), frames)
		}
	})
}
