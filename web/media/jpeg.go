package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
)

// JPEG markers (ITU T.81 table B.1) that the stripper looks at.
const (
	markerSOI   = 0xd8
	markerEOI   = 0xd9
	markerSOS   = 0xda
	markerRST0  = 0xd0
	markerRST7  = 0xd7
	markerTEM   = 0x01
	markerAPP0  = 0xe0
	markerAPP1  = 0xe1
	markerAPP2  = 0xe2
	markerAPP14 = 0xee
	markerAPP15 = 0xef
	markerCOM   = 0xfe
	markerJPG   = 0xc8 // reserved
	markerJPG0  = 0xf0 // JPG0..JPG13 are reserved extensions
	markerJPG13 = 0xfd
)

// reencodeQuality is the JPEG quality of an image re-encoded to apply its
// EXIF orientation.
const reencodeQuality = 90

// jpegInfo is what the stripper learns from the header segments.
type jpegInfo struct {
	orientation int      // EXIF Orientation, 1 when absent
	icc         [][]byte // APP2 ICC_PROFILE segments, whole (marker and length included)
	scans       int      // SOS segments copied (only when writing)
}

// maxScans bounds a JPEG's scans. Baseline images have one and
// progressive ones about ten; each scan of a progressive image costs a
// pass over all its coefficients, so thousands of tiny scans in a small
// file would cost minutes of CPU to decode.
const maxScans = 100

// processJPEG strips f losslessly into p.File, or, when its EXIF orientation
// is not upright, decodes it, turns the pixels upright and re-encodes them.
func processJPEG(f *os.File, p *Processed, tmpDir string) (image.Image, error) {
	r, err := rewind(f)
	if err != nil {
		return nil, err
	}
	info, err := stripJPEG(r, nil) // header only: is it upright?
	if err != nil {
		return nil, err
	}
	if info.orientation < 2 || info.orientation > 8 {
		// Stripping counts the scans before any decoding.
		if r, err = rewind(f); err != nil {
			return nil, err
		}
		err := p.writeStripped(tmpDir, func(w *bufio.Writer) error {
			_, err := stripJPEG(r, w)
			return err
		})
		if err != nil {
			return nil, err
		}
		// Decode what we store: it must be a whole, valid JPEG.
		return decodeFile(p.File, p.MIME, jpeg.Decode)
	}

	// Count the scans before decoding (see maxScans).
	if r, err = rewind(f); err != nil {
		return nil, err
	}
	if _, err := stripJPEG(r, io.Discard); err != nil {
		return nil, err
	}
	if r, err = rewind(f); err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(r)
	if err != nil {
		return nil, decodeError(p.MIME, err)
	}
	img = orient(img, info.orientation)
	err = p.writeStripped(tmpDir, func(w *bufio.Writer) error {
		return encodeJPEG(w, img, info.icc)
	})
	if err != nil {
		return nil, err
	}
	return img, nil
}

// encodeJPEG writes img as a JPEG of reencodeQuality carrying the given ICC
// profile segments (dropped for CMYK, whose profile would not match the
// YCbCr the encoder writes).
func encodeJPEG(w io.Writer, img image.Image, icc [][]byte) error {
	if _, ok := img.(*image.CMYK); ok {
		icc = nil
	}
	if len(icc) == 0 {
		return jpeg.Encode(w, img, &jpeg.Options{Quality: reencodeQuality})
	}
	if _, err := w.Write([]byte{0xff, markerSOI}); err != nil {
		return err
	}
	for _, seg := range icc {
		if _, err := w.Write(seg); err != nil {
			return err
		}
	}
	return jpeg.Encode(&skipWriter{w: w, skip: 2}, img, &jpeg.Options{Quality: reencodeQuality})
}

// skipWriter drops the first skip bytes written to it (the encoder's SOI,
// which encodeJPEG has already written before the ICC segments).
type skipWriter struct {
	w    io.Writer
	skip int
}

func (s *skipWriter) Write(b []byte) (int, error) {
	n := min(s.skip, len(b))
	s.skip -= n
	if n == len(b) {
		return n, nil
	}
	m, err := s.w.Write(b[n:])
	return n + m, err
}

// keepSegment tells whether a marker segment survives stripping, and
// returns its payload rewritten when it must change (a JFIF APP0 loses its
// thumbnail).
func keepSegment(marker byte, payload []byte) (bool, []byte) {
	switch {
	case marker == markerAPP0:
		// JFIF: identifier, version, units, densities, thumbnail dims and
		// thumbnail pixels. The thumbnail is a picture of the original:
		// drop it. JFXX and other APP0 payloads are dropped whole.
		if len(payload) < 14 || !bytes.HasPrefix(payload, []byte("JFIF\x00")) {
			return false, nil
		}
		if len(payload) == 14 && payload[12] == 0 && payload[13] == 0 {
			return true, payload
		}
		jfif := bytes.Clone(payload[:14])
		jfif[12], jfif[13] = 0, 0
		return true, jfif
	case marker == markerAPP2:
		return bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")), payload
	case marker == markerAPP14:
		// Adobe: tells the decoder the colour transform (RGB, YCbCr, CMYK, YCCK).
		return bytes.HasPrefix(payload, []byte("Adobe")), payload
	case marker >= markerAPP0 && marker <= markerAPP15, // EXIF, XMP, IPTC, MPF, vendor data
		marker == markerCOM,
		marker == markerJPG,
		marker >= markerJPG0 && marker <= markerJPG13:
		return false, nil
	}
	return true, payload // frame, tables, restart interval...: the image itself
}

