package media

import (
	"bytes"
	"encoding/binary"
	"net/http"
)

// sniffLen is how many leading bytes Sniff looks at.
const sniffLen = 512

// Attachment types, as the Mastodon API names them.
const (
	TypeImage = "image"
	TypeVideo = "video"
	TypeAudio = "audio"
)

// MIMETypes lists every type Process may store, sorted: what apps are
// told they may upload.
func MIMETypes() []string {
	return []string{"audio/aac", "audio/flac", "audio/mp4", "audio/mpeg", "audio/ogg", "audio/wave", "audio/webm",
		"image/gif", "image/jpeg", "image/png", "image/webp",
		"video/mp4", "video/ogg", "video/quicktime", "video/webm"}
}

// Sniff tells the MIME type and the attachment type (TypeImage, TypeVideo or
// TypeAudio) of content from its first bytes (up to 512 are looked at). It
// returns "", "" for anything that is not media we accept, including media
// formats we refuse (BMP, AVIF, HEIC, AVI, Matroska, AIFF...). It decides
// from the content alone, so it also tells whether a cached remote file may be
// served with the returned type.
func Sniff(head []byte) (mime, typ string) {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	// Our own sniffers first: they know formats http.DetectContentType
	// does not (QuickTime, FLAC, Ogg by codec) or tells too loosely (any
	// ISO BMFF file with an "mp4" brand, any EBML file as WebM).
	for _, s := range []func([]byte) (string, string){sniffISOBMFF, sniffEBML, sniffOgg, sniffFLAC, sniffMPEGAudio} {
		if mime, typ := s(head); mime != "" {
			return mime, typ
		}
	}
	switch ct := http.DetectContentType(head); ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return ct, TypeImage
	case "audio/mpeg", "audio/wave":
		return ct, TypeAudio
	}
	return "", ""
}

// sniffISOBMFF reads an ISO base media file's ftyp box: QuickTime, MP4 and
// M4A are accepted; HEIF and AVIF (still images in the same container) and
// unknown brands are not.
func sniffISOBMFF(head []byte) (string, string) {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return "", ""
	}
	size := int(binary.BigEndian.Uint32(head[:4]))
	if size < 16 || size%4 != 0 {
		return "", ""
	}
	end := min(size, len(head))
	brands := [][]byte{head[8:12]} // major brand, then compatible ones
	for i := 16; i+4 <= end; i += 4 {
		brands = append(brands, head[i:i+4])
	}
	var mp4, qt, m4a bool
	for _, b := range brands {
		switch string(b) {
		case "avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "crx ":
			return "", ""
		case "qt  ":
			qt = true
		case "M4A ", "M4B ":
			m4a = true
		case "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9",
			"mp41", "mp42", "mp71", "avc1", "dash", "M4V ", "M4VH", "M4VP", "mmp4", "MSNV", "NDAS", "f4v ":
			mp4 = true
		}
	}
	switch {
	case string(brands[0]) == "qt  ":
		return "video/quicktime", TypeVideo
	case m4a:
		return "audio/mp4", TypeAudio
	case mp4:
		return "video/mp4", TypeVideo
	case qt:
		return "video/quicktime", TypeVideo
	}
	return "", ""
}

// sniffEBML accepts an EBML file whose DocType is "webm"; plain Matroska is
// refused. WebM holding only audio is still reported as video here; Process
// corrects the type when ffprobe finds no video stream.
func sniffEBML(head []byte) (string, string) {
	if !bytes.HasPrefix(head, []byte{0x1a, 0x45, 0xdf, 0xa3}) {
		return "", ""
	}
	i := bytes.Index(head, []byte{0x42, 0x82}) // DocType element ID
	if i < 0 || i+3 > len(head) {
		return "", ""
	}
	n := int(head[i+2])
	if n&0x80 == 0 { // only one-byte sizes: DocType is a short string
		return "", ""
	}
	n &= 0x7f
	if i+3+n > len(head) {
		return "", ""
	}
	if string(bytes.TrimRight(head[i+3:i+3+n], "\x00")) == "webm" {
		return "video/webm", TypeVideo
	}
	return "", ""
}

// sniffOgg tells Ogg audio (Opus, Vorbis, FLAC, Speex) from Ogg Theora video
// by the first packet of the first page.
func sniffOgg(head []byte) (string, string) {
	if len(head) < 27 || string(head[:5]) != "OggS\x00" {
		return "", ""
	}
	p := 27 + int(head[26]) // after the segment table
	if p > len(head) {
		return "", ""
	}
	pkt := head[p:]
	for _, prefix := range []string{"OpusHead", "\x01vorbis", "\x7fFLAC", "Speex   "} {
		if bytes.HasPrefix(pkt, []byte(prefix)) {
			return "audio/ogg", TypeAudio
		}
	}
	if bytes.HasPrefix(pkt, []byte("\x80theora")) {
		return "video/ogg", TypeVideo
	}
	return "", ""
}

func sniffFLAC(head []byte) (string, string) {
	if bytes.HasPrefix(head, []byte("fLaC")) {
		return "audio/flac", TypeAudio
	}
	return "", ""
}

// sniffMPEGAudio accepts a raw MPEG-1/2/2.5 Layer III stream (MP3 without an
// ID3 tag; ID3-tagged files are left to http.DetectContentType) or an ADTS AAC
// stream. A second frame header must follow the first where the first says it
// ends, unless that lies beyond head.
func sniffMPEGAudio(head []byte) (string, string) {
	if n, ok := mp3FrameLen(head); ok {
		if n >= len(head) {
			return "audio/mpeg", TypeAudio
		}
		if _, ok := mp3FrameLen(head[n:]); ok {
			return "audio/mpeg", TypeAudio
		}
		return "", ""
	}
	if n, ok := adtsFrameLen(head); ok {
		if n >= len(head) {
			return "audio/aac", TypeAudio
		}
		if _, ok := adtsFrameLen(head[n:]); ok {
			return "audio/aac", TypeAudio
		}
	}
	return "", ""
}

var (
	mp3Bitrates1 = [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320} // MPEG-1 Layer III, kbit/s
	mp3Bitrates2 = [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}     // MPEG-2/2.5 Layer III
	mp3Rates     = [4][3]int{
		{11025, 12000, 8000},  // MPEG-2.5
		{},                    // reserved
		{22050, 24000, 16000}, // MPEG-2
		{44100, 48000, 32000}, // MPEG-1
	}
)

// mp3FrameLen validates an MPEG audio Layer III frame header at the start of
// b and returns the frame's length in bytes.
func mp3FrameLen(b []byte) (int, bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return 0, false
	}
	version := (b[1] >> 3) & 3
	layer := (b[1] >> 1) & 3
	bitrate := int(b[2] >> 4)
	rate := int((b[2] >> 2) & 3)
	if version == 1 || layer != 1 || bitrate == 0 || bitrate == 15 || rate == 3 {
		return 0, false
	}
	pad := int((b[2] >> 1) & 1)
	sr := mp3Rates[version][rate]
	if version == 3 {
		return 144000*mp3Bitrates1[bitrate]/sr + pad, true
	}
	return 72000*mp3Bitrates2[bitrate]/sr + pad, true
}

// adtsFrameLen validates an ADTS (AAC) frame header at the start of b and
// returns the frame's length in bytes.
func adtsFrameLen(b []byte) (int, bool) {
	if len(b) < 7 || b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return 0, false
	}
	if (b[2]>>2)&0xf >= 13 {
		return 0, false
	}
	n := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	if n < 7 {
		return 0, false
	}
	return n, true
}
