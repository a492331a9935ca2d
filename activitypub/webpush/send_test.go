package webpush_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub/webpush"
	"github.com/rhizome-fed/rhizome/activitypub/webpush/webpushtest"
)

func newSender(t *testing.T) *webpush.Sender {
	t.Helper()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return &webpush.Sender{Keys: keys, Subscriber: "mailto:admin@a.test"}
}

// waitOne waits for exactly one accepted message.
func waitOne(t *testing.T, svc *webpushtest.Service) webpushtest.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := svc.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("service accepted %d messages, want 1", len(got))
	}
	return got[0]
}

func TestSend(t *testing.T) {
	tests := []struct {
		name, subscriber, wantSub string
		ttl                       time.Duration
		wantTTL                   string
		urgency                   string
	}{
		{"mailto", "mailto:admin@a.test", "mailto:admin@a.test", 0, "172800", ""},
		{"https subscriber", "https://a.test/", "https://a.test/", time.Hour, "3600", webpush.UrgencyHigh},
		{"sub-second TTL", "mailto:admin@a.test", "mailto:admin@a.test", 1500 * time.Millisecond, "1", webpush.UrgencyVeryLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := webpushtest.NewService(t)
			sub := svc.NewSubscription()
			s := newSender(t)
			s.Subscriber, s.TTL = tt.subscriber, tt.ttl
			payload := []byte(`{"title":"Alice favourited your post","notification_id":"42"}`)
			if err := s.Send(t.Context(), sub, payload, tt.urgency); err != nil {
				t.Fatalf("Send: %v (service errors: %v)", err, svc.Errors())
			}
			m := waitOne(t, svc)
			if !bytes.Equal(m.Plaintext, payload) {
				t.Errorf("plaintext = %q, want %q", m.Plaintext, payload)
			}
			if m.Endpoint != sub.Endpoint || m.TTL != tt.wantTTL || m.Urgency != tt.urgency ||
				m.VAPIDSubject != tt.wantSub || m.VAPIDKey != s.Keys.Public {
				t.Errorf("received %+v; want endpoint %s, TTL %s, urgency %q, sub %q, key %s",
					m, sub.Endpoint, tt.wantTTL, tt.urgency, tt.wantSub, s.Keys.Public)
			}
			if errs := svc.Errors(); len(errs) != 0 {
				t.Errorf("service errors: %v", errs)
			}
		})
	}
}

func TestSend_payloadSizes(t *testing.T) {
	svc := webpushtest.NewService(t)
	sub := svc.NewSubscription()
	s := newSender(t)
	for _, n := range []int{0, 1, webpush.MaxPayload} {
		payload := bytes.Repeat([]byte{'x'}, n)
		if err := s.Send(t.Context(), sub, payload, ""); err != nil {
			t.Fatalf("Send of %d bytes: %v (service errors: %v)", n, err, svc.Errors())
		}
	}
	got := svc.Received()
	if len(got) != 3 || len(got[0].Plaintext) != 0 || len(got[1].Plaintext) != 1 || len(got[2].Plaintext) != webpush.MaxPayload {
		t.Fatalf("received %d messages: %v", len(got), got)
	}

	err := s.Send(t.Context(), sub, make([]byte, webpush.MaxPayload+1), "")
	if !errors.Is(err, webpush.ErrPayloadTooLarge) || !errors.Is(err, webpush.ErrRejected) {
		t.Errorf("Send of MaxPayload+1 bytes = %v, want ErrPayloadTooLarge and ErrRejected", err)
	}
	if n := len(svc.Received()); n != 3 {
		t.Errorf("oversized payload reached the service (%d messages)", n)
	}
}

// webpush-go writes its padding after the payload; the caller's spare
// capacity must stay untouched.
func TestSend_payloadNotModified(t *testing.T) {
	svc := webpushtest.NewService(t)
	sub := svc.NewSubscription()
	buf := []byte("hello, world|SPARE")
	payload := buf[:12]
	if err := newSender(t).Send(t.Context(), sub, payload, ""); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "hello, world|SPARE" {
		t.Errorf("Send wrote into the payload's backing array: %q", buf)
	}
	if m := waitOne(t, svc); string(m.Plaintext) != "hello, world" {
		t.Errorf("plaintext = %q", m.Plaintext)
	}
}

