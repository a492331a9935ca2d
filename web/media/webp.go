package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"

	"golang.org/x/image/webp"
)

// VP8X feature flags (WebP container specification).
const (
	vp8xAnimation = 0x02
	vp8xXMP       = 0x04
	vp8xEXIF      = 0x08
)

// processWebP strips f into p.File and decodes the result.
func processWebP(f *os.File, p *Processed, tmpDir string) (image.Image, error) {
	r, err := rewind(f)
	if err != nil {
		return nil, err
	}
	out, err := p.createTemp(tmpDir, extension(p.MIME))
	if err != nil {
		return nil, err
	}
	p.File = out.Name()
	err = stripWebP(r, out)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", out.Name(), cerr)
	}
	if err != nil {
		return nil, err
	}
	return decodeFile(p.File, p.MIME, webp.Decode)
}

// fileWriter is what stripWebP needs of its output: it patches the RIFF
// size once it knows it.
type fileWriter interface {
	io.Writer
	io.WriterAt
}

// stripWebP copies the still WebP read from r to out keeping only the
// VP8X, VP8, VP8L, ALPH and ICCP chunks: EXIF, XMP and unknown chunks are
// dropped, VP8X loses its EXIF and XMP flags and the RIFF size is fixed.
// An animated WebP (x/image/webp cannot decode one) is ErrUnsupported.
func stripWebP(r *bufio.Reader, out fileWriter) error {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return truncated("webp", err)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return fmt.Errorf("%w: webp: bad RIFF header", ErrCorrupt)
	}
	left := int64(binary.LittleEndian.Uint32(hdr[4:])) - 4 // chunk bytes after "WEBP"; trailing data is ignored
	if left < 8 {
		return fmt.Errorf("%w: webp: no chunks", ErrCorrupt)
	}
	w := bufio.NewWriterSize(out, readBufSize)
	if _, err := w.Write(hdr[:]); err != nil { // size patched below
		return err
	}
	size := int64(4)  // "WEBP"
	var ch [8]byte    // FourCC, size
	hasImage := false // a VP8 or VP8L chunk was seen
	for left > 0 {
		if left < 8 {
			return fmt.Errorf("%w: webp: chunk header past the RIFF end", ErrCorrupt)
		}
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return truncated("webp", err)
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		padded := n + n&1
		left -= 8 + padded
		if left < 0 {
			return fmt.Errorf("%w: webp: chunk past the RIFF end", ErrCorrupt)
		}
		switch fourCC := string(ch[:4]); fourCC {
		case "VP8X":
			if n != 10 {
				return fmt.Errorf("%w: webp: bad VP8X chunk", ErrCorrupt)
			}
			var x [10]byte
			if _, err := io.ReadFull(r, x[:]); err != nil {
				return truncated("webp", err)
			}
			if x[0]&vp8xAnimation != 0 {
				return fmt.Errorf("%w: animated WebP", ErrUnsupported)
			}
			x[0] &^= vp8xEXIF | vp8xXMP
			if _, err := w.Write(ch[:]); err != nil {
				return err
			}
			if _, err := w.Write(x[:]); err != nil {
				return err
			}
		case "ANIM", "ANMF":
			return fmt.Errorf("%w: animated WebP", ErrUnsupported)
		case "VP8 ", "VP8L", "ALPH", "ICCP":
			hasImage = hasImage || fourCC == "VP8 " || fourCC == "VP8L"
			if _, err := w.Write(ch[:]); err != nil {
				return err
			}
			if _, err := io.CopyN(w, r, padded); err != nil {
				return truncated("webp", err)
			}
		default: // "EXIF", "XMP " and anything unknown
			if _, err := r.Discard(int(padded)); err != nil {
				return truncated("webp", err)
			}
			continue
		}
		size += 8 + padded
	}
	if !hasImage {
		return fmt.Errorf("%w: webp: no image data", ErrCorrupt)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if size > 1<<32-1 {
		return fmt.Errorf("%w: webp: too large", ErrCorrupt)
	}
	var sz [4]byte
	binary.LittleEndian.PutUint32(sz[:], uint32(size))
	if _, err := out.WriteAt(sz[:], 4); err != nil {
		return fmt.Errorf("write RIFF size: %w", err)
	}
	return nil
}
