package streaming

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Errors a Backend wraps to refuse a token or a stream. Anything else it
// returns is answered as a 500 and logged.
var (
	// ErrUnauthorized: the token is unknown, expired or revoked (401).
	ErrUnauthorized = errors.New("streaming: unauthorized")
	// ErrForbidden: the token may not do this, e.g. it lacks a read scope (403).
	ErrForbidden = errors.New("streaming: forbidden")
	// ErrNotFound: the stream's object does not exist for this viewer, e.g.
	// a list that is not theirs (404).
	ErrNotFound = errors.New("streaming: not found")
)

// errSlow is the cause of a connection dropped because its queue was full.
var errSlow = errors.New("streaming: client too slow, queue full")

// errRevoked ends the connections of a credential that was revoked.
var errRevoked = errors.New("streaming: access token revoked")

// clientError is a refusal decided here, with the status and message the
// client gets: a missing parameter, an unknown stream, bad JSON.
type clientError struct {
	status int
	msg    string
}

func (e *clientError) Error() string { return e.msg }

func badRequest(msg string) error { return &clientError{http.StatusBadRequest, msg} }

// classify maps an error from this package or its Backend to a status and
// a message safe to send. Mastodon's streaming server uses these texts.
func classify(err error) (int, string) {
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		return ce.status, ce.msg
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "Invalid access token"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "This action is not allowed"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "Record not found"
	}
	return http.StatusInternalServerError, "An unexpected error occurred"
}

// errorBody is the JSON of a refusal: the HTTP body before an upgrade, and
// the frame sent over a WebSocket (which also carries the status).
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status,omitempty"`
}

// writeError answers an HTTP request with {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(errorBody{Error: msg}) // a struct of a string cannot fail
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
