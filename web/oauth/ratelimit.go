package oauth

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// limiter allows each key limit events per fixed window, in memory. It
// tracks at most max keys: when full it drops expired windows, then the
// oldest one, so a flood of new addresses costs memory only up to max.
type limiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu   sync.Mutex
	hits map[string]*hitWindow
}

type hitWindow struct {
	start time.Time
	n     int
}

func newLimiter(limit int, window time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, max: max, now: now, hits: map[string]*hitWindow{}}
}

// allow counts one event for key. When the key has used up its window it
// reports false and how long until the window ends.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	hw, ok := l.hits[key]
	if ok && now.Sub(hw.start) >= l.window {
		hw.start, hw.n = now, 0
	}
	if !ok {
		if len(l.hits) >= l.max {
			l.evict(now)
		}
		hw = &hitWindow{start: now}
		l.hits[key] = hw
	}
	if hw.n >= l.limit {
		return false, hw.start.Add(l.window).Sub(now)
	}
	hw.n++
	return true, 0
}

// evict makes room for one key. The caller holds mu.
func (l *limiter) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, hw := range l.hits {
		if now.Sub(hw.start) >= l.window {
			delete(l.hits, k)
			continue
		}
		if oldestKey == "" || hw.start.Before(oldest) {
			oldestKey, oldest = k, hw.start
		}
	}
	if len(l.hits) >= l.max {
		delete(l.hits, oldestKey)
	}
}

// remoteAddr is the default Options.ClientAddr: the host of RemoteAddr.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// limitKey groups IPv6 clients by /64, the block one host usually holds.
// An unknown address shares one key.
func limitKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return "unknown"
	}
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return addr.String()
}
