package webpushtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub/webpush"
)

// roundTripFunc lets a test change a request on its way to the service.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// sender returns a Sender whose requests pass through edit first.
func sender(t *testing.T, edit func(*http.Request)) *webpush.Sender {
	t.Helper()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return &webpush.Sender{
		Keys:       keys,
		Subscriber: "mailto:admin@a.test",
		Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if edit != nil {
				edit(r)
			}
			return http.DefaultTransport.RoundTrip(r)
		})},
	}
}

func TestService_accepts(t *testing.T) {
	svc := NewService(t)
	a, b := svc.NewSubscription(), svc.NewSubscription()
	if a.Endpoint == b.Endpoint || a.P256dh == b.P256dh || a.Auth == b.Auth {
		t.Fatalf("two subscriptions share values: %+v %+v", a, b)
	}
	for _, sub := range []webpush.Subscription{a, b} {
		if err := sub.Validate(true); err != nil {
			t.Fatalf("NewSubscription gave an invalid subscription: %v", err)
		}
		if !strings.HasPrefix(sub.Endpoint, svc.URL()+"/") {
			t.Errorf("endpoint %s is not on %s", sub.Endpoint, svc.URL())
		}
	}
	s := sender(t, nil)
	for i, sub := range []webpush.Subscription{a, b, a} {
		if err := s.Send(t.Context(), sub, []byte{'0' + byte(i)}, webpush.UrgencyLow); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := svc.Wait(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ endpoint, text string }{{a.Endpoint, "0"}, {b.Endpoint, "1"}, {a.Endpoint, "2"}} {
		m := got[i]
		if m.Endpoint != want.endpoint || string(m.Plaintext) != want.text || m.Urgency != "low" ||
			m.TTL != "172800" || !strings.HasPrefix(m.Authorization, "vapid t=") ||
			m.VAPIDSubject != "mailto:admin@a.test" || m.VAPIDKey != s.Keys.Public {
			t.Errorf("message %d = %+v", i, m)
		}
	}
	got[0].Plaintext[0] = 'X'
	if again := svc.Received(); string(again[0].Plaintext) != "0" {
		t.Errorf("Received shares memory with its caller: %q", again[0].Plaintext)
	}
	if errs := svc.Errors(); len(errs) != 0 {
		t.Errorf("Errors() = %v", errs)
	}
}

func TestService_refuses(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*http.Request)
		status  int
		wantErr string
	}{
		{"no TTL", func(r *http.Request) { r.Header.Del("TTL") }, 400, "TTL"},
		{"negative TTL", func(r *http.Request) { r.Header.Set("TTL", "-1") }, 400, "TTL"},
		{"bad urgency", func(r *http.Request) { r.Header.Set("Urgency", "now") }, 400, "urgency"},
		{"aesgcm", func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }, 400, "content encoding"},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, 400, "VAPID"},
		{"other key", func(r *http.Request) {
			other, _ := webpush.GenerateKeys()
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, "k=")+2]+other.Public)
		}, 400, "does not verify"},
		{"wrong host", func(r *http.Request) { r.Host = "push.test" }, 400, "aud"},
		{"corrupt body", func(r *http.Request) { r.Body = corrupt(r.Body) }, 400, "decrypt"},
		{"too large", func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(make([]byte, 4097))), 4097
		}, 413, "over 4096"},
		{"GET", func(r *http.Request) { r.Method = http.MethodGet }, 405, "want POST"},
		{"unknown endpoint", func(r *http.Request) { r.URL.Path = "/push/nobody" }, 404, "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := NewService(t)
			sub := svc.NewSubscription()
			err := sender(t, tt.edit).Send(t.Context(), sub, []byte("hi"), "")
			var se *webpush.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status {
				t.Fatalf("Send = %v, want status %d", err, tt.status)
			}
			errs := svc.Errors()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr) {
				t.Errorf("Errors() = %v, want one containing %q", errs, tt.wantErr)
			}
			if n := len(svc.Received()); n != 0 {
				t.Errorf("%d messages accepted", n)
			}
		})
	}
}

// corrupt flips one bit in the last byte of a body.
func corrupt(body io.ReadCloser) io.ReadCloser {
	b, _ := io.ReadAll(body)
	body.Close()
	b[len(b)-1] ^= 1
	return io.NopCloser(bytes.NewReader(b))
}

func TestService_answer(t *testing.T) {
	svc := NewService(t)
	sub := svc.NewSubscription()
	s := sender(t, nil)

	svc.Gone(sub)
	if err := s.Send(t.Context(), sub, []byte("1"), ""); !errors.Is(err, webpush.ErrGone) {
		t.Errorf("Send after Gone = %v, want ErrGone", err)
	}
	svc.Answer(sub, http.StatusTooManyRequests, http.Header{"Retry-After": {"9"}})
	err := s.Send(t.Context(), sub, []byte("2"), "")
	if d, ok := webpush.RetryAfter(err); !ok || d != 9*time.Second {
		t.Errorf("Send while rate limited = %v, RetryAfter %v %v; want 9s", err, d, ok)
	}
	svc.Answer(sub, 0, nil)
	if err := s.Send(t.Context(), sub, []byte("3"), ""); err != nil {
		t.Errorf("Send after Answer(0) = %v", err)
	}
	if got := svc.Received(); len(got) != 1 || string(got[0].Plaintext) != "3" {
		t.Errorf("Received() = %v, want only message 3", got)
	}
	if errs := svc.Errors(); len(errs) != 0 {
		t.Errorf("answered messages were recorded as errors: %v", errs)
	}
}

func TestService_waitTimeout(t *testing.T) {
	svc := NewService(t)
	sub := svc.NewSubscription()
	sub.Auth = svc.NewSubscription().Auth
	_ = sender(t, nil).Send(t.Context(), sub, []byte("x"), "")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := svc.Wait(ctx, 1)
	if !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("Wait = %v, %v; want context.Canceled", got, err)
	}
	if !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("Wait error %q does not show the refused message", err)
	}
	if got, err := svc.Wait(ctx, 0); err != nil || len(got) != 0 {
		t.Errorf("Wait(0) = %v, %v; want no messages, no error", got, err)
	}
}

// Wait wakes up for messages that arrive while it waits.
func TestService_waitConcurrent(t *testing.T) {
	svc := NewService(t)
	sub := svc.NewSubscription()
	s := sender(t, nil)
	const n = 8
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- s.Send(t.Context(), sub, []byte{byte(i)}, "") }()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := svc.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	seen := map[byte]bool{}
	for _, m := range got {
		seen[m.Plaintext[0]] = true
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("got %d messages, %d distinct; want %d", len(got), len(seen), n)
	}
}
