package media

import "encoding/binary"

// TIFF tag and field types the orientation reader needs (TIFF 6.0, EXIF 2.3).
const (
	tagOrientation = 0x0112
	tiffShort      = 3
	tiffLong       = 4
)

// exifOrientation returns the Orientation tag (1..8) of IFD0 in tiff, the
// TIFF structure that follows "Exif\0\0" in an APP1 segment. It returns 1
// (upright) when the tag is absent or anything about it is malformed: a
// broken EXIF block must not make an image unusable, since it is dropped
// anyway.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return 1
	}
	count := int64(bo.Uint16(tiff[ifd:]))
	for i := range count {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(tiff)) {
			return 1
		}
		entry := tiff[e : e+12]
		if bo.Uint16(entry) != tagOrientation {
			continue
		}
		if bo.Uint32(entry[4:]) != 1 { // value count
			return 1
		}
		var v uint32
		switch bo.Uint16(entry[2:]) {
		case tiffShort:
			v = uint32(bo.Uint16(entry[8:])) // left-justified in the value field
		case tiffLong:
			v = bo.Uint32(entry[8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}
