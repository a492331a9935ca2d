package activitypub

import (
	"net/http"
	"testing"
	"time"
)

func TestClassifyDelivery(t *testing.T) {
	tests := []struct {
		status int
		want   deliveryOutcome
	}{
		{200, delivered}, {202, delivered}, {204, delivered},
		{400, deliveryFinalFailure}, {403, deliveryFinalFailure}, {404, deliveryFinalFailure},
		{410, deliveryFinalFailure}, {422, deliveryFinalFailure}, {501, deliveryFinalFailure},
		{401, deliveryRetry}, {408, deliveryRetry}, {429, deliveryRetry},
		{500, deliveryRetry}, {502, deliveryRetry}, {503, deliveryRetry}, {504, deliveryRetry},
	}
	for _, tt := range tests {
		if got := classifyDelivery(tt.status); got != tt.want {
			t.Errorf("status %d: %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 30 ", 30 * time.Second},
		{"-5", 0},
		{"soon", 0},
		{now.Add(10 * time.Minute).Format(http.TimeFormat), 10 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999", deliveryMaxBackoff},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("Retry-After %q: %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestDeliveryBackoff: doubling from the base with ±25% jitter, capped at
// six hours; at least three days of attempts fit before give-up.
func TestDeliveryBackoff(t *testing.T) {
	base := 30 * time.Second
	for attempt := 1; attempt <= 20; attempt++ {
		want := base << min(attempt-1, 20)
		if want > deliveryMaxBackoff || want <= 0 {
			want = deliveryMaxBackoff
		}
		for range 50 {
			got := deliveryBackoff(base, attempt)
			if got < want*3/4 || got > want*5/4 {
				t.Fatalf("attempt %d: %v outside %v ±25%%", attempt, got, want)
			}
		}
	}
	var total time.Duration
	attempts := 0
	for total < defaultDeliveryMaxAge {
		attempts++
		total += deliveryBackoff(base, attempts)
	}
	if attempts < 15 {
		t.Fatalf("only %d attempts in %v", attempts, defaultDeliveryMaxAge)
	}
}
