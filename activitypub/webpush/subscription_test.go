package webpush

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The client key and secret of RFC 8291, Appendix A (published test data).
const (
	rfcP256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcAuth   = "BTBZMqHH6r4Tts7J_aSIgg"
)

// toStd re-encodes a base64url value as padded standard base64.
func toStd(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestSubscriptionValidate(t *testing.T) {
	offCurve := append([]byte{4}, []byte(strings.Repeat("\x01", 64))...)
	compressed := append([]byte{2}, []byte(strings.Repeat("\x01", 32))...)
	b64 := base64.RawURLEncoding.EncodeToString
	good := Subscription{Endpoint: "https://push.example/send/abc", P256dh: rfcP256dh, Auth: rfcAuth}
	with := func(f func(*Subscription)) Subscription { s := good; f(&s); return s }

	tests := []struct {
		name      string
		sub       Subscription
		allowHTTP bool
		field     string // "" when valid
	}{
		{"valid", good, false, ""},
		{"padded std base64", with(func(s *Subscription) { s.P256dh, s.Auth = toStd(t, rfcP256dh), toStd(t, rfcAuth) }), false, ""},
		{"padded base64url", with(func(s *Subscription) { s.P256dh += "=" }), false, ""},
		{"http allowed", with(func(s *Subscription) { s.Endpoint = "http://127.0.0.1:8080/push/x" }), true, ""},
		{"http refused", with(func(s *Subscription) { s.Endpoint = "http://push.example/x" }), false, "endpoint"},
		{"empty endpoint", with(func(s *Subscription) { s.Endpoint = "" }), false, "endpoint"},
		{"relative endpoint", with(func(s *Subscription) { s.Endpoint = "/push/x" }), true, "endpoint"},
		{"not a URL", with(func(s *Subscription) { s.Endpoint = "https://[::1" }), false, "endpoint"},
		{"ftp scheme", with(func(s *Subscription) { s.Endpoint = "ftp://push.example/x" }), true, "endpoint"},
		{"no host", with(func(s *Subscription) { s.Endpoint = "https:///x" }), false, "endpoint"},
		{"opaque", with(func(s *Subscription) { s.Endpoint = "https:push.example" }), false, "endpoint"},
		{"port only", with(func(s *Subscription) { s.Endpoint = "https://:443/x" }), false, "endpoint"},
		{"user info", with(func(s *Subscription) { s.Endpoint = "https://u:p@push.example/x" }), false, "endpoint"},
		{"too long", with(func(s *Subscription) { s.Endpoint = "https://push.example/" + strings.Repeat("a", maxEndpoint) }), false, "endpoint"},
		{"empty p256dh", with(func(s *Subscription) { s.P256dh = "" }), false, "p256dh"},
		{"p256dh not base64", with(func(s *Subscription) { s.P256dh = "not base64!" }), false, "p256dh"},
		{"p256dh mixed alphabets", with(func(s *Subscription) { s.P256dh = strings.Replace(toStd(t, rfcP256dh), "+", "-", 1) }), false, "p256dh"},
		{"p256dh too much padding", with(func(s *Subscription) { s.P256dh += "===" }), false, "p256dh"},
		{"point off the curve", with(func(s *Subscription) { s.P256dh = b64(offCurve) }), false, "p256dh"},
		{"compressed point", with(func(s *Subscription) { s.P256dh = b64(compressed) }), false, "p256dh"},
		{"point at infinity", with(func(s *Subscription) { s.P256dh = b64([]byte{0}) }), false, "p256dh"},
		{"short auth", with(func(s *Subscription) { s.Auth = b64(make([]byte, 15)) }), false, "auth"},
		{"long auth", with(func(s *Subscription) { s.Auth = b64(make([]byte, 17)) }), false, "auth"},
		{"empty auth", with(func(s *Subscription) { s.Auth = "" }), false, "auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sub.Validate(tt.allowHTTP)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate(%v) = %v, want nil", tt.allowHTTP, err)
				}
				return
			}
			var se *SubscriptionError
			if !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("Validate(%v) = %v, want a *SubscriptionError for %s", tt.allowHTTP, err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %s", err, tt.field)
			}
		})
	}
}
