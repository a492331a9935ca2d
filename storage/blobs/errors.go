package blobs

import "errors"

var (
	// ErrNotFound reports that no blob has the given hash.
	ErrNotFound = errors.New("blobs: not found")
	// ErrTooLarge reports content over the limit given to Put; nothing was
	// stored.
	ErrTooLarge = errors.New("blobs: too large")
	// ErrInvalidHash reports a name that is not 64 lower-case hex digits.
	ErrInvalidHash = errors.New("blobs: invalid hash")
)
