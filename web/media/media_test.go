package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

func decodeJPEGBytes(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }

// upload writes data to a file in a fresh directory, as the HTTP layer
// would save a multipart part, and returns its path.
func upload(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// processed runs process on data without ffmpeg and checks what holds for
// every call: the upload is left as it was, and no file is left in tmpDir
// after an error or after Cleanup.
func processed(t *testing.T, data []byte, lim Limits) (*Processed, error) {
	t.Helper()
	return processWith(t, data, lim, tools{})
}

func processWith(t *testing.T, data []byte, lim Limits, tl tools) (*Processed, error) {
	t.Helper()
	path := upload(t, data)
	tmpDir := t.TempDir()
	before := sha256.Sum256(data)
	p, err := process(t.Context(), path, lim, tmpDir, func() tools { return tl })
	after, rerr := os.ReadFile(path)
	if rerr != nil || sha256.Sum256(after) != before {
		t.Errorf("the upload changed or vanished (%v)", rerr)
	}
	if err != nil {
		if p != nil {
			t.Errorf("Process returned %+v with its error", p)
		}
		assertEmptyDir(t, tmpDir)
		return nil, err
	}
	if p.File != path && filepath.Dir(p.File) != tmpDir {
		t.Errorf("File %s is neither the upload nor in tmpDir", p.File)
	}
	if st, err := os.Stat(p.File); err != nil || st.Size() != p.Size {
		t.Errorf("Size = %d, file: %v %v", p.Size, st, err)
	}
	t.Cleanup(func() {
		p.Cleanup()
		assertEmptyDir(t, tmpDir)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("Cleanup removed the upload: %v", err)
		}
	})
	return p, nil
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("%d files left in tmpDir: %s ...", len(entries), entries[0].Name())
	}
}

// near tells whether c is within tol of want in each channel.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	return abs(int(r>>8)-int(want.R)) <= tol && abs(int(g>>8)-int(want.G)) <= tol && abs(int(b>>8)-int(want.B)) <= tol
}

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// checkCorners checks the colours near the four corners of img: top-left,
// top-right, bottom-left, bottom-right.
func checkCorners(t *testing.T, what string, img image.Image, want [4]color.RGBA) {
	t.Helper()
	b := img.Bounds()
	pts := [4]image.Point{{b.Min.X + 3, b.Min.Y + 3}, {b.Max.X - 4, b.Min.Y + 3}, {b.Min.X + 3, b.Max.Y - 4}, {b.Max.X - 4, b.Max.Y - 4}}
	names := [4]string{"top-left", "top-right", "bottom-left", "bottom-right"}
	for i, pt := range pts {
		if c := img.At(pt.X, pt.Y); !near(c, want[i], 60) {
			t.Errorf("%s %s corner is %v, want about %v", what, names[i], c, want[i])
		}
	}
}

func readStored(t *testing.T, p *Processed) []byte {
	t.Helper()
	b, err := os.ReadFile(p.File)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertAbsent(t *testing.T, stored []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("stored file contains %q", s)
		}
	}
}

