package webpush

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"
)

// MaxPayload is the largest payload Send accepts. webpush-go pads every
// message into one 4096-byte record, the most RFC 8291 lets a push service
// require it to take; the record header takes 86 bytes, the AES-GCM tag 16
// and the padding delimiter 1.
const MaxPayload = 4096 - 86 - 16 - 1

// Urgency values (RFC 8030, section 5.3) for Send. An empty urgency sends
// no header, which push services treat as normal.
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

const (
	defaultTTL  = 48 * time.Hour
	maxErrBody  = 256      // bytes of an error answer kept in StatusError.Body
	maxDrainLen = 64 << 10 // bytes read to let the connection be reused
)

// Sender sends encrypted notifications. Its fields are read on every Send
// and must not change while Sends run; the zero TTL and Client are usable,
// Keys and Subscriber are required.
type Sender struct {
	Client     *http.Client  // nil: http.DefaultClient; the server passes its SSRF-guarded client
	Keys       Keys          // the instance's VAPID key pair
	Subscriber string        // VAPID JWT "sub": "mailto:admin@example.org" or "https://example.org/"
	TTL        time.Duration // how long the push service keeps an undelivered message, in whole seconds; 0: 48h
}

// Send encrypts payload for sub (RFC 8291, aes128gcm) and POSTs it to the
// subscription's endpoint with a VAPID Authorization header. urgency is one
// of the Urgency constants or "".
//
// It returns nil on a 2xx answer; an error matching ErrGone on 404 or 410;
// an error matching ErrRejected on any other 4xx but 429, or when payload
// (over MaxPayload bytes), urgency, sub or the Sender's own Keys or
// Subscriber are invalid, in which case nothing is sent. Any other error,
// including a 429, a 5xx or a network failure, is temporary: retry later,
// and not before RetryAfter(err) when it reports a delay. Errors name the
// endpoint's host only, never its full URL.
//
// Send checks sub's structure with Validate(true): whether plain http
// endpoints are acceptable is decided when the subscription is registered.
func (s *Sender) Send(ctx context.Context, sub Subscription, payload []byte, urgency string) error {
	if len(payload) > MaxPayload {
		return &permanentError{fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(payload), MaxPayload)}
	}
	switch urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return &permanentError{fmt.Errorf("webpush: urgency %q is not very-low, low, normal or high", urgency)}
	}
	if err := validateEndpoint(sub.Endpoint, true); err != nil {
		return &permanentError{err}
	}
	p256dh, err := decodeP256dh(sub.P256dh)
	if err != nil {
		return &permanentError{err}
	}
	auth, err := decodeAuth(sub.Auth)
	if err != nil {
		return &permanentError{err}
	}
	pub, priv, err := s.Keys.decode()
	if err != nil {
		return &permanentError{err}
	}
	subscriber, err := vapidSubscriber(s.Subscriber)
	if err != nil {
		return &permanentError{err}
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = defaultTTL
	}
	var client webpushgo.HTTPClient = http.DefaultClient
	if s.Client != nil {
		client = s.Client
	}
	host := hostOf(sub.Endpoint)

	b64 := base64.RawURLEncoding.EncodeToString
	resp, err := webpushgo.SendNotificationWithContext(ctx,
		// webpush-go appends the padding to the payload's backing array:
		// clip it so the caller's spare capacity is never written.
		slices.Clip(payload),
		&webpushgo.Subscription{
			Endpoint: sub.Endpoint,
			Keys:     webpushgo.Keys{P256dh: b64(p256dh), Auth: b64(auth)},
		},
		&webpushgo.Options{
			HTTPClient:      client,
			VAPIDPublicKey:  b64(pub),
			VAPIDPrivateKey: b64(priv),
			Subscriber:      subscriber,
			TTL:             int(ttl / time.Second),
			Urgency:         webpushgo.Urgency(urgency),
		})
	if err != nil {
		var uerr *url.Error
		switch {
		case errors.As(err, &uerr):
			// url.Error's text holds the whole endpoint; keep only the cause.
			return fmt.Errorf("webpush: post to %s: %w", host, uerr.Err)
		case errors.Is(err, webpushgo.ErrMaxPadExceeded):
			return &permanentError{fmt.Errorf("%w: %w", ErrPayloadTooLarge, err)}
		}
		return fmt.Errorf("webpush: send to %s: %w", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainLen))
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainLen))
	serr := &StatusError{
		StatusCode: resp.StatusCode,
		Host:       host,
		Body:       strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD")),
	}
	serr.retryAfter, serr.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return serr
}

// vapidSubscriber turns Sender.Subscriber into what webpush-go v1.4.0
// wants: it prefixes "mailto:" to anything that does not start with
// "https:", so a mailto: URI must lose its scheme first.
func vapidSubscriber(sub string) (string, error) {
	const mailto = "mailto:"
	switch {
	case len(sub) > len(mailto) && strings.EqualFold(sub[:len(mailto)], mailto):
		addr := sub[len(mailto):]
		if strings.HasPrefix(addr, "https:") {
			break
		}
		return addr, nil
	case strings.HasPrefix(sub, "https://") && len(sub) > len("https://"):
		return sub, nil
	}
	return "", fmt.Errorf("webpush: Sender.Subscriber %q is neither a mailto: nor an https:// URI", sub)
}

// hostOf returns the endpoint's host for error messages.
func hostOf(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "(invalid endpoint)"
}
