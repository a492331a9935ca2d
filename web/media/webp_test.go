package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/webp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// riffChunk returns a RIFF chunk, padded to an even length.
func riffChunk(fourCC string, data []byte) []byte {
	c := append([]byte(fourCC), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// webpChunks splits a WebP file into its chunks (FourCC and data).
func webpChunks(t testing.TB, w []byte) (fourCCs []string, data [][]byte) {
	t.Helper()
	if string(w[:4]) != "RIFF" || string(w[8:12]) != "WEBP" {
		t.Fatalf("not a WebP file: % x", w[:12])
	}
	if n := binary.LittleEndian.Uint32(w[4:]); int(n) != len(w)-8 {
		t.Fatalf("RIFF size %d, file has %d bytes after the header", n, len(w)-8)
	}
	for i := 12; i+8 <= len(w); {
		n := int(binary.LittleEndian.Uint32(w[i+4:]))
		fourCCs = append(fourCCs, string(w[i:i+4]))
		data = append(data, w[i+8:i+8+n])
		i += 8 + n + n&1
	}
	return fourCCs, data
}

// withWebPMetadata adds EXIF and XMP chunks to a still WebP by RIFF surgery,
// turning a simple file (VP8 or VP8L alone) into an extended one.
func withWebPMetadata(t testing.TB, w []byte) []byte {
	t.Helper()
	fourCCs, data := webpChunks(t, w)
	var body []byte
	if fourCCs[0] != "VP8X" {
		cfg, err := webp.DecodeConfig(bytes.NewReader(w))
		if err != nil {
			t.Fatal(err)
		}
		x := make([]byte, 10)
		x[0] = vp8xEXIF | vp8xXMP
		x[4], x[5], x[6] = byte(cfg.Width-1), byte((cfg.Width-1)>>8), byte((cfg.Width-1)>>16)
		x[7], x[8], x[9] = byte(cfg.Height-1), byte((cfg.Height-1)>>8), byte((cfg.Height-1)>>16)
		body = append(body, riffChunk("VP8X", x)...)
	}
	for i, fcc := range fourCCs {
		d := data[i]
		if fcc == "VP8X" {
			d = slices.Clone(d)
			d[0] |= vp8xEXIF | vp8xXMP
		}
		body = append(body, riffChunk(fcc, d)...)
	}
	body = append(body, riffChunk("EXIF", buildEXIF(binary.LittleEndian, 1)[6:])...)
	body = append(body, riffChunk("XMP ", []byte("<x:xmpmeta>SECRET-WEBP-XMP</x:xmpmeta>!"))...) // odd length: padded
	body = append(body, riffChunk("ZZZZ", []byte("SECRET-UNKNOWN"))...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	out = append(out, "WEBP"...)
	return append(out, body...)
}

func TestStripWebP(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		chunks []string
	}{
		{"lossy", readTestdata(t, "still-lossy.webp"), []string{"VP8 "}},
		{"lossy_metadata", withWebPMetadata(t, readTestdata(t, "still-lossy.webp")), []string{"VP8X", "VP8 "}},
		{"alpha_metadata", withWebPMetadata(t, readTestdata(t, "still-alpha.webp")), []string{"VP8X", "ALPH", "VP8 "}},
		{"lossless_metadata", withWebPMetadata(t, readTestdata(t, "still-lossless.webp")), []string{"VP8X", "VP8L"}},
		{"webpmux_metadata", readTestdata(t, "exif-xmp.webp"), []string{"VP8X", "VP8 "}},
		{"trailing_data", append(readTestdata(t, "still-lossy.webp"), "SECRET-TRAILER"...), []string{"VP8 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := webp.Decode(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("test input does not decode: %v", err)
			}
			out := filepath.Join(t.TempDir(), "out.webp")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			err = stripWebP(bufio.NewReader(bytes.NewReader(tt.in)), f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			fourCCs, data := webpChunks(t, got) // checks the RIFF size too
			if !slices.Equal(fourCCs, tt.chunks) {
				t.Errorf("chunks = %q, want %q", fourCCs, tt.chunks)
			}
			if fourCCs[0] == "VP8X" && data[0][0]&(vp8xEXIF|vp8xXMP) != 0 {
				t.Errorf("VP8X flags %#x still announce metadata", data[0][0])
			}
			for _, s := range []string{"SECRET", "SecretCam", "xmpmeta"} {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("stripped WebP still contains %q", s)
				}
			}
			m, err := webp.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("stripped WebP does not decode: %v", err)
			}
			if d := maxDiff(want, m); d != 0 {
				t.Errorf("pixels differ by up to %d", d)
			}
		})
	}
}

func TestStripWebP_refused(t *testing.T) {
	lossy := readTestdata(t, "still-lossy.webp")
	bigSize := slices.Clone(lossy)
	binary.LittleEndian.PutUint32(bigSize[4:], uint32(len(lossy)+100))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"animated", readTestdata(t, "animated.webp"), ErrUnsupported},
		{"truncated", lossy[:len(lossy)-30], ErrCorrupt},
		{"riff_size_past_end", bigSize, ErrCorrupt},
		{"not_webp", append([]byte("RIFF\x04\x00\x00\x00WAVE"), make([]byte, 16)...), ErrCorrupt},
		{"empty", nil, ErrCorrupt},
		{"metadata_only", append([]byte("RIFF\x12\x00\x00\x00WEBP"), riffChunk("EXIF", []byte("SECRET"))...), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "out.webp"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := stripWebP(bufio.NewReader(bytes.NewReader(tt.in)), f); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// memFile is an in-memory fileWriter.
type memFile struct{ b []byte }

func (m *memFile) Write(p []byte) (int, error) {
	m.b = append(m.b, p...)
	return len(p), nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if int(off)+len(p) > len(m.b) {
		return 0, errors.New("write past the end")
	}
	return copy(m.b[off:], p), nil
}

func FuzzStripWebP(f *testing.F) {
	for _, name := range []string{"still-lossy.webp", "still-alpha.webp", "still-lossless.webp", "exif-xmp.webp", "animated.webp"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(withWebPMetadata(f, readTestdata(f, "still-lossy.webp")))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out memFile
		if err := stripWebP(bufio.NewReader(bytes.NewReader(in)), &out); err != nil {
			return
		}
		var again memFile
		if err := stripWebP(bufio.NewReader(bytes.NewReader(out.b)), &again); err != nil {
			t.Fatalf("stripped output does not strip again: %v", err)
		}
		if !bytes.Equal(again.b, out.b) {
			t.Fatal("stripping is not idempotent")
		}
	})
}
