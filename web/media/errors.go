package media

import "errors"

// Errors returned by Process, always wrapped with detail that is safe to show
// to the uploader (never a server path). Match them with errors.Is; the HTTP
// layer answers each with 422 and the wrapped message.
var (
	// ErrUnsupported: the content is not a format we accept (HTML, SVG, PDF,
	// animated WebP, AVI, an arithmetic-coded JPEG...). The name and the
	// declared Content-Type are never consulted.
	ErrUnsupported = errors.New("media: unsupported file type")

	// ErrTooLarge: the file is over Limits.MaxImageBytes or
	// Limits.MaxVideoBytes for its type.
	ErrTooLarge = errors.New("media: file too large")

	// ErrTooManyPixels: the image header declares more than
	// Limits.MaxImagePixels pixels (or a GIF's frames add up to more than
	// Limits.MaxAnimationPixels). Found before any pixel is decoded.
	ErrTooManyPixels = errors.New("media: image has too many pixels")

	// ErrCorrupt: the file is truncated or cannot be decoded.
	ErrCorrupt = errors.New("media: corrupt file")
)
