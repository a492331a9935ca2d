package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"os"
)

// maxGIFFrames bounds an animated GIF's frames (a minute and a half at
// 10 frames a second).
const maxGIFFrames = 1000

// processGIF checks the total frame area of the GIF in f against
// lim.MaxAnimationPixels, decodes all its frames and re-encodes them into
// p.File. gif.EncodeAll writes frames, palettes, delays, disposal and the
// loop count, and nothing else: comments, plain-text and application
// extensions (XMP among them) are gone. The preview shows the first frame.
func processGIF(f *os.File, p *Processed, lim Limits, tmpDir string) (image.Image, error) {
	r, err := rewind(f)
	if err != nil {
		return nil, err
	}
	frames, area, err := scanGIF(r)
	if err != nil {
		return nil, err
	}
	if area > lim.MaxAnimationPixels {
		return nil, fmt.Errorf("%w: GIF frames add up to %d pixels, limit is %d", ErrTooManyPixels, area, lim.MaxAnimationPixels)
	}
	// Each frame also costs the decoder a palette and an image header, a
	// few kilobytes, whatever its size: tiny frames by the thousand would
	// take gigabytes.
	if frames > maxGIFFrames {
		return nil, fmt.Errorf("%w: GIF has %d frames, limit is %d", ErrTooManyPixels, frames, maxGIFFrames)
	}
	if frames == 0 {
		return nil, fmt.Errorf("%w: GIF has no frames", ErrCorrupt)
	}
	if r, err = rewind(f); err != nil {
		return nil, err
	}
	g, err := gif.DecodeAll(r)
	if err != nil {
		return nil, decodeError(p.MIME, err)
	}
	if err := p.writeStripped(tmpDir, func(w *bufio.Writer) error { return gif.EncodeAll(w, g) }); err != nil {
		return nil, fmt.Errorf("encode GIF: %w", err)
	}
	screen := image.Rect(0, 0, g.Config.Width, g.Config.Height)
	first := g.Image[0]
	if first.Rect == screen {
		return first, nil
	}
	return &onScreen{Paletted: first, screen: screen}, nil
}

// onScreen is a GIF frame seen on the logical screen: transparent where the
// frame does not cover it. It spares allocating a screen-sized copy.
type onScreen struct {
	*image.Paletted
	screen image.Rectangle
}

func (o *onScreen) Bounds() image.Rectangle { return o.screen }

func (o *onScreen) At(x, y int) color.Color { return o.RGBA64At(x, y) }

func (o *onScreen) RGBA64At(x, y int) color.RGBA64 {
	if !image.Pt(x, y).In(o.Paletted.Rect) {
		return color.RGBA64{}
	}
	return o.Paletted.RGBA64At(x, y)
}

// scanGIF walks the blocks of a GIF without decoding any pixel, counting
// the frames and adding up their areas, so that a small file declaring
// thousands of full-screen frames is refused before gif.DecodeAll holds
// them all in memory.
func scanGIF(r *bufio.Reader) (frames int, area int64, err error) {
	var hdr [13]byte // signature, version, logical screen descriptor
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, truncated("gif", err)
	}
	if hdr[10]&0x80 != 0 { // global colour table
		if _, err := r.Discard(3 << (hdr[10]&7 + 1)); err != nil {
			return 0, 0, truncated("gif", err)
		}
	}
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, 0, truncated("gif", err)
		}
		switch c {
		case 0x21: // extension: label, then data sub-blocks
			if _, err := r.ReadByte(); err != nil {
				return 0, 0, truncated("gif", err)
			}
			if err := skipSubBlocks(r); err != nil {
				return 0, 0, err
			}
		case 0x2c: // image descriptor
			var d [9]byte
			if _, err := io.ReadFull(r, d[:]); err != nil {
				return 0, 0, truncated("gif", err)
			}
			frames++
			area += int64(binary.LittleEndian.Uint16(d[4:])) * int64(binary.LittleEndian.Uint16(d[6:]))
			if d[8]&0x80 != 0 { // local colour table
				if _, err := r.Discard(3 << (d[8]&7 + 1)); err != nil {
					return 0, 0, truncated("gif", err)
				}
			}
			if _, err := r.ReadByte(); err != nil { // LZW minimum code size
				return 0, 0, truncated("gif", err)
			}
			if err := skipSubBlocks(r); err != nil {
				return 0, 0, err
			}
		case 0x3b: // trailer
			return frames, area, nil
		default:
			return 0, 0, fmt.Errorf("%w: gif: unknown block 0x%02x", ErrCorrupt, c)
		}
	}
}

// skipSubBlocks skips data sub-blocks up to and including the terminator.
func skipSubBlocks(r *bufio.Reader) error {
	for {
		n, err := r.ReadByte()
		if err != nil {
			return truncated("gif", err)
		}
		if n == 0 {
			return nil
		}
		if _, err := r.Discard(int(n)); err != nil {
			return truncated("gif", err)
		}
	}
}
