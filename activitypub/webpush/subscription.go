package webpush

import (
	"crypto/ecdh"
	"fmt"
	"net/url"
)

// Subscription is a client's push subscription, as Mastodon's API receives
// it in subscription[endpoint], subscription[keys][p256dh] and
// subscription[keys][auth].
type Subscription struct {
	Endpoint string // push service URL; a capability, keep it out of logs
	P256dh   string // client's uncompressed P-256 public key, base64
	Auth     string // client's 16-byte authentication secret, base64
}

// maxEndpoint bounds the endpoint URL; real ones are a few hundred bytes.
const maxEndpoint = 4096

// SubscriptionError reports an invalid subscription. Field is "endpoint",
// "p256dh" or "auth".
type SubscriptionError struct {
	Field  string
	Reason string
}

func (e *SubscriptionError) Error() string {
	return "webpush: subscription " + e.Field + ": " + e.Reason
}

// Validate checks that Endpoint is an absolute https URL with a host (http
// is allowed too when allowHTTP is set, for tests), that P256dh decodes
// (base64url or standard base64, padded or not) to an uncompressed P-256
// point and that Auth decodes to 16 bytes. The error is a
// *SubscriptionError naming the first bad field.
func (s Subscription) Validate(allowHTTP bool) error {
	if err := validateEndpoint(s.Endpoint, allowHTTP); err != nil {
		return err
	}
	if _, err := decodeP256dh(s.P256dh); err != nil {
		return err
	}
	_, err := decodeAuth(s.Auth)
	return err
}

func validateEndpoint(endpoint string, allowHTTP bool) error {
	bad := func(reason string) error { return &SubscriptionError{Field: "endpoint", Reason: reason} }
	if endpoint == "" {
		return bad("missing")
	}
	if len(endpoint) > maxEndpoint {
		return bad(fmt.Sprintf("longer than %d bytes", maxEndpoint))
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return bad("not a URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return bad("not an https URL")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return bad("has no host")
	}
	if u.User != nil {
		return bad("has user information")
	}
	return nil
}

func decodeP256dh(s string) ([]byte, error) {
	b, err := decodeBase64(s)
	if err != nil {
		return nil, &SubscriptionError{Field: "p256dh", Reason: err.Error()}
	}
	if len(b) != 65 || b[0] != 4 {
		return nil, &SubscriptionError{Field: "p256dh", Reason: "not an uncompressed P-256 point"}
	}
	if _, err := ecdh.P256().NewPublicKey(b); err != nil {
		return nil, &SubscriptionError{Field: "p256dh", Reason: "not a point on P-256"}
	}
	return b, nil
}

func decodeAuth(s string) ([]byte, error) {
	b, err := decodeBase64(s)
	if err != nil {
		return nil, &SubscriptionError{Field: "auth", Reason: err.Error()}
	}
	if len(b) != 16 {
		return nil, &SubscriptionError{Field: "auth", Reason: fmt.Sprintf("is %d bytes, want 16", len(b))}
	}
	return b, nil
}