func TestSend_answers(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		retryAfter     string
		gone, rejected bool
		wantDelay      time.Duration
		hasDelay       bool
	}{
		{"404", http.StatusNotFound, "", true, false, 0, false},
		{"410", http.StatusGone, "", true, false, 0, false},
		{"400", http.StatusBadRequest, "", false, true, 0, false},
		{"403", http.StatusForbidden, "", false, true, 0, false},
		{"413", http.StatusRequestEntityTooLarge, "", false, true, 0, false},
		{"429", http.StatusTooManyRequests, "30", false, false, 30 * time.Second, true},
		{"500", http.StatusInternalServerError, "", false, false, 0, false},
		{"503 with date", http.StatusServiceUnavailable, "Sun, 06 Nov 1994 08:49:37 GMT", false, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := webpushtest.NewService(t)
			sub := svc.NewSubscription()
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			svc.Answer(sub, tt.status, h)
			err := newSender(t).Send(t.Context(), sub, []byte("hi"), "")
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if errors.Is(err, webpush.ErrGone) != tt.gone || errors.Is(err, webpush.ErrRejected) != tt.rejected {
				t.Errorf("Send = %v; Is(ErrGone)=%v Is(ErrRejected)=%v, want %v %v",
					err, errors.Is(err, webpush.ErrGone), errors.Is(err, webpush.ErrRejected), tt.gone, tt.rejected)
			}
			var se *webpush.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status {
				t.Errorf("Send = %v, want a *StatusError with %d", err, tt.status)
			}
			if d, ok := webpush.RetryAfter(err); d != tt.wantDelay || ok != tt.hasDelay {
				t.Errorf("RetryAfter = %v, %v; want %v, %v", d, ok, tt.wantDelay, tt.hasDelay)
			}
			if strings.Contains(err.Error(), sub.Endpoint) {
				t.Errorf("error %q shows the whole endpoint", err)
			}
		})
	}
}

func TestSend_gone(t *testing.T) {
	svc := webpushtest.NewService(t)
	live, dead := svc.NewSubscription(), svc.NewSubscription()
	svc.Gone(dead)
	s := newSender(t)
	if err := s.Send(t.Context(), dead, []byte("x"), ""); !errors.Is(err, webpush.ErrGone) {
		t.Errorf("Send to a gone subscription = %v, want ErrGone", err)
	}
	if err := s.Send(t.Context(), live, []byte("y"), ""); err != nil {
		t.Errorf("Send to a live subscription = %v", err)
	}
	if m := waitOne(t, svc); m.Endpoint != live.Endpoint {
		t.Errorf("received on %s, want %s", m.Endpoint, live.Endpoint)
	}
}

// A message the client cannot decrypt is refused by the push service as
// a browser would drop it; the sender sees a permanent rejection.
func TestSend_undecryptable(t *testing.T) {
	svc := webpushtest.NewService(t)
	sub := svc.NewSubscription()
	sub.Auth = svc.NewSubscription().Auth // another client's secret
	err := newSender(t).Send(t.Context(), sub, []byte("x"), "")
	if !errors.Is(err, webpush.ErrRejected) {
		t.Errorf("Send = %v, want ErrRejected", err)
	}
	if errs := svc.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "decrypt") {
		t.Errorf("service errors = %v, want one decryption failure", errs)
	}
	if n := len(svc.Received()); n != 0 {
		t.Errorf("service accepted %d messages", n)
	}
}

// Invalid input is refused before any request is made.
func TestSend_invalid(t *testing.T) {
	svc := webpushtest.NewService(t)
	good := svc.NewSubscription()
	otherKeys, _ := webpush.GenerateKeys()
	tests := []struct {
		name    string
		edit    func(*webpush.Sender, *webpush.Subscription)
		urgency string
	}{
		{"urgency", func(*webpush.Sender, *webpush.Subscription) {}, "urgent"},
		{"subscriber", func(s *webpush.Sender, _ *webpush.Subscription) { s.Subscriber = "admin@a.test" }, ""},
		{"no subscriber", func(s *webpush.Sender, _ *webpush.Subscription) { s.Subscriber = "" }, ""},
		{"keys", func(s *webpush.Sender, _ *webpush.Subscription) { s.Keys.Private = otherKeys.Private }, ""},
		{"endpoint", func(_ *webpush.Sender, sub *webpush.Subscription) { sub.Endpoint = "ftp://x/y" }, ""},
		{"p256dh", func(_ *webpush.Sender, sub *webpush.Subscription) { sub.P256dh = sub.Auth }, ""},
		{"auth", func(_ *webpush.Sender, sub *webpush.Subscription) { sub.Auth = sub.P256dh }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, sub := newSender(t), good
			tt.edit(s, &sub)
			if err := s.Send(t.Context(), sub, []byte("x"), tt.urgency); !errors.Is(err, webpush.ErrRejected) {
				t.Errorf("Send = %v, want ErrRejected", err)
			}
		})
	}
	if n, errs := len(svc.Received()), svc.Errors(); n != 0 || len(errs) != 0 {
		t.Errorf("invalid sends reached the service: %d accepted, refused %v", n, errs)
	}
}

func TestSend_temporaryNetworkErrors(t *testing.T) {
	svc := webpushtest.NewService(t)
	sub := svc.NewSubscription()
	s := newSender(t)

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.Send(ctx, sub, []byte("x"), "")
		if !errors.Is(err, context.Canceled) || errors.Is(err, webpush.ErrRejected) || errors.Is(err, webpush.ErrGone) {
			t.Errorf("Send with a canceled context = %v, want context.Canceled only", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		dead := sub
		dead.Endpoint = closed.URL + "/push/secret-token"
		err := s.Send(t.Context(), dead, []byte("x"), "")
		if err == nil || errors.Is(err, webpush.ErrRejected) || errors.Is(err, webpush.ErrGone) {
			t.Errorf("Send to a closed port = %v, want a temporary error", err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("error %q shows the endpoint path", err)
		}
	})
}
