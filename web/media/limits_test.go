package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"testing"
)

// TestProcess_cheapFileCostlyDecode: files small in bytes whose decoding
// would cost far more than their size (many tiny GIF frames, many JPEG
// scans) are refused before decoding.
func TestProcess_cheapFileCostlyDecode(t *testing.T) {
	manyFrames := func(n int) []byte {
		anim := &gif.GIF{}
		pal := color.Palette{color.Black, color.White}
		for range n {
			anim.Image = append(anim.Image, image.NewPaletted(image.Rect(0, 0, 1, 1), pal))
			anim.Delay = append(anim.Delay, 1)
		}
		var buf bytes.Buffer
		if err := gif.EncodeAll(&buf, anim); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	manyScans := func(n int) []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		sos := bytes.Index(b, []byte{0xff, 0xda})
		scan := b[sos : len(b)-2] // SOS segment and its entropy-coded data, up to EOI
		out := append([]byte(nil), b[:len(b)-2]...)
		for range n - 1 {
			out = append(out, scan...)
		}
		return append(out, 0xff, 0xd9)
	}
	for _, tt := range []struct {
		name string
		file []byte
		want error
	}{
		{"1,001 one-pixel GIF frames", manyFrames(maxGIFFrames + 1), ErrTooManyPixels},
		{"JPEG with 101 scans", manyScans(maxScans + 1), ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := processWith(t, tt.file, Limits{}, tools{}); !errors.Is(err, tt.want) {
				t.Errorf("Process: %v, want %v", err, tt.want)
			}
		})
	}
	// Just under the limits, both are fine.
	if _, err := processWith(t, manyFrames(maxGIFFrames), Limits{}, tools{}); err != nil {
		t.Errorf("%d frames: %v", maxGIFFrames, err)
	}
}