func TestProcess_jpeg(t *testing.T) {
	gps := string(gpsSecondsBytes(binary.BigEndian))
	secrets := []string{"Exif\x00\x00", "SecretCam", gps, "SECRET"}
	tests := []struct {
		name        string
		orientation int
		extra       [][]byte
		wantDims    Dims
		corners     [4]color.RGBA // TL, TR, BL, BR of the upright picture
		wantICC     bool
	}{
		{"exif_gps_comment", 1, nil, Dims{64, 48}, [4]color.RGBA{red, green, blue, white}, false},
		{"no_orientation_tag", 0, [][]byte{iccSegment}, Dims{64, 48}, [4]color.RGBA{red, green, blue, white}, true},
		{"orientation_3", 3, nil, Dims{64, 48}, [4]color.RGBA{white, blue, green, red}, false},
		{"orientation_6", 6, [][]byte{iccSegment}, Dims{48, 64}, [4]color.RGBA{blue, red, white, green}, true},
		{"orientation_8", 8, nil, Dims{48, 64}, [4]color.RGBA{green, white, red, blue}, false},
		{"orientation_2", 2, nil, Dims{64, 48}, [4]color.RGBA{green, red, white, blue}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := append([][]byte{jpegSegment(markerAPP1, buildEXIF(binary.BigEndian, tt.orientation)), comSegment, xmpSegment}, tt.extra...)
			in := withSegments(encodeTestJPEG(t, quadrants(64, 48)), segs...)
			p, err := processed(t, in, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if p.MIME != "image/jpeg" || p.Type != TypeImage {
				t.Errorf("MIME, Type = %q, %q", p.MIME, p.Type)
			}
			if p.Original != tt.wantDims || p.Small != tt.wantDims {
				t.Errorf("Original %v, Small %v, want %v", p.Original, p.Small, tt.wantDims)
			}
			if p.Duration != 0 {
				t.Errorf("Duration = %v", p.Duration)
			}
			stored := readStored(t, p)
			assertAbsent(t, stored, secrets...)
			if got := bytes.Contains(stored, []byte("KEEP-ICC-PROFILE-DATA")); got != tt.wantICC {
				t.Errorf("ICC profile kept: %v, want %v", got, tt.wantICC)
			}
			img, err := jpeg.Decode(bytes.NewReader(stored))
			if err != nil {
				t.Fatalf("stored file does not decode: %v", err)
			}
			if b := img.Bounds(); (Dims{b.Dx(), b.Dy()}) != tt.wantDims {
				t.Errorf("stored image is %v, want %v", b, tt.wantDims)
			}
			checkCorners(t, "stored", img, tt.corners)
			preview, err := decodeJPEGBytes(p.Preview)
			if err != nil {
				t.Fatal(err)
			}
			checkCorners(t, "preview", preview, tt.corners)
			checkPreview(t, p)
		})
	}
}

