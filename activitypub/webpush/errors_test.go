package webpush

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Sun, 06 Nov 1994 08:49:37 GMT", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestStatusError_classes(t *testing.T) {
	tests := []struct {
		code           int
		gone, rejected bool
	}{
		{400, false, true},
		{401, false, true},
		{403, false, true},
		{404, true, false},
		{410, true, false},
		{413, false, true},
		{429, false, false},
		{500, false, false},
		{502, false, false},
		{503, false, false},
		{301, false, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			var err error = &StatusError{StatusCode: tt.code, Host: "push.example"}
			if errors.Is(err, ErrGone) != tt.gone || errors.Is(err, ErrRejected) != tt.rejected {
				t.Errorf("%d: Is(ErrGone)=%v Is(ErrRejected)=%v, want %v %v",
					tt.code, errors.Is(err, ErrGone), errors.Is(err, ErrRejected), tt.gone, tt.rejected)
			}
		})
	}
}

func TestVAPIDSubscriber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"mailto:admin@a.test", "admin@a.test", true},
		{"MAILTO:admin@a.test", "admin@a.test", true},
		{"https://a.test/", "https://a.test/", true},
		{"https://a.test", "https://a.test", true},
		{"admin@a.test", "", false},
		{"http://a.test/", "", false},
		{"mailto:", "", false},
		{"https://", "", false},
		{"mailto:https://a.test", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := vapidSubscriber(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("vapidSubscriber(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}
