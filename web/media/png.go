package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// pngKeep lists the ancillary chunks that survive stripping: transparency,
// colour space and rendering hints, physical size, and APNG animation.
// Critical chunks (IHDR, PLTE, IDAT, IEND) always survive. Text (tEXt,
// zTXt, iTXt), eXIf, tIME and anything unknown are dropped.
var pngKeep = map[string]bool{
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true,
	"sBIT": true, "pHYs": true, "bKGD": true,
	"cICP": true, "mDCV": true, "cLLI": true, // PNG third edition colour space and HDR levels
	"acTL": true, "fcTL": true, "fdAT": true, // APNG
}

// processPNG strips f into p.File and decodes the result.
func processPNG(f *os.File, p *Processed, tmpDir string) (image.Image, error) {
	r, err := rewind(f)
	if err != nil {
		return nil, err
	}
	err = p.writeStripped(tmpDir, func(w *bufio.Writer) error { return stripPNG(r, w) })
	if err != nil {
		return nil, err
	}
	return decodeFile(p.File, p.MIME, png.Decode)
}

// stripPNG copies the PNG read from r to w, chunk by chunk, leaving out the
// ancillary chunks pngKeep does not list. Kept chunks are copied whole, so
// their CRCs stay valid; nothing after IEND is copied.
func stripPNG(r *bufio.Reader, w io.Writer) error {
	sig := make([]byte, len(pngSignature))
	if _, err := io.ReadFull(r, sig); err != nil || string(sig) != pngSignature {
		return fmt.Errorf("%w: png: bad signature", ErrCorrupt)
	}
	if _, err := w.Write(sig); err != nil {
		return err
	}
	var hdr [8]byte // length, type
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return truncated("png", err)
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n > 1<<31-1 {
			return fmt.Errorf("%w: png: bad chunk length", ErrCorrupt)
		}
		typ := string(hdr[4:8])
		critical := hdr[4]&0x20 == 0 // upper-case first letter
		rest := int64(n) + 4         // data and CRC
		if critical || pngKeep[typ] {
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
			if _, err := io.CopyN(w, r, rest); err != nil {
				return truncated("png", err)
			}
		} else if _, err := r.Discard(int(rest)); err != nil {
			return truncated("png", err)
		}
		if typ == "IEND" {
			return nil
		}
	}
}
