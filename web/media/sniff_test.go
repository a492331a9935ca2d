package media

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// ftyp returns an ISO BMFF ftyp box with the given major and compatible
// brands.
func ftyp(major string, compatible ...string) []byte {
	body := append([]byte(major), 0, 0, 2, 0)
	for _, c := range compatible {
		body = append(body, c...)
	}
	box := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(box, "ftyp"...), body...)
}

// minimalMP4 is the smallest MP4 Sniff accepts: an ftyp box and an empty
// free box.
func minimalMP4() []byte {
	return append(ftyp("mp42", "mp42", "isom"), 0, 0, 0, 8, 'f', 'r', 'e', 'e')
}

// mp3Frame returns one silent MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz
// (417 bytes).
func mp3Frame() []byte {
	f := make([]byte, 417)
	copy(f, []byte{0xff, 0xfb, 0x90, 0x00})
	return f
}

// id3MP3 is an MP3 file as tagging tools leave it: an ID3v2 tag carrying a
// title, then frames.
func id3MP3() []byte {
	frame := append([]byte("TIT2\x00\x00\x00\x0b\x00\x00\x03"), "SECRET-TAG"...)
	tag := append([]byte("ID3\x04\x00\x00\x00\x00\x00"), byte(len(frame)))
	tag = append(tag, frame...)
	return append(append(tag, mp3Frame()...), mp3Frame()...)
}

// adtsFrames returns two ADTS (AAC-LC, 44.1 kHz, stereo) frames of 100
// bytes.
func adtsFrames() []byte {
	f := make([]byte, 100)
	copy(f, []byte{0xff, 0xf1, 0x50, 0x80, 100 >> 3, (100&7)<<5 | 0x1f, 0xfc})
	return append(append([]byte(nil), f...), f...)
}

// ebml returns an EBML header with the given DocType.
func ebml(docType string) []byte {
	body := []byte{0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0x82, byte(0x80 | len(docType))}
	body = append(body, docType...)
	body = append(body, 0x42, 0x87, 0x81, 0x04, 0x42, 0x85, 0x81, 0x02)
	return append([]byte{0x1a, 0x45, 0xdf, 0xa3, byte(0x80 | len(body))}, body...)
}

