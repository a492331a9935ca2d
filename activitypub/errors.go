package activitypub

import (
	"errors"

	"github.com/rhizome-fed/rhizome/storage"
)

// ErrForbidden reports an action the actor is not allowed to take.
var ErrForbidden = errors.New("activitypub: forbidden")

// InvalidError reports input that is well-formed but not allowed: a taken
// username, a weak password. Its message names the field.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + " " + e.Reason }

// NotFoundError reports that a named thing does not exist. It matches
// storage.ErrNotFound with errors.Is.
type NotFoundError struct {
	What string // e.g. `local account "bob"`
}

func (e *NotFoundError) Error() string { return e.What + " not found" }

// Unwrap lets errors.Is(err, storage.ErrNotFound) match.
func (e *NotFoundError) Unwrap() error { return storage.ErrNotFound }

// BadRequestError reports malformed input from the network, such as an
// unparsable WebFinger resource.
type BadRequestError struct {
	Reason string
}

func (e *BadRequestError) Error() string { return e.Reason }
