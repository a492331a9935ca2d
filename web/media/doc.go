// Package media turns an uploaded file into what Rhizome stores and serves:
// the file stripped of metadata, a JPEG preview, its dims and a blurhash.
// Process does it all; Sniff alone tells whether content (an upload or a
// cached remote file) is media we accept and of which type.
//
// # Types
//
// The type always comes from the content (Sniff), never from a file name or
// a declared Content-Type. Accepted: JPEG, PNG (APNG too), GIF (animated
// too) and still WebP as images; MP4, QuickTime, WebM and Ogg Theora as
// video; MP3, AAC (ADTS), M4A, Ogg (Opus, Vorbis, FLAC), WAV and FLAC as
// audio. Everything else, SVG and HTML included, is ErrUnsupported.
//
// # Checks
//
// Before anything is decoded the file size is checked against the limit for
// its type (ErrTooLarge) and the dims its header declares against
// Limits.MaxImagePixels (ErrTooManyPixels), so a decompression bomb costs
// a header read. A GIF's frames are also counted and their areas added up
// before gif.DecodeAll holds them all. Every image is then decoded whole:
// truncated or undecodable files are ErrCorrupt.
//
// # Stripping
//
// Metadata (EXIF with its GPS position, XMP, IPTC, comments, text) never
// reaches the stored file. Where the container allows it, whole segments or
// chunks are dropped and the compressed pixels are copied untouched:
//   - JPEG: APP0 is kept only as a JFIF header without its thumbnail, APP2
//     only for ICC_PROFILE, APP14 only for Adobe (the colour transform); all
//     other APPn segments (APP1 EXIF and XMP, APP13 IPTC, MPF...) and COM are
//     dropped, and so is anything after EOI. When the EXIF Orientation is 2
//     to 8, the pixels are turned upright in place and re-encoded at quality
//     90 with the ICC profile, so that the image shows upright without EXIF.
//   - PNG: critical chunks, tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, pHYs, bKGD,
//     cICP, mDCV, cLLI and the APNG chunks are kept, whole with their CRCs;
//     tEXt, zTXt, iTXt, eXIf, tIME and unknown chunks are dropped.
//   - GIF: decoded and re-encoded with image/gif, which writes frames, palettes,
//     delays, disposal and the loop count and nothing else.
//   - WebP: VP8X, VP8, VP8L, ALPH and ICCP chunks are kept, EXIF, XMP and
//     unknown chunks dropped, the VP8X EXIF and XMP flags cleared and the
//     RIFF size fixed. Animated WebP is refused: x/image/webp cannot decode it.
//   - Video and audio, when ffmpeg and ffprobe are on PATH: streams copied
//     (-c copy) without global or stream metadata, chapters, cover art, data
//     or subtitle streams. Without them the upload is stored as it is, with
//     no preview and zero dims.
//
// # Previews
//
// Previews are JPEG (quality 80) fitting in 640x640, never enlarged, made
// from the upright image (a GIF's first frame, a video's first frame);
// transparent parts are laid on white. The blurhash (4x4 components) is
// computed from a 32-pixel-wide copy of the preview.
//
// # Resources
//
// At most one full-size decoded image is held at a time: orientation is
// applied in the decoded image's own memory and the preview is shrunk from
// it by a box filter before the final resampling. Files are streamed from
// disk, never read whole; ffmpeg and ffprobe run under
// Limits.CommandTimeout and the caller's context.
//
// # What it does not do
//
// It does not store files, name them, or know URLs: the caller moves
// Processed.File where it belongs and calls Cleanup. It does not transcode
// video or audio, convert GIFs to video ("gifv"), decode animated WebP, HEIC
// or AVIF, colour-manage previews (ICC profiles are kept in stored files but
// previews are made from the raw decoded values), strip metadata inside
// codec bitstreams (an H.264 encoder's SEI string survives -c copy), or
// detect what an image shows. It logs nothing: errors are returned.
//
// Decoding is Go's: what image/jpeg, image/png, image/gif and x/image/webp
// cannot decode is refused. Go 1.26's image/jpeg fails on progressive JPEGs
// with restart intervals (libjpeg's cjpeg -progressive -restart), so those
// are ErrCorrupt; arithmetic-coded and 12-bit JPEGs are ErrUnsupported.
package media
