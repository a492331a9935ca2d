package oauth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(2, time.Minute, 3, clock.Now)
	steps := []struct {
		key     string
		advance time.Duration
		want    bool
		wait    time.Duration
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 20 * time.Second, false, 40 * time.Second},
		{"b", 0, true, 0},
		{"a", 40 * time.Second, true, 0}, // a's window is over
		{"c", 0, true, 0},
		{"d", 0, true, 0}, // full: the oldest window (b) is dropped
		{"a", 0, true, 0},
		{"a", 0, false, time.Minute},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		ok, wait := l.allow(s.key)
		if ok != s.want || wait != s.wait {
			t.Fatalf("step %d (%s): allow = %v, %v; want %v, %v", i, s.key, ok, wait, s.want, s.wait)
		}
		if len(l.hits) > 3 {
			t.Fatalf("step %d: %d keys tracked, bound is 3", i, len(l.hits))
		}
	}
	if _, ok := l.hits["b"]; ok {
		t.Fatal("b should have been evicted")
	}
}

func TestLimitKey(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"", "unknown"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.addr), func(t *testing.T) {
			addr, _ := netip.ParseAddr(tt.addr)
			if got := limitKey(addr); got != tt.want {
				t.Fatalf("limitKey(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}
