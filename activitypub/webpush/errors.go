package webpush

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrGone reports that the push service no longer knows the
	// subscription (404 or 410): the caller should delete it.
	ErrGone = errors.New("webpush: subscription gone")
	// ErrRejected reports a permanent failure for this message: the push
	// service answered a 4xx other than 404, 410 and 429, or Send found the
	// payload, urgency, subscription or the Sender's own settings invalid
	// before sending. Do not retry.
	ErrRejected = errors.New("webpush: rejected")
	// ErrPayloadTooLarge reports a payload over MaxPayload bytes. Send's
	// error matches ErrRejected too.
	ErrPayloadTooLarge = errors.New("webpush: payload too large")
)

// StatusError is a push service's answer other than 2xx. It matches ErrGone
// or ErrRejected with errors.Is when the status is permanent; a 429 or 5xx
// matches neither (temporary).
type StatusError struct {
	StatusCode int
	Host       string // host of the endpoint; the full URL is a capability and stays out of logs
	Body       string // start of the response body, for diagnostics

	retryAfter    time.Duration
	hasRetryAfter bool
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webpush: push service %s answered %d %s", e.Host, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// Unwrap returns ErrGone, ErrRejected or nil depending on the status code.
func (e *StatusError) Unwrap() error {
	switch {
	case e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone:
		return ErrGone
	case e.StatusCode == http.StatusTooManyRequests:
		return nil
	case e.StatusCode >= 400 && e.StatusCode < 500:
		return ErrRejected
	}
	return nil
}

// RetryAfter reports the delay the push service asked for with a
// Retry-After header, if err carries one. A date in the past gives 0.
func RetryAfter(err error) (time.Duration, bool) {
	var se *StatusError
	if errors.As(err, &se) && se.hasRetryAfter {
		return se.retryAfter, true
	}
	return 0, false
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if strings.HasPrefix(v, "-") {
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// permanentError marks an error found before sending as ErrRejected while
// keeping its own chain (e.g. ErrPayloadTooLarge, *SubscriptionError).
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{e.err, ErrRejected} }