func TestProcess_formats(t *testing.T) {
	gifIn := withGIFExtensions(twoFrameGIF(t, 64, 48, true), gifComment, gifXMP)
	tests := []struct {
		name         string
		in           []byte
		mime         string
		original     Dims
		small        Dims
		secrets      []string
		checkFile    func(t *testing.T, stored []byte)
		checkPreview func(t *testing.T, preview image.Image)
	}{
		{
			name: "jpeg_large", in: encodeTestJPEG(t, noisyGradient(2000, 1500, 1)),
			mime: "image/jpeg", original: Dims{2000, 1500}, small: Dims{640, 480},
		},
		{
			name: "jpeg_progressive", in: readTestdata(t, "progressive.jpg"),
			mime: "image/jpeg", original: Dims{96, 64}, small: Dims{96, 64},
			secrets: []string{"SECRET", "wrjpgcom"},
		},
		{
			name: "jpeg_restart_markers", in: readTestdata(t, "restart.jpg"),
			mime: "image/jpeg", original: Dims{96, 64}, small: Dims{96, 64},
			secrets: []string{"SECRET", "wrjpgcom"},
		},
		{
			name: "png_metadata", in: pngWithMetadata(t, gradientNRGBA(1000, 700)),
			mime: "image/png", original: Dims{1000, 700}, small: Dims{640, 448},
			secrets: []string{"SECRET", "SecretCam", "tEXt", "zTXt", "iTXt", "eXIf", "tIME"},
			checkFile: func(t *testing.T, stored []byte) {
				if types := pngChunkTypes(t, stored); !slices.Equal(types, []string{"IHDR", "gAMA", "pHYs", "IDAT", "IEND"}) {
					t.Errorf("chunks = %v", types)
				}
				m, err := png.Decode(bytes.NewReader(stored))
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(m, gradientNRGBA(1000, 700)); d != 0 {
					t.Errorf("pixels differ by up to %d", d)
				}
			},
		},
		{
			name: "gif_animated_comment", in: gifIn,
			mime: "image/gif", original: Dims{64, 48}, small: Dims{64, 48},
			secrets: []string{"SECRET", "XMP Data"},
			checkFile: func(t *testing.T, stored []byte) {
				want, err := gif.DecodeAll(bytes.NewReader(gifIn))
				if err != nil {
					t.Fatal(err)
				}
				got, err := gif.DecodeAll(bytes.NewReader(stored))
				if err != nil {
					t.Fatalf("stored GIF does not decode: %v", err)
				}
				if len(got.Image) != 2 || !slices.Equal(got.Delay, want.Delay) || got.LoopCount != want.LoopCount {
					t.Fatalf("stored GIF: %d frames, delays %v, loop %d; want 2, %v, %d",
						len(got.Image), got.Delay, got.LoopCount, want.Delay, want.LoopCount)
				}
				for i := range got.Image {
					if got.Image[i].Rect != want.Image[i].Rect || maxDiff(got.Image[i], want.Image[i]) != 0 {
						t.Errorf("frame %d differs", i)
					}
				}
			},
		},
		{
			// The first frame covers only the middle of the screen: the
			// preview shows it on white.
			name: "gif_first_frame_partial", in: partialFirstFrameGIF(t),
			mime: "image/gif", original: Dims{64, 48}, small: Dims{64, 48},
			checkFile: func(t *testing.T, stored []byte) {
				g, err := gif.DecodeAll(bytes.NewReader(stored))
				if err != nil {
					t.Fatal(err)
				}
				if g.Config.Width != 64 || g.Config.Height != 48 || g.Image[0].Rect != image.Rect(16, 12, 48, 36) {
					t.Errorf("screen %dx%d, first frame %v", g.Config.Width, g.Config.Height, g.Image[0].Rect)
				}
			},
			checkPreview: func(t *testing.T, preview image.Image) {
				if c := preview.At(2, 2); !near(c, white, 30) {
					t.Errorf("outside the first frame: %v, want white", c)
				}
				if c := preview.At(32, 24); !near(c, red, 60) {
					t.Errorf("inside the first frame: %v, want red", c)
				}
			},
		},
		{
			name: "webp_metadata", in: withWebPMetadata(t, readTestdata(t, "still-alpha.webp")),
			mime: "image/webp", original: Dims{64, 48}, small: Dims{64, 48},
			secrets: []string{"SECRET", "SecretCam", "EXIF", "XMP "},
			checkFile: func(t *testing.T, stored []byte) {
				if _, err := webp.Decode(bytes.NewReader(stored)); err != nil {
					t.Fatalf("stored WebP does not decode: %v", err)
				}
			},
		},
		{
			name: "webp_webpmux", in: readTestdata(t, "exif-xmp.webp"),
			mime: "image/webp", original: Dims{64, 48}, small: Dims{64, 48},
			secrets: []string{"SECRET", "EXIF", "XMP "},
		},
		{
			name: "webp_lossless", in: readTestdata(t, "still-lossless.webp"),
			mime: "image/webp", original: Dims{64, 48}, small: Dims{64, 48},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := processed(t, tt.in, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if p.MIME != tt.mime || p.Type != TypeImage {
				t.Errorf("MIME, Type = %q, %q; want %q, image", p.MIME, p.Type, tt.mime)
			}
			if p.Original != tt.original || p.Small != tt.small {
				t.Errorf("Original %v, Small %v; want %v, %v", p.Original, p.Small, tt.original, tt.small)
			}
			if p.Original.Aspect() == 0 {
				t.Error("Aspect = 0")
			}
			stored := readStored(t, p)
			assertAbsent(t, stored, tt.secrets...)
			if tt.checkFile != nil {
				tt.checkFile(t, stored)
			}
			checkPreview(t, p)
			if tt.checkPreview != nil {
				img, err := decodeJPEGBytes(p.Preview)
				if err != nil {
					t.Fatal(err)
				}
				tt.checkPreview(t, img)
			}
		})
	}
}

// partialFirstFrameGIF returns a 64x48 GIF whose first frame is a red
// 32x24 rectangle in the middle and whose second frame fills the screen.
func partialFirstFrameGIF(t *testing.T) []byte {
	t.Helper()
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	first := image.NewPaletted(image.Rect(16, 12, 48, 36), pal) // index 0: red
	second := image.NewPaletted(image.Rect(0, 0, 64, 48), pal)
	for i := range second.Pix {
		second.Pix[i] = 1
	}
	g := &gif.GIF{
		Image:  []*image.Paletted{first, second},
		Delay:  []int{10, 10},
		Config: image.Config{ColorModel: pal, Width: 64, Height: 48},
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeaderOnly returns a PNG whose IHDR declares w×h pixels, followed by
// a tiny IDAT and IEND: a decompression bomb's header.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	out := []byte(pngSignature)
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"IHDR", ihdr}, {"IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}}, {"IEND", nil}} {
		ch := binary.BigEndian.AppendUint32(nil, uint32(len(c.data)))
		ch = append(append(ch, c.typ...), c.data...)
		out = append(out, binary.BigEndian.AppendUint32(ch, crc32.ChecksumIEEE(ch[4:]))...)
	}
	return out
}

