package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// jpegSegment returns a marker segment with payload.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegments splices segs into jpg right after SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// encodeTestJPEG encodes img at quality 90.
func encodeTestJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// quadrants returns a w×h RGBA image whose top-left quadrant is red,
// bottom-left blue, top-right green and bottom-right white: after any
// orientation, the corners tell where each part went.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var c color.RGBA
			switch {
			case x < w/2 && y < h/2:
				c = color.RGBA{255, 0, 0, 255}
			case x < w/2:
				c = color.RGBA{0, 0, 255, 255}
			case y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			default:
				c = color.RGBA{255, 255, 255, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// Segments used by the stripping tests; each carries a marker string that
// must not survive, or must, as the case says.
var (
	xmpSegment   = jpegSegment(markerAPP1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>SECRET-XMP</x:xmpmeta>"))
	iptcSegment  = jpegSegment(0xed, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0aSECRET-IPTC"))
	comSegment   = jpegSegment(markerCOM, []byte("SECRET-COMMENT"))
	mpfSegment   = jpegSegment(markerAPP2, []byte("MPF\x00SECRET-MPF"))
	iccSegment   = jpegSegment(markerAPP2, append([]byte("ICC_PROFILE\x00\x01\x01"), []byte("KEEP-ICC-PROFILE-DATA")...))
	adobeSegment = jpegSegment(markerAPP14, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")) // transform 1: YCbCr
	jfxxSegment  = jpegSegment(markerAPP0, []byte("JFXX\x00\x13SECRET-JFXX"))
	// A JFIF header with a 2x1 thumbnail whose "pixels" spell a secret.
	jfifThumbSegment = jpegSegment(markerAPP0, append([]byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x01"), []byte("SECRET")...))
)

func TestStripJPEG(t *testing.T) {
	base := encodeTestJPEG(t, quadrants(64, 48))
	exif := jpegSegment(markerAPP1, buildEXIF(binary.BigEndian, 1))
	tests := []struct {
		name        string
		in          []byte
		gone, kept  []string
		orientation int
	}{
		{
			name: "all_metadata",
			in:   withSegments(base, exif, xmpSegment, iptcSegment, comSegment, mpfSegment, jfxxSegment),
			gone: []string{"Exif\x00\x00", "SecretCam", string(gpsSecondsBytes(binary.BigEndian)), "SECRET"},
		},
		{
			name:        "exif_orientation_little_endian",
			in:          withSegments(base, jpegSegment(markerAPP1, buildEXIF(binary.LittleEndian, 6))),
			gone:        []string{"Exif\x00\x00", "SecretCam"},
			orientation: 6,
		},
		{
			name: "colour_segments_kept",
			in:   withSegments(base, iccSegment, adobeSegment, exif),
			gone: []string{"Exif"},
			kept: []string{"ICC_PROFILE\x00\x01\x01KEEP-ICC-PROFILE-DATA", "Adobe\x00\x64"},
		},
		{
			name: "jfif_thumbnail_dropped",
			in:   withSegments(base, jfifThumbSegment),
			gone: []string{"SECRET"},
			kept: []string{"\xff\xe0\x00\x10JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00"},
		},
		{
			name: "trailing_data_dropped",
			in:   append(append([]byte(nil), base...), "SECRET-TRAILER"...),
			gone: []string{"SECRET"},
		},
		{
			name: "fill_bytes_before_markers",
			in:   withSegments(base, []byte{0xff, 0xff, 0xff}, comSegment),
			gone: []string{"SECRET"},
		},
		{
			name: "progressive",
			in:   readTestdata(t, "progressive.jpg"),
			gone: []string{"SECRET", "wrjpgcom"},
			kept: []string{"JFIF\x00"},
		},
		{
			name: "restart_markers",
			in:   readTestdata(t, "restart.jpg"),
			gone: []string{"SECRET", "wrjpgcom"},
			kept: []string{"\xff\xd0", "\xff\xd1", "\xff\xd2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			info, err := stripJPEG(bufio.NewReader(bytes.NewReader(tt.in)), &out)
			if err != nil {
				t.Fatal(err)
			}
			want := max(tt.orientation, 1)
			if info.orientation != want {
				t.Errorf("orientation = %d, want %d", info.orientation, want)
			}
			got := out.Bytes()
			for _, s := range tt.gone {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("stripped file still contains %q", s)
				}
			}
			for _, s := range tt.kept {
				if !bytes.Contains(got, []byte(s)) {
					t.Errorf("stripped file lost %q", s)
				}
			}
			// The compressed pixels are untouched: from the first SOS on,
			// the bytes are those of the input (minus anything after EOI).
			inScan := tt.in[bytes.Index(tt.in, []byte{0xff, markerSOS}):]
			inScan = inScan[:bytes.LastIndex(inScan, []byte{0xff, markerEOI})+2]
			outScan := got[bytes.Index(got, []byte{0xff, markerSOS}):]
			if !bytes.Equal(inScan, outScan) {
				t.Errorf("scan data changed: %d bytes in, %d out", len(inScan), len(outScan))
			}
			want0, err := jpeg.Decode(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got0, err := jpeg.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("stripped JPEG does not decode: %v", err)
			}
			if d := maxDiff(want0, got0); d != 0 {
				t.Errorf("pixels differ by up to %d after stripping", d)
			}
			// Stripping is idempotent.
			var again bytes.Buffer
			if _, err := stripJPEG(bufio.NewReader(bytes.NewReader(got)), &again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), got) {
				t.Error("stripping the stripped file changed it")
			}
		})
	}
}

func TestStripJPEG_corrupt(t *testing.T) {
	base := encodeTestJPEG(t, quadrants(64, 48))
	tests := map[string][]byte{
		"empty":             nil,
		"no_soi":            base[2:],
		"cut_in_header":     base[:40],
		"cut_in_scan":       base[:len(base)-100],
		"no_eoi":            base[:len(base)-2],
		"bad_length":        withSegments(base, []byte{0xff, markerCOM, 0x00, 0x01}),
		"second_soi":        withSegments(base, []byte{0xff, markerSOI}),
		"segment_past_end":  append(base[:2:2], 0xff, markerCOM, 0x40, 0x00, 'x'),
		"eoi_before_frames": []byte{0xff, markerSOI, 0xff, markerEOI},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := stripJPEG(bufio.NewReader(bytes.NewReader(in)), &out)
			if name == "eoi_before_frames" {
				// Structurally complete; the decode that follows refuses it.
				if err != nil {
					t.Fatal(err)
				}
				if _, err := jpeg.Decode(&out); err == nil {
					t.Fatal("a JPEG with no frame decoded")
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzStripJPEG(f *testing.F) {
	base := encodeTestJPEG(f, quadrants(16, 16))
	f.Add(base)
	f.Add(withSegments(base, jpegSegment(markerAPP1, buildEXIF(binary.BigEndian, 6)), comSegment, iccSegment))
	f.Add(readTestdata(f, "progressive.jpg"))
	f.Add(readTestdata(f, "restart.jpg"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if _, err := stripJPEG(bufio.NewReader(bytes.NewReader(in)), &out); err != nil {
			return
		}
		var again bytes.Buffer
		if _, err := stripJPEG(bufio.NewReader(bytes.NewReader(out.Bytes())), &again); err != nil {
			t.Fatalf("stripped output does not strip again: %v", err)
		}
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatal("stripping is not idempotent")
		}
	})
}
