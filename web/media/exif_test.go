package media

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// byteOrder is what the TIFF builder needs of binary.LittleEndian and
// binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffEntry is one IFD entry for buildTIFF; data is the value already
// encoded in the file's byte order.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte
}

func tiffShortEntry(bo byteOrder, tag uint16, v uint16) tiffEntry {
	return tiffEntry{tag, tiffShort, 1, bo.AppendUint16(nil, v)}
}

func tiffASCIIEntry(tag uint16, s string) tiffEntry {
	return tiffEntry{tag, 2, uint32(len(s) + 1), append([]byte(s), 0)}
}

func tiffRationalEntry(bo byteOrder, tag uint16, vals ...[2]uint32) tiffEntry {
	var b []byte
	for _, v := range vals {
		b = bo.AppendUint32(b, v[0])
		b = bo.AppendUint32(b, v[1])
	}
	return tiffEntry{tag, 5, uint32(len(vals)), b}
}

// gpsSecondsBytes is the GPSLongitude seconds rational buildEXIF writes;
// finding these 8 bytes in a stored file means GPS data leaked.
func gpsSecondsBytes(bo byteOrder) []byte {
	return bo.AppendUint32(bo.AppendUint32(nil, 4012345), 100000)
}

// buildTIFF lays out a TIFF structure: header, IFD0, then the GPS IFD when
// gps is not nil (pointed to by a GPSInfo entry appended to IFD0), then the
// values longer than 4 bytes.
func buildTIFF(bo byteOrder, ifd0, gps []tiffEntry) []byte {
	if gps != nil {
		ifd0 = append(ifd0[:len(ifd0):len(ifd0)], tiffEntry{tag: 0x8825, typ: tiffLong, count: 1})
	}
	ifdSize := func(n int) int { return 2 + 12*n + 4 }
	gpsOff := 8 + ifdSize(len(ifd0))
	end := gpsOff
	if gps != nil {
		end += ifdSize(len(gps))
	}
	buf := make([]byte, end)
	if bo == byteOrder(binary.LittleEndian) {
		copy(buf, "II")
	} else {
		copy(buf, "MM")
	}
	bo.PutUint16(buf[2:], 42)
	bo.PutUint32(buf[4:], 8)
	writeIFD := func(off int, entries []tiffEntry) {
		bo.PutUint16(buf[off:], uint16(len(entries)))
		for i, e := range entries {
			p := off + 2 + 12*i
			bo.PutUint16(buf[p:], e.tag)
			bo.PutUint16(buf[p+2:], e.typ)
			bo.PutUint32(buf[p+4:], e.count)
			data := e.data
			if e.tag == 0x8825 {
				data = bo.AppendUint32(nil, uint32(gpsOff))
			}
			if len(data) <= 4 {
				copy(buf[p+8:p+12], data)
				continue
			}
			bo.PutUint32(buf[p+8:], uint32(len(buf)))
			buf = append(buf, data...)
			if len(buf)%2 == 1 {
				buf = append(buf, 0)
			}
		}
	}
	writeIFD(8, ifd0)
	if gps != nil {
		writeIFD(gpsOff, gps)
	}
	return buf
}

// buildEXIF returns an APP1 payload ("Exif\0\0" and TIFF) with a camera
// Make, the given Orientation (none when 0) and a GPS IFD with a position.
func buildEXIF(bo byteOrder, orientation int) []byte {
	ifd0 := []tiffEntry{tiffASCIIEntry(0x010f, "SecretCam")}
	if orientation != 0 {
		ifd0 = append(ifd0, tiffShortEntry(bo, tagOrientation, uint16(orientation)))
	}
	gps := []tiffEntry{
		{0x0000, 1, 4, []byte{2, 2, 0, 0}}, // GPSVersionID
		tiffASCIIEntry(0x0001, "N"),
		tiffRationalEntry(bo, 0x0002, [2]uint32{48, 1}, [2]uint32{51, 1}, [2]uint32{2950, 100}),
		tiffASCIIEntry(0x0003, "E"),
		tiffRationalEntry(bo, 0x0004, [2]uint32{2, 1}, [2]uint32{17, 1}, [2]uint32{4012345, 100000}),
	}
	return append([]byte("Exif\x00\x00"), buildTIFF(bo, ifd0, gps)...)
}

func TestExifOrientation(t *testing.T) {
	le, be := byteOrder(binary.LittleEndian), byteOrder(binary.BigEndian)
	type tc struct {
		name string
		tiff []byte
		want int
	}
	var tests []tc
	for _, bo := range []byteOrder{le, be} {
		for o := 1; o <= 8; o++ {
			tests = append(tests, tc{fmt.Sprintf("%s/%d", bo, o), buildEXIF(bo, o)[6:], o})
		}
		tests = append(tests,
			tc{fmt.Sprintf("%s/absent", bo), buildEXIF(bo, 0)[6:], 1},
			tc{fmt.Sprintf("%s/out_of_range", bo), buildEXIF(bo, 9)[6:], 1},
			tc{fmt.Sprintf("%s/long", bo), buildTIFF(bo, []tiffEntry{{tagOrientation, tiffLong, 1, bo.AppendUint32(nil, 6)}}, nil), 6},
			tc{fmt.Sprintf("%s/ascii_type", bo), buildTIFF(bo, []tiffEntry{{tagOrientation, 2, 2, []byte("6\x00")}}, nil), 1},
			tc{fmt.Sprintf("%s/two_values", bo), buildTIFF(bo, []tiffEntry{{tagOrientation, tiffShort, 2, bo.AppendUint16(bo.AppendUint16(nil, 6), 6)}}, nil), 1},
		)
	}
	good := buildEXIF(be, 6)[6:]
	badMagic := append([]byte(nil), good...)
	badMagic[3] = 43
	pastEnd := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(pastEnd[4:], uint32(len(good)))
	manyEntries := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(manyEntries[8:], 0xffff) // the orientation entry is still read, then the count runs out
	tests = append(tests,
		tc{"empty", nil, 1},
		tc{"short", []byte("MM\x00\x2a"), 1},
		tc{"bad_byte_order", append([]byte("XX"), good[2:]...), 1},
		tc{"bad_magic", badMagic, 1},
		tc{"ifd_past_end", pastEnd, 1},
		tc{"truncated_ifd", good[:8+2+12], 1}, // Make entry only
		tc{"count_past_end", manyEntries, 6},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.tiff); got != tt.want {
				t.Errorf("exifOrientation = %d, want %d", got, tt.want)
			}
		})
	}
}

func FuzzExifOrientation(f *testing.F) {
	f.Add(buildEXIF(binary.BigEndian, 6)[6:])
	f.Add(buildEXIF(binary.LittleEndian, 3)[6:])
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, tiff []byte) {
		if o := exifOrientation(tiff); o < 1 || o > 8 {
			t.Fatalf("exifOrientation = %d, want 1..8", o)
		}
	})
}
