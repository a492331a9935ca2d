package mastodon

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	l := limiter{now: func() time.Time { return now }, max: defaultRateLimit}
	for i := range defaultRateLimit {
		if ok, remaining, _ := l.allow("a"); !ok || remaining != defaultRateLimit-i-1 {
			t.Fatalf("request %d: ok %v remaining %d", i+1, ok, remaining)
		}
	}
	if ok, _, reset := l.allow("a"); ok || !reset.Equal(now.Add(rateWindow)) {
		t.Fatalf("request over the limit allowed (reset %v)", reset)
	}
	if ok, _, _ := l.allow("b"); !ok {
		t.Fatal("another key was limited")
	}
	now = now.Add(rateWindow)
	if ok, _, _ := l.allow("a"); !ok {
		t.Fatal("still limited in the next window")
	}
}
