package storage

import "errors"

var (
	// ErrNotFound reports that a looked-up record does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrExists reports that a record with the same unique key (ID, URI,
	// username or email) already exists.
	ErrExists = errors.New("storage: already exists")
	// ErrCorrupt reports a structural problem in the file: a missing bucket
	// or an undecodable record.
	ErrCorrupt = errors.New("storage: corrupt")
	// ErrSchemaTooNew reports a file written by a newer Rhizome whose schema
	// this build does not know.
	ErrSchemaTooNew = errors.New("storage: schema is newer than this build")
	// ErrLocked reports that another process holds the database file.
	ErrLocked = errors.New("storage: database is in use by another process")
)
