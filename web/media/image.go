package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"

	"golang.org/x/image/webp"
)

// readBufSize is the read buffer for decoding and copying files.
const readBufSize = 64 << 10

// processImage checks the image in f against lim, writes its stripped copy to
// a new file in tmpDir and makes its preview. p.MIME tells the format.
func processImage(ctx context.Context, f *os.File, p *Processed, lim Limits, tmpDir string) error {
	cfg, err := decodeConfig(f, p.MIME)
	if err != nil {
		return err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%w: image is %dx%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxImagePixels {
		return fmt.Errorf("%w: image is %dx%d pixels, limit is %d pixels", ErrTooManyPixels, cfg.Width, cfg.Height, lim.MaxImagePixels)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	var img image.Image // the upright picture the preview is made from
	switch p.MIME {
	case "image/jpeg":
		img, err = processJPEG(f, p, tmpDir)
	case "image/png":
		img, err = processPNG(f, p, tmpDir)
	case "image/gif":
		img, err = processGIF(f, p, lim, tmpDir)
	case "image/webp":
		img, err = processWebP(f, p, tmpDir)
	default:
		err = fmt.Errorf("%w: %s", ErrUnsupported, p.MIME)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := img.Bounds()
	p.Original = Dims{b.Dx(), b.Dy()}
	st, err := os.Stat(p.File)
	if err != nil {
		return fmt.Errorf("stat stripped image: %w", err)
	}
	p.Size = st.Size()
	return p.setPreview(img)
}

// decodeConfig reads the dimensions an image's header declares, without
// decoding pixels.
func decodeConfig(f *os.File, mime string) (image.Config, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return image.Config{}, fmt.Errorf("seek upload: %w", err)
	}
	r := bufio.NewReaderSize(f, 4096)
	var (
		cfg image.Config
		err error
	)
	switch mime {
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(r)
	case "image/png":
		cfg, err = png.DecodeConfig(r)
	case "image/gif":
		cfg, err = gif.DecodeConfig(r)
	case "image/webp":
		cfg, err = webp.DecodeConfig(r)
	default:
		return cfg, fmt.Errorf("%w: %s", ErrUnsupported, mime)
	}
	if err != nil {
		return cfg, decodeError(mime, err)
	}
	return cfg, nil
}

// decodeError classifies an error from an image decoder: features the
// decoder does not implement are ErrUnsupported, I/O errors on our own file
// are returned as they are, everything else is ErrCorrupt.
func decodeError(mime string, err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		pngUnsupported  png.UnsupportedError
		pathErr         *fs.PathError
	)
	switch {
	case errors.As(err, &pathErr):
		return fmt.Errorf("read %s: %w", mime, err)
	case errors.As(err, &jpegUnsupported), errors.As(err, &pngUnsupported):
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, mime, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, mime, err)
}

// rewind seeks f to its start and returns a buffered reader over it.
func rewind(f *os.File) (*bufio.Reader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek %s: %w", f.Name(), err)
	}
	return bufio.NewReaderSize(f, readBufSize), nil
}

// writeStripped creates p.File in tmpDir and fills it with write, flushing
// and closing it.
func (p *Processed) writeStripped(tmpDir string, write func(w *bufio.Writer) error) error {
	out, err := p.createTemp(tmpDir, extension(p.MIME))
	if err != nil {
		return err
	}
	p.File = out.Name()
	w := bufio.NewWriterSize(out, readBufSize)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", out.Name(), cerr)
	}
	return err
}

// decodeFile fully decodes the image file at path with decode.
func decodeFile(path, mime string, decode func(io.Reader) (image.Image, error)) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open stripped image: %w", err)
	}
	defer f.Close()
	img, err := decode(bufio.NewReaderSize(f, readBufSize))
	if err != nil {
		return nil, decodeError(mime, err)
	}
	return img, nil
}