func TestProcess_refused(t *testing.T) {
	jpg := encodeTestJPEG(t, quadrants(64, 48))
	pngFile := encodeTestPNG(t, gradientNRGBA(64, 48))
	gifFile := twoFrameGIF(t, 30, 20, false)
	webpFile := readTestdata(t, "still-lossy.webp")
	random := make([]byte, 4096)
	randomFill(rand.New(rand.NewPCG(3, 4)), random)
	random[0] = 0x42 // not a sync byte or magic of anything
	mp4 := minimalMP4()
	mp3 := id3MP3()
	tests := []struct {
		name string
		in   []byte
		lim  Limits
		want error
	}{
		{"jpeg_over_byte_limit", jpg, Limits{MaxImageBytes: int64(len(jpg) - 1)}, ErrTooLarge},
		{"jpeg_over_pixel_limit", jpg, Limits{MaxImagePixels: 64*48 - 1}, ErrTooManyPixels},
		{"png_bomb_header", pngHeaderOnly(100000, 100000), Limits{}, ErrTooManyPixels},
		{"gif_over_pixel_limit", gifFile, Limits{MaxImagePixels: 599}, ErrTooManyPixels},
		{"gif_frames_over_animation_limit", gifFile, Limits{MaxAnimationPixels: 2*600 - 1}, ErrTooManyPixels},
		{"webp_over_pixel_limit", webpFile, Limits{MaxImagePixels: 100}, ErrTooManyPixels},
		{"video_over_byte_limit", mp4, Limits{MaxVideoBytes: int64(len(mp4) - 1)}, ErrTooLarge},
		{"audio_over_byte_limit", mp3, Limits{MaxVideoBytes: int64(len(mp3) - 1)}, ErrTooLarge},
		{"jpeg_truncated", jpg[:len(jpg)/2], Limits{}, ErrCorrupt},
		{"jpeg_header_only", jpg[:200], Limits{}, ErrCorrupt},
		{"jpeg_magic_only", []byte("\xff\xd8\xff\xe0garbage"), Limits{}, ErrCorrupt},
		{"png_truncated", pngFile[:len(pngFile)/2], Limits{}, ErrCorrupt},
		{"png_no_iend", pngFile[:len(pngFile)-12], Limits{}, ErrCorrupt},
		{"png_bad_crc", append(pngFile[:len(pngFile)-13:len(pngFile)-13], append([]byte{^pngFile[len(pngFile)-13]}, pngFile[len(pngFile)-12:]...)...), Limits{}, ErrCorrupt},
		{"gif_truncated", gifFile[:len(gifFile)-20], Limits{}, ErrCorrupt},
		{"webp_truncated", webpFile[:len(webpFile)-40], Limits{}, ErrCorrupt},
		{"webp_animated", readTestdata(t, "animated.webp"), Limits{}, ErrUnsupported},
		{"html", []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), Limits{}, ErrUnsupported},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), Limits{}, ErrUnsupported},
		{"svg_bare", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Limits{}, ErrUnsupported},
		{"text", []byte("just some text\n"), Limits{}, ErrUnsupported},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), Limits{}, ErrUnsupported},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), Limits{}, ErrUnsupported},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), Limits{}, ErrUnsupported},
		{"random", random, Limits{}, ErrUnsupported},
		{"empty", nil, Limits{}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := processed(t, tt.in, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, os.TempDir()) {
				t.Errorf("error message shows a path: %q", msg)
			}
		})
	}
}

// A decompression bomb is refused from its header: Process allocates next
// to nothing (the 100000x100000 RGB image would need 30 GB).
func TestProcess_pixelBombFailsFast(t *testing.T) {
	path := upload(t, pngHeaderOnly(100000, 100000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Process(t.Context(), path, Limits{}, t.TempDir())
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("err = %v, want ErrTooManyPixels", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", n)
	}
}

func TestProcess_canceled(t *testing.T) {
	path := upload(t, encodeTestJPEG(t, quadrants(64, 48)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tmpDir := t.TempDir()
	if _, err := Process(ctx, path, Limits{}, tmpDir); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertEmptyDir(t, tmpDir)
}

func TestProcess_missingFile(t *testing.T) {
	_, err := Process(t.Context(), filepath.Join(t.TempDir(), "nope"), Limits{}, t.TempDir())
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want a plain (server-side) error", err)
	}
}

func TestCleanup_nil(t *testing.T) {
	var p *Processed
	p.Cleanup() // must not panic
}
