package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// Limits bound what Process accepts. The zero value of each field means its
// default; Process copies the struct and never changes the caller's.
type Limits struct {
	MaxImageBytes  int64 // 0 = 16 MiB
	MaxVideoBytes  int64 // 0 = 99 MiB (also audio)
	MaxImagePixels int64 // width*height of a still image or a GIF's screen; 0 = 7680*4320

	// MaxAnimationPixels bounds the sum of the frame areas of an animated
	// GIF, which decides how much memory decoding it takes (one byte a
	// pixel); 0 = 4*MaxImagePixels.
	MaxAnimationPixels int64

	// CommandTimeout bounds each ffprobe or ffmpeg run; 0 = 2 minutes.
	CommandTimeout time.Duration
}

// Defaults, as documented on Limits.
const (
	DefaultMaxImageBytes  = 16 << 20
	DefaultMaxVideoBytes  = 99 << 20
	DefaultMaxImagePixels = 7680 * 4320
	DefaultCommandTimeout = 2 * time.Minute
)

func (lim Limits) withDefaults() Limits {
	if lim.MaxImageBytes <= 0 {
		lim.MaxImageBytes = DefaultMaxImageBytes
	}
	if lim.MaxVideoBytes <= 0 {
		lim.MaxVideoBytes = DefaultMaxVideoBytes
	}
	if lim.MaxImagePixels <= 0 {
		lim.MaxImagePixels = DefaultMaxImagePixels
	}
	if lim.MaxAnimationPixels <= 0 {
		lim.MaxAnimationPixels = 4 * lim.MaxImagePixels
	}
	if lim.CommandTimeout <= 0 {
		lim.CommandTimeout = DefaultCommandTimeout
	}
	return lim
}

// Dims are the width and height of an image or a video frame in pixels.
type Dims struct{ Width, Height int }

// Aspect returns Width/Height, or 0 when either is unknown (zero).
func (d Dims) Aspect() float64 {
	if d.Width <= 0 || d.Height <= 0 {
		return 0
	}
	return float64(d.Width) / float64(d.Height)
}

// Processed is what Process made of an upload: the file to store, its
// preview and the facts a Mastodon attachment reports.
type Processed struct {
	Type     string  // TypeImage, TypeVideo or TypeAudio
	MIME     string  // from the content, as Sniff tells it: "image/jpeg", "video/mp4", "audio/mpeg"...
	File     string  // the file to store: stripped of metadata; for video/audio it may be the upload itself
	Size     int64   // bytes in File
	Preview  []byte  // JPEG, at most 640x640; nil for audio and for video without ffmpeg
	Original Dims    // upright dims of the image or video; zero for audio and video without ffprobe
	Small    Dims    // dims of Preview; zero when there is none
	Duration float64 // seconds, when ffprobe tells it; else 0
	Blurhash string  // of Preview; "" when there is none

	created []string // files Process made, for Cleanup
}

// Cleanup removes the files Process created (File, unless it is the upload
// itself). Call it once File has been moved or copied into storage; a
// renamed File is simply no longer there to remove. It is safe on nil.
func (p *Processed) Cleanup() {
	if p == nil {
		return
	}
	for _, f := range p.created {
		os.Remove(f)
	}
	p.created = nil
}

// tools are the external programs Process may run; empty paths mean the
// program is not available.
type tools struct {
	ffmpeg, ffprobe string
}

// lookTools finds ffmpeg and ffprobe on PATH. Both are needed: with only
// one, video and audio are stored as uploaded.
func lookTools() tools {
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		return tools{}
	}
	return tools{ffmpeg: ffmpeg, ffprobe: ffprobe}
}

// Process reads the upload at path, checks it against lim and returns what to
// store. The type comes from the content, never from a name. It never
// modifies the file at path. Files it creates go in tmpDir (os.TempDir()
// when ""); the caller removes them with (*Processed).Cleanup. On error it
// leaves no file behind.
//
// Images are checked (size, declared pixels, a full decode) and stripped of
// metadata; video and audio are checked for size and, when ffmpeg and ffprobe
// are on PATH, probed, stripped and given a preview frame. See the package
// documentation for what each format goes through.
func Process(ctx context.Context, path string, lim Limits, tmpDir string) (*Processed, error) {
	return process(ctx, path, lim, tmpDir, lookTools)
}

// process is Process with the lookup of external tools (done only for video
// and audio) passed in, so that tests can take either path.
func process(ctx context.Context, path string, lim Limits, tmpDir string, look func() tools) (_ *Processed, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	if tmpDir == "" {
		tmpDir = os.TempDir()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat upload: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("upload %s is not a regular file", path)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	mime, typ := Sniff(head[:n])
	if mime == "" {
		return nil, fmt.Errorf("%w: not an image, video or audio file we accept", ErrUnsupported)
	}
	p := &Processed{Type: typ, MIME: mime}
	defer func() {
		if err != nil {
			p.Cleanup()
		}
	}()
	switch typ {
	case TypeImage:
		if st.Size() > lim.MaxImageBytes {
			return nil, fmt.Errorf("%w: image is %d bytes, limit is %d", ErrTooLarge, st.Size(), lim.MaxImageBytes)
		}
		err = processImage(ctx, f, p, lim, tmpDir)
	default:
		if st.Size() > lim.MaxVideoBytes {
			return nil, fmt.Errorf("%w: %s is %d bytes, limit is %d", ErrTooLarge, typ, st.Size(), lim.MaxVideoBytes)
		}
		err = processAV(ctx, path, st.Size(), p, lim, tmpDir, look())
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// createTemp makes a new file in dir whose name ends in ext and records it
// in p.created, so that Cleanup (or a failing Process) removes it.
func (p *Processed) createTemp(dir, ext string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "media-*"+ext)
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	p.created = append(p.created, f.Name())
	return f, nil
}

// extension returns the file name extension for a MIME type Sniff returns.
func extension(mime string) string {
	switch mime {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "video/mp4":
		return ".mp4"
	case "video/quicktime":
		return ".mov"
	case "video/webm", "audio/webm":
		return ".webm"
	case "video/ogg":
		return ".ogv"
	case "audio/mp4":
		return ".m4a"
	case "audio/mpeg":
		return ".mp3"
	case "audio/aac":
		return ".aac"
	case "audio/ogg":
		return ".ogg"
	case "audio/wave":
		return ".wav"
	case "audio/flac":
		return ".flac"
	}
	return ""
}
