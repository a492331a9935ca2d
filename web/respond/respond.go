package respond

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// BadRequest reports input that could not be decoded or is malformed.
type BadRequest struct {
	Reason string
}

func (e *BadRequest) Error() string { return e.Reason }

// classify maps an error to a status and a message safe to show. Anything
// unrecognised is a 500 whose cause is logged, never sent.
func classify(err error) (int, string) {
	var (
		bad      *BadRequest
		apBad    *activitypub.BadRequestError
		invalid  *activitypub.InvalidError
		notFound *activitypub.NotFoundError
		big      *http.MaxBytesError
	)
	switch {
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge, "Request body too large"
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.Error()
	case errors.As(err, &apBad):
		return http.StatusBadRequest, apBad.Error()
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, "Validation failed: " + invalid.Error()
	case errors.As(err, &notFound):
		return http.StatusNotFound, "Record not found"
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "Record not found"
	case errors.Is(err, activitypub.ErrSignature):
		return http.StatusUnauthorized, "Request signature missing or invalid"
	case errors.Is(err, activitypub.ErrForbidden):
		return http.StatusForbidden, "This action is not allowed"
	}
	return http.StatusInternalServerError, "Internal server error"
}

// Status returns the HTTP status Error would write for err.
func Status(err error) int {
	code, _ := classify(err)
	return code
}

// Error writes err as {"error": "..."} with the status classify picks. A 5xx
// is logged with its cause; a client that has gone away gets nothing.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	code, msg := classify(err)
	if code >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	JSON(w, code, map[string]string{"error": msg})
}

// ErrorMessage writes {"error": msg} with the given status, for errors that
// are a property of the request rather than a Go error (406, 405, 404).
func ErrorMessage(w http.ResponseWriter, code int, msg string) {
	JSON(w, code, map[string]string{"error": msg})
}

// JSON writes v as application/json.
func JSON(w http.ResponseWriter, code int, v any) {
	Encoded(w, code, "application/json; charset=utf-8", v)
}

// Encoded writes v as JSON under the given content type.
func Encoded(w http.ResponseWriter, code int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own values reach here; one that cannot encode is a bug.
		code = http.StatusInternalServerError
		body = []byte(`{"error":"Internal server error"}`)
		contentType = "application/json; charset=utf-8"
	}
	Raw(w, code, contentType, body)
}

// Raw writes an already encoded body.
func Raw(w http.ResponseWriter, code int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