// stripJPEG copies the JPEG read from r to w without the segments
// keepSegment drops, leaving the entropy-coded data as it is, and stops at
// EOI (trailing bytes are dropped). With w nil it reads only up to the first
// SOS, to learn the orientation and collect the ICC profile.
func stripJPEG(r *bufio.Reader, w io.Writer) (jpegInfo, error) {
	info := jpegInfo{orientation: 1}
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xff, markerSOI} {
		return info, fmt.Errorf("%w: jpeg: missing SOI marker", ErrCorrupt)
	}
	if w != nil {
		if _, err := w.Write(soi[:]); err != nil {
			return info, err
		}
	}
	seenEXIF := false
	var pending byte // a marker found at the end of a scan, not yet handled
	for {
		marker := pending
		pending = 0
		if marker == 0 {
			var err error
			if marker, err = nextMarker(r); err != nil {
				return info, err
			}
		}
		switch {
		case marker == markerEOI:
			if w != nil {
				_, err := w.Write([]byte{0xff, markerEOI})
				return info, err
			}
			return info, fmt.Errorf("%w: jpeg: no image data", ErrCorrupt)
		case marker == markerSOI:
			return info, fmt.Errorf("%w: jpeg: SOI marker inside the image", ErrCorrupt)
		case marker == markerTEM || marker >= markerRST0 && marker <= markerRST7:
			continue // standalone markers out of place: meaningless, dropped
		}

		var lenBuf [2]byte
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			return info, truncated("jpeg", err)
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:])) - 2
		if n < 0 {
			return info, fmt.Errorf("%w: jpeg: bad segment length", ErrCorrupt)
		}

		if marker == markerSOS {
			if w == nil {
				return info, nil
			}
			if info.scans++; info.scans > maxScans {
				return info, fmt.Errorf("%w: jpeg has more than %d scans", ErrCorrupt, maxScans)
			}
			if err := copySegment(w, r, marker, lenBuf, n); err != nil {
				return info, err
			}
			var err error
			if pending, err = copyScan(w, r); err != nil {
				return info, err
			}
			continue
		}

		keepable := marker == markerAPP0 || marker == markerAPP2 || marker == markerAPP14
		isEXIF := marker == markerAPP1 && !seenEXIF
		if keepable || isEXIF {
			payload := make([]byte, n)
			if _, err := io.ReadFull(r, payload); err != nil {
				return info, truncated("jpeg", err)
			}
			if isEXIF && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
				seenEXIF = true
				info.orientation = exifOrientation(payload[6:])
			}
			keep, payload := keepSegment(marker, payload)
			if !keep {
				continue
			}
			seg := append([]byte{0xff, marker, 0, 0}, payload...)
			binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
			if marker == markerAPP2 {
				info.icc = append(info.icc, seg)
			}
			if w != nil {
				if _, err := w.Write(seg); err != nil {
					return info, err
				}
			}
			continue
		}
		if keep, _ := keepSegment(marker, nil); !keep || w == nil {
			if _, err := r.Discard(n); err != nil {
				return info, truncated("jpeg", err)
			}
			continue
		}
		if err := copySegment(w, r, marker, lenBuf, n); err != nil {
			return info, err
		}
	}
}

// nextMarker reads up to and including the next marker byte, skipping fill
// bytes and, as libjpeg does, any stray bytes before them.
func nextMarker(r *bufio.Reader) (byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, truncated("jpeg", err)
		}
		if c != 0xff {
			continue
		}
		for c == 0xff {
			if c, err = r.ReadByte(); err != nil {
				return 0, truncated("jpeg", err)
			}
		}
		if c != 0 {
			return c, nil
		}
	}
}

// copySegment writes a marker segment whose marker and length have been
// read, copying its n payload bytes from r.
func copySegment(w io.Writer, r io.Reader, marker byte, lenBuf [2]byte, n int) error {
	if _, err := w.Write([]byte{0xff, marker, lenBuf[0], lenBuf[1]}); err != nil {
		return err
	}
	if _, err := io.CopyN(w, r, int64(n)); err != nil {
		return truncated("jpeg", err)
	}
	return nil
}

// copyScan copies entropy-coded data (stuffed 0xFF00 bytes and RSTn markers
// included) from r to w, and returns the marker that ends it.
func copyScan(w io.Writer, r *bufio.Reader) (byte, error) {
	pair := []byte{0xff, 0} // a stuffed byte or an RST marker; allocated once
	for {
		chunk, err := r.ReadSlice(0xff)
		if errors.Is(err, bufio.ErrBufferFull) {
			if _, err := w.Write(chunk); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, truncated("jpeg", err)
		}
		if _, err := w.Write(chunk[:len(chunk)-1]); err != nil { // without the 0xFF
			return 0, err
		}
		c, err := r.ReadByte()
		for err == nil && c == 0xff { // fill bytes before a marker
			c, err = r.ReadByte()
		}
		if err != nil {
			return 0, truncated("jpeg", err)
		}
		if c == 0 || c >= markerRST0 && c <= markerRST7 {
			pair[1] = c
			if _, err := w.Write(pair); err != nil {
				return 0, err
			}
			continue
		}
		return c, nil
	}
}

// truncated turns an unexpected end of input into ErrCorrupt.
func truncated(format string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: file is truncated", ErrCorrupt, format)
	}
	return err
}
