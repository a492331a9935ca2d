package mastodon

import (
	"cmp"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/web/oauth"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// cors lets browser clients (Elk, Phanpy …) on other origins call the API,
// as Mastodon does: any origin, with the bearer token in a header (never a
// cookie, so no credentials mode).
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Accept")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Rate limits, Mastodon's defaults: 300 requests per 5 minutes for each
// token, and for each address without one.
const (
	defaultRateLimit = 300
	rateWindow       = 5 * time.Minute
	maxBuckets       = 100000
)

// limiter counts requests per key in fixed windows, in memory.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int           // requests per window; negative: no limit
	window  time.Duration // zero: rateWindow
	windows map[string]*rateCount
}

type rateCount struct {
	start time.Time
	n     int
}

// allow counts a request for key and reports whether it is within the
// limit, with what remains and when the window resets.
func (l *limiter) allow(key string) (bool, int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	rateWindow := cmp.Or(l.window, rateWindow)
	if l.windows == nil {
		l.windows = map[string]*rateCount{}
	}
	if len(l.windows) > maxBuckets {
		for k, c := range l.windows { // bounded: drop finished windows first
			if now.Sub(c.start) >= rateWindow {
				delete(l.windows, k)
			}
		}
		if len(l.windows) > maxBuckets {
			l.windows = map[string]*rateCount{}
		}
	}
	c := l.windows[key]
	if c == nil || now.Sub(c.start) >= rateWindow {
		c = &rateCount{start: now}
		l.windows[key] = c
	}
	c.n++
	if l.max < 0 {
		return true, 0, c.start.Add(rateWindow)
	}
	return c.n <= l.max, max(0, l.max-c.n), c.start.Add(rateWindow)
}

// rateLimited applies the limit by token, or by address without one, and
// sets the X-RateLimit headers.
func (h *handler) rateLimited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every request counts for its address; a valid token also has
		// its own budget. Junk tokens cannot buy fresh ones.
		ok, remaining, reset := h.limits.allow("ip:" + clientAddr(r))
		if tok := bearer(r); ok && tok != "" {
			if t, err := oauth.BearerToken(h.store, r); err == nil {
				ok, remaining, reset = h.limits.allow("token:" + string(t.Hash))
			}
		}
		hd := w.Header()
		hd.Set("X-RateLimit-Limit", strconv.Itoa(h.limits.max))
		hd.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		hd.Set("X-RateLimit-Reset", formatTime(reset))
		if !ok {
			hd.Set("Retry-After", strconv.Itoa(int(time.Until(reset).Seconds())+1))
			respond.ErrorMessage(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func bearer(r *http.Request) string {
	if v := r.Header.Get("Authorization"); len(v) > 7 && v[:7] == "Bearer " {
		return v[7:]
	}
	return ""
}