// oggPage returns the start of an Ogg stream whose first packet is pkt.
func oggPage(pkt string) []byte {
	h := append([]byte("OggS\x00\x02"), make([]byte, 20)...) // granule, serial, sequence, CRC
	h = append(h, 1, byte(len(pkt)))
	return append(h, pkt...)
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name      string
		head      []byte
		mime, typ string
	}{
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg", TypeImage},
		{"png", []byte(pngSignature + "\x00\x00\x00\x0dIHDR"), "image/png", TypeImage},
		{"gif87", []byte("GIF87a\x01\x00\x01\x00"), "image/gif", TypeImage},
		{"gif89", []byte("GIF89a\x01\x00\x01\x00"), "image/gif", TypeImage},
		{"webp", []byte("RIFF\x20\x00\x00\x00WEBPVP8 \x14\x00\x00\x00"), "image/webp", TypeImage},
		{"mp4", minimalMP4(), "video/mp4", TypeVideo},
		{"mp4_isom", ftyp("isom", "isom", "iso2", "avc1", "mp41"), "video/mp4", TypeVideo},
		{"mp4_camera_brand", ftyp("XAVC", "XAVC", "mp42", "iso2"), "video/mp4", TypeVideo},
		{"quicktime", ftyp("qt  ", "qt  "), "video/quicktime", TypeVideo},
		{"m4a", ftyp("M4A ", "M4A ", "mp42", "isom"), "audio/mp4", TypeAudio},
		{"webm", ebml("webm"), "video/webm", TypeVideo},
		{"ogg_opus", oggPage("OpusHead\x01\x02"), "audio/ogg", TypeAudio},
		{"ogg_vorbis", oggPage("\x01vorbis\x00\x00"), "audio/ogg", TypeAudio},
		{"ogg_flac", oggPage("\x7fFLAC\x01\x00"), "audio/ogg", TypeAudio},
		{"ogg_theora", oggPage("\x80theora\x03\x02"), "video/ogg", TypeVideo},
		{"flac", []byte("fLaC\x00\x00\x00\x22"), "audio/flac", TypeAudio},
		{"wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), "audio/wave", TypeAudio},
		{"mp3_id3", id3MP3(), "audio/mpeg", TypeAudio},
		{"mp3_frames", append(mp3Frame(), mp3Frame()...), "audio/mpeg", TypeAudio},
		{"mp3_one_frame_in_head", append(mp3Frame(), 0), "", ""}, // the next header is not there
		{"aac_adts", adtsFrames(), "audio/aac", TypeAudio},

		{"matroska", ebml("matroska"), "", ""},
		{"heic", ftyp("heic", "mif1", "heic"), "", ""},
		{"avif_compatible", ftyp("mif1", "avif", "mif1"), "", ""},
		{"mp4_with_avif_brand", ftyp("isom", "avif"), "", ""},
		{"ftyp_unknown", ftyp("abcd", "efgh"), "", ""},
		{"ftyp_short", []byte("\x00\x00\x00\x08ftyp"), "", ""},
		{"ogg_unknown", oggPage("\x00nothing"), "", ""},
		{"avi", []byte("RIFF\x24\x00\x00\x00AVI LIST"), "", ""},
		{"aiff", []byte("FORM\x00\x00\x00\x24AIFFCOMM"), "", ""},
		{"midi", []byte("MThd\x00\x00\x00\x06"), "", ""},
		{"bmp", append([]byte("BM"), make([]byte, 30)...), "", ""},
		{"ico", []byte("\x00\x00\x01\x00\x01\x00"), "", ""},
		{"html", []byte("<!DOCTYPE html><html>"), "", ""},
		{"html_space", []byte("  \n<html><body>"), "", ""},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg">`), "", ""},
		{"svg_xml", []byte(`<?xml version="1.0"?><svg>`), "", ""},
		{"pdf", []byte("%PDF-1.4"), "", ""},
		{"zip", []byte("PK\x03\x04"), "", ""},
		{"text", []byte("hello"), "", ""},
		{"empty", nil, "", ""},
		{"mp3_bad_layer", append([]byte{0xff, 0xff, 0x90, 0x00}, make([]byte, 600)...), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mime, typ := Sniff(tt.head)
			if mime != tt.mime || typ != tt.typ {
				t.Errorf("Sniff = %q, %q; want %q, %q", mime, typ, tt.mime, tt.typ)
			}
		})
	}
}

// Only the first 512 bytes count: a second MP3 frame header past them is
// not looked for.
func TestSniff_onlyHead(t *testing.T) {
	frame := make([]byte, 1044) // 320 kbit/s, 44.1 kHz
	copy(frame, []byte{0xff, 0xfb, 0xe0, 0x00})
	long := append(frame, bytes.Repeat([]byte{0}, 2000)...)
	if mime, _ := Sniff(long); mime != "audio/mpeg" {
		t.Errorf("Sniff = %q, want audio/mpeg", mime)
	}
}

func FuzzSniff(f *testing.F) {
	for _, b := range [][]byte{minimalMP4(), id3MP3(), adtsFrames(), ebml("webm"), oggPage("OpusHead"), []byte("GIF89a")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		mime, typ := Sniff(head)
		if (mime == "") != (typ == "") {
			t.Fatalf("Sniff = %q, %q", mime, typ)
		}
		switch typ {
		case "", TypeImage, TypeVideo, TypeAudio:
		default:
			t.Fatalf("unknown type %q", typ)
		}
		if len(head) > sniffLen {
			if m2, t2 := Sniff(head[:sniffLen]); m2 != mime || t2 != typ {
				t.Fatal("bytes past 512 changed the answer")
			}
		}
	})
}
