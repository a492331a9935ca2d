package media

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"slices"
	"testing"
)

// pngChunk returns a chunk with a valid CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withChunksAfterIHDR splices chunks into p right after IHDR.
func withChunksAfterIHDR(p []byte, chunks ...[]byte) []byte {
	at := len(pngSignature) + 8 + 13 + 4
	out := append([]byte(nil), p[:at]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[at:]...)
}

// pngChunkTypes lists the chunk types of a PNG in order.
func pngChunkTypes(t *testing.T, p []byte) []string {
	t.Helper()
	var types []string
	for i := len(pngSignature); i+8 <= len(p); {
		n := int(binary.BigEndian.Uint32(p[i:]))
		types = append(types, string(p[i+4:i+8]))
		i += 12 + n
	}
	return types
}

// gradientNRGBA returns a w×h picture with partly transparent pixels.
func gradientNRGBA(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, uint8(255 - x*128/w)})
		}
	}
	return m
}

func encodeTestPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngWithMetadata is a PNG carrying text, EXIF and time chunks besides
// chunks that must survive.
func pngWithMetadata(t testing.TB, img image.Image) []byte {
	t.Helper()
	return withChunksAfterIHDR(encodeTestPNG(t, img),
		pngChunk("gAMA", binary.BigEndian.AppendUint32(nil, 45455)),
		pngChunk("pHYs", []byte{0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1}),
		pngChunk("tEXt", []byte("Comment\x00SECRET-TEXT")),
		pngChunk("zTXt", append([]byte("Author\x00\x00"), zlibBytes(t, "SECRET-ZTXT")...)),
		pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>SECRET-XMP</x:xmpmeta>")),
		pngChunk("eXIf", buildEXIF(binary.BigEndian, 1)[6:]),
		pngChunk("tIME", []byte{0x07, 0xe9, 1, 2, 3, 4, 5}),
		pngChunk("prVt", []byte("SECRET-PRIVATE")),
	)
}

func zlibBytes(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStripPNG(t *testing.T) {
	img := gradientNRGBA(40, 30)
	plain := encodeTestPNG(t, img)
	apng := withChunksAfterIHDR(plain, pngChunk("acTL", []byte{0, 0, 0, 1, 0, 0, 0, 0}))
	tests := []struct {
		name  string
		in    []byte
		types []string
	}{
		{"plain", plain, []string{"IHDR", "IDAT", "IEND"}},
		{"metadata", pngWithMetadata(t, img), []string{"IHDR", "gAMA", "pHYs", "IDAT", "IEND"}},
		{"apng_control_kept", apng, []string{"IHDR", "acTL", "IDAT", "IEND"}},
		{"trailing_data", append(append([]byte(nil), plain...), "SECRET-TRAILER"...), []string{"IHDR", "IDAT", "IEND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := stripPNG(bufio.NewReader(bytes.NewReader(tt.in)), &out); err != nil {
				t.Fatal(err)
			}
			got := out.Bytes()
			if types := pngChunkTypes(t, got); !slices.Equal(types, tt.types) {
				t.Errorf("chunks = %v, want %v", types, tt.types)
			}
			for _, s := range []string{"SECRET", "SecretCam", "Exif", "tEXt", "eXIf"} {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("stripped PNG still contains %q", s)
				}
			}
			m, err := png.Decode(bytes.NewReader(got)) // also checks every CRC
			if err != nil {
				t.Fatalf("stripped PNG does not decode: %v", err)
			}
			if d := maxDiff(img, m); d != 0 {
				t.Errorf("pixels differ by up to %d", d)
			}
		})
	}
}

func TestStripPNG_corrupt(t *testing.T) {
	p := encodeTestPNG(t, gradientNRGBA(40, 30))
	tests := map[string][]byte{
		"empty":         nil,
		"bad_signature": append([]byte("\x89PNX"), p[4:]...),
		"cut_in_chunk":  p[:len(p)-20],
		"no_iend":       p[:len(p)-12],
		"huge_length":   append(append([]byte(nil), p[:len(pngSignature)]...), 0xff, 0xff, 0xff, 0xff, 'I', 'H', 'D', 'R'),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := stripPNG(bufio.NewReader(bytes.NewReader(in)), &out); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzStripPNG(f *testing.F) {
	f.Add(encodeTestPNG(f, gradientNRGBA(8, 8)))
	f.Add(pngWithMetadata(f, gradientNRGBA(8, 8)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := stripPNG(bufio.NewReader(bytes.NewReader(in)), &out); err != nil {
			return
		}
		var again bytes.Buffer
		if err := stripPNG(bufio.NewReader(bytes.NewReader(out.Bytes())), &again); err != nil {
			t.Fatalf("stripped output does not strip again: %v", err)
		}
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatal("stripping is not idempotent")
		}
	})
}
