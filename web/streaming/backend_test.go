package streaming

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gorilla/mux"
)

// Tokens the fake backend knows.
const (
	aliceToken  = "alice-token"  // account 1, scope read; owns list 7
	bobToken    = "bob-token"    // account 2, scope read
	noReadToken = "noread-token" // account 3, scope write only
	bannedToken = "banned-token" // account 4: Authenticate refuses with ErrForbidden
)

// fakeBackend resolves the tokens above, refuses tokens without "read" and
// lists their viewer does not own, and hides a message whose Data is
// hideFrom(viewer).
type fakeBackend struct{}

type hideFrom uint64

var fakeViewers = map[string]Viewer{
	aliceToken:  {AccountID: 1, Scopes: []string{"read"}},
	bobToken:    {AccountID: 2, Scopes: []string{"read"}},
	noReadToken: {AccountID: 3, Scopes: []string{"write"}},
}

var listOwners = map[uint64]uint64{7: 1, 8: 2}

func (fakeBackend) Authenticate(_ context.Context, token string) (Viewer, error) {
	if token == bannedToken {
		return Viewer{}, fmt.Errorf("account 4 suspended: %w", ErrForbidden)
	}
	v, ok := fakeViewers[token]
	if !ok {
		return Viewer{}, fmt.Errorf("token %q: %w", token, ErrUnauthorized)
	}
	return v, nil
}

func (fakeBackend) Authorize(_ context.Context, v Viewer, s Stream) error {
	if !slices.Contains(v.Scopes, "read") {
		return fmt.Errorf("stream %s needs read: %w", s, ErrForbidden)
	}
	if s.Name == StreamList && listOwners[s.List] != v.AccountID {
		return fmt.Errorf("list %d: %w", s.List, ErrNotFound)
	}
	return nil
}

func (fakeBackend) Keep(v Viewer, m *Message) bool {
	h, ok := m.Data.(hideFrom)
	return !ok || uint64(h) != v.AccountID
}

// newTestServer serves a hub with the fake backend (unless opts names
// another) on a real loopback listener. The hub is closed before the
// server at cleanup.
func newTestServer(t testing.TB, opts Options) (*Hub, *httptest.Server) {
	t.Helper()
	if opts.Backend == nil {
		opts.Backend = fakeBackend{}
	}
	h := New(opts)
	r := mux.NewRouter()
	h.Register(r)
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	t.Cleanup(h.Close)
	return h, ts
}

// testContext is t's context with a deadline that only guards against a
// hang; no test waits on it on purpose.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wsURL(ts *httptest.Server, query string) string {
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/streaming"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dial opens a WebSocket with token in the Authorization header ("" for
// none) and fails the test if the handshake fails.
func dial(t testing.TB, ctx context.Context, ts *httptest.Server, token, query string) *websocket.Conn {
	t.Helper()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := websocket.Dial(ctx, wsURL(ts, query), opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: status %d: %v", query, status, err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// frame is any message the server sends over a WebSocket.
type frame struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload *string  `json:"payload"`
	Error   string   `json:"error"`
	Status  int      `json:"status"`
}

func readFrame(t testing.TB, ctx context.Context, c *websocket.Conn) frame {
	t.Helper()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type %v, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

func send(t testing.TB, ctx context.Context, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// barrier returns once the server has handled every message c sent
// before: it sends a request the server always refuses and waits for the
// refusal, which comes after the replies to anything sent earlier.
func barrier(t testing.TB, ctx context.Context, c *websocket.Conn) {
	t.Helper()
	send(t, ctx, c, `{"type":"barrier"}`)
	for {
		f := readFrame(t, ctx, c)
		if f.Error == "Unknown message type" {
			return
		}
		if f.Error == "" {
			t.Fatalf("barrier: unexpected event %+v", f)
		}
	}
}

// openEvents starts an SSE request and returns its body once the ":)"
// line arrived, by which time the stream is subscribed.
func openEvents(t testing.TB, ctx context.Context, ts *httptest.Server, pathAndQuery, token string) *bufio.Reader {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", pathAndQuery, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", pathAndQuery, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != ":)\n" {
		t.Fatalf("first line %q, %v; want \":)\\n\"", line, err)
	}
	return br
}

// sseEvent is one event read from an SSE body.
type sseEvent struct {
	event, data string
}

// readEvent reads the next event, skipping comment lines (heartbeats).
func readEvent(t testing.TB, br *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %+v)", err, ev)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.event != "" || data != nil {
				ev.data = strings.Join(data, "\n")
				return ev
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
}

// eventually polls cond until it holds or ctx ends.
func eventually(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// settleGoroutines waits until no more goroutines run than base.
func settleGoroutines(t testing.TB, ctx context.Context, base int) {
	t.Helper()
	for runtime.NumGoroutine() > base {
		select {
		case <-ctx.Done():
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		case <-time.After(5 * time.Millisecond):
		}
	}
}
