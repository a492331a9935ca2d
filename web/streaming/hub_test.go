package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// memConn is a connection with no network behind it, for hub tests.
type memConn struct {
	*conn
	kills atomic.Int32
	cause atomic.Value // first error passed to kill
}

func attachMem(t testing.TB, h *Hub, accountID uint64, streams ...Stream) *memConn {
	t.Helper()
	m := &memConn{}
	c, err := h.attach(Viewer{AccountID: accountID}, "memory", func(cause error) {
		if m.kills.Add(1) == 1 {
			m.cause.Store(cause)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	m.conn = c
	for _, s := range streams {
		if err := h.subscribe(c, s); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// discard empties m's queue.
func (m *memConn) discard() {
	for len(m.queue) > 0 {
		<-m.queue
	}
}

// drain returns what is queued for m, as "stream|payload".
func (m *memConn) drain() []string {
	var got []string
	for {
		select {
		case d := <-m.queue:
			got = append(got, d.sub.stream.String()+"|"+d.msg.Payload)
		default:
			return got
		}
	}
}

func TestPublish_routing(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}})
	both := attachMem(t, h, 1, Stream{Name: StreamPublic}, Stream{Name: StreamUser})
	public := attachMem(t, h, 2, Stream{Name: StreamPublic})
	tag := attachMem(t, h, 3, Stream{Name: StreamHashtag, Tag: "Go"}, Stream{Name: StreamHashtag, Tag: "go"}) // one channel
	other := attachMem(t, h, 4, Stream{Name: StreamUser}, Stream{Name: StreamList, List: 9})

	h.Publish(&Message{Event: EventUpdate, Payload: "a"}, PublicChannel, UserChannel(1), PublicChannel, HashtagChannel("#GO", false))
	many := []string{PublicChannel}
	for i := range 40 { // the long-list path dedupes too
		many = append(many, UserChannel(uint64(100+i)), PublicChannel)
	}
	h.Publish(&Message{Event: EventUpdate, Payload: "b"}, many...)
	h.Publish(&Message{Event: EventUpdate, Payload: "c"}) // no channels
	h.Publish(nil, PublicChannel)

	tests := []struct {
		name string
		m    *memConn
		want []string
	}{
		{"public and user", both, []string{"public|a", "public|b", "user|a"}},
		{"public", public, []string{"public|a", "public|b"}},
		{"hashtag", tag, []string{"hashtag Go|a"}},
		{"elsewhere", other, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.drain()
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if n := tt.m.kills.Load(); n != 0 {
				t.Errorf("killed %d times", n)
			}
		})
	}
}

func TestPublish_fullQueueDrops(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}, QueueSize: 2})
	slow := attachMem(t, h, 1, Stream{Name: StreamPublic})
	fast := attachMem(t, h, 2, Stream{Name: StreamPublic})
	var got []string
	for i := range 5 {
		h.Publish(&Message{Payload: strconv.Itoa(i)}, PublicChannel)
		got = append(got, fast.drain()...)
	}
	if want := []string{"public|0", "public|1", "public|2", "public|3", "public|4"}; !slices.Equal(got, want) {
		t.Errorf("fast got %q, want %q", got, want)
	}
	if slow.kills.Load() == 0 || !errors.Is(slow.cause.Load().(error), errSlow) {
		t.Errorf("slow: %d kills, cause %v; want dropped as slow", slow.kills.Load(), slow.cause.Load())
	}
	if n := fast.kills.Load(); n != 0 {
		t.Errorf("fast killed %d times", n)
	}
}

func TestSubscriptions_removal(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}, MaxSubscriptions: 2})
	var ms []*memConn
	for i := range 6 {
		ms = append(ms, attachMem(t, h, uint64(i+1), Stream{Name: StreamLocal}))
	}
	// Swap-removal from the middle, the end and the start keeps the rest.
	for _, i := range []int{2, 5, 0} {
		h.unsubscribe(ms[i].conn, LocalChannel)
	}
	h.unsubscribe(ms[1].conn, PublicChannel) // not subscribed: no-op
	h.detach(context.Background(), ms[3].conn)
	h.Publish(&Message{Payload: "x"}, LocalChannel)
	for i, m := range ms {
		wantN := 0
		if i == 1 || i == 4 {
			wantN = 1
		}
		if got := m.drain(); len(got) != wantN {
			t.Errorf("conn %d got %q, want %d message(s)", i, got, wantN)
		}
	}
	for i, s := range h.channels[LocalChannel] {
		if s.index != i {
			t.Errorf("subscription at %d records index %d", i, s.index)
		}
	}
	if got := h.Connections(); got != 5 {
		t.Errorf("Connections() = %d, want 5", got)
	}

	m := ms[1]
	if err := h.subscribe(m.conn, Stream{Name: StreamPublic}); err != nil {
		t.Fatal(err)
	}
	if err := h.subscribe(m.conn, Stream{Name: StreamLocal}); err != nil { // again: no-op
		t.Errorf("resubscribe: %v", err)
	}
	if err := h.subscribe(m.conn, Stream{Name: StreamUser}); err == nil {
		t.Error("third subscription with MaxSubscriptions 2 accepted")
	}
	if err := h.subscribe(m.conn, Stream{Name: "firehose"}); err == nil {
		t.Error("unknown stream accepted")
	}
}

func TestClose_refusesNewConnections(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}})
	h.Close()
	h.Close() // twice is fine
	if _, err := h.attach(Viewer{}, "memory", func(error) {}); err == nil {
		t.Error("attach after Close succeeded")
	}
	h.Publish(&Message{}, PublicChannel) // no panic, nothing to do
}

// A client that stops reading is dropped once its queue fills, while a
// client on the same channel gets every message, and everything the
// slow one held is released.
func TestSlowClientDropped(t *testing.T) {
	for _, transport := range []string{"websocket", "sse"} {
		t.Run(transport, func(t *testing.T) {
			h, ts := newTestServer(t, Options{QueueSize: 4, WriteTimeout: time.Minute, Heartbeat: time.Hour})
			ctx := testContext(t)
			base := runtime.NumGoroutine()

			fast := dial(t, ctx, ts, bobToken, "stream=public")
			var closeSlow func()
			switch transport {
			case "websocket":
				slow := dial(t, ctx, ts, aliceToken, "stream=public") // never read
				closeSlow = func() { _ = slow.CloseNow() }
			case "sse":
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/streaming/public", nil)
				req.Header.Set("Authorization", "Bearer "+aliceToken)
				resp, err := ts.Client().Do(req) // body never read
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("SSE: %v %v", resp, err)
				}
				closeSlow = func() { resp.Body.Close() }
			}
			if n := h.Connections(); n != 2 {
				t.Fatalf("Connections() = %d, want 2", n)
			}

			// Large payloads fill the slow client's socket buffers, then its
			// queue. Each is read by the fast client before the next goes
			// out, so the fast one's queue never holds more than one.
			payload := `"` + strings.Repeat("x", 64<<10) + `"`
			published := 0
			publish := func() {
				published++
				h.Publish(&Message{Event: EventUpdate, Payload: strconv.Itoa(published) + payload}, PublicChannel)
				f := readFrame(t, ctx, fast)
				if want := strconv.Itoa(published) + payload; deref(f.Payload) != want {
					t.Fatalf("fast client: message %d missing", published)
				}
			}
			for h.Connections() == 2 {
				if published == 5000 {
					t.Fatal("slow client never dropped")
				}
				publish()
			}
			for range 10 {
				publish()
			}
			t.Logf("slow client dropped after %d messages of %d KiB", published-10, len(payload)>>10)
			if n := h.Connections(); n != 1 {
				t.Errorf("Connections() = %d, want 1", n)
			}

			closeSlow()
			_ = fast.CloseNow()
			eventually(t, ctx, "all connections to leave", func() bool { return h.Connections() == 0 })
			ts.Client().Transport.(*http.Transport).CloseIdleConnections()
			settleGoroutines(t, ctx, base)
		})
	}
}

func TestClose_endsConnections(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	ws := dial(t, ctx, ts, aliceToken, "stream=public")
	br := openEvents(t, ctx, ts, "/api/v1/streaming/public", bobToken)
	closed := make(chan struct{})
	go func() {
		h.Close()
		close(closed)
	}()
	// The WebSocket gets 1001 and answers the close handshake by reading.
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("WebSocket read: %v, want close 1001", err)
	}
	// The SSE response ends.
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("SSE after Close: %q, %v; want a clean end", rest, err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	if n := h.Connections(); n != 0 {
		t.Errorf("Connections() = %d after Close", n)
	}
	// New connections are refused.
	_, resp, err := websocket.Dial(ctx, wsURL(ts, "stream=public"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + aliceToken}},
	})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v, %v; want 503", resp, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/streaming/public", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	if resp, err := ts.Client().Do(req); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("SSE after Close: %v, %v; want 503", resp, err)
	} else {
		resp.Body.Close()
	}
}

// BenchmarkPublish measures Publish alone: one message to n in-memory
// subscribers of one channel, queues emptied off the clock.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			const queue = 256
			h := New(Options{Backend: fakeBackend{}, QueueSize: queue})
			ms := make([]*memConn, n)
			for i := range ms {
				ms[i] = attachMem(b, h, uint64(i+1), Stream{Name: StreamPublic})
			}
			m := &Message{Event: EventUpdate, Payload: statusPayload()}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish(m, PublicChannel, LocalChannel)
				if i++; i%queue == 0 {
					b.StopTimer()
					for _, m := range ms {
						m.discard()
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*n), "ns/delivery")
			for _, m := range ms {
				if m.kills.Load() != 0 {
					b.Fatal("a subscriber was dropped")
				}
			}
		})
	}
}

// Publishing while connections come, go and change streams is safe (run
// with -race) and leaves the hub empty once they are gone.
func TestPublish_concurrentChurn(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}, QueueSize: 8}) // some get dropped: that path races too
	ctx := testContext(t)
	stop := make(chan struct{})
	var published atomic.Int64
	var pubs sync.WaitGroup
	for range 2 {
		pubs.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h.Publish(&Message{Event: EventUpdate, Payload: "x"}, PublicChannel, LocalChannel, UserChannel(1))
				published.Add(1)
			}
		})
	}
	var churn sync.WaitGroup
	for i := range 4 {
		churn.Go(func() {
			for range 50 {
				m := attachMem(t, h, uint64(i%2+1), Stream{Name: StreamPublic}, Stream{Name: StreamUser})
				_ = h.subscribe(m.conn, Stream{Name: StreamLocal})
				h.unsubscribe(m.conn, PublicChannel)
				m.drain()
				h.detach(ctx, m.conn)
			}
		})
	}
	churn.Wait()
	close(stop)
	pubs.Wait()
	if n := h.Connections(); n != 0 || len(h.channels) != 0 {
		t.Errorf("after churn: %d connections, channels %v", n, h.channels)
	}
	if published.Load() == 0 {
		t.Error("nothing published")
	}
}

// Close is bounded by WriteTimeout even for a WebSocket client that never
// answers the close handshake.
func TestClose_unresponsiveClient(t *testing.T) {
	h, ts := newTestServer(t, Options{WriteTimeout: 50 * time.Millisecond, Heartbeat: time.Hour})
	ctx := testContext(t)
	_ = dial(t, ctx, ts, aliceToken, "stream=public") // never reads
	closed := make(chan struct{})
	go func() {
		h.Close()
		close(closed)
	}()
	// A hang guard well below the library's own 5+5 s close timeouts, so
	// that Close waiting on those rather than on WriteTimeout fails.
	select {
	case <-closed:
	case <-time.After(4 * time.Second):
		t.Fatal("Close still waiting on an unresponsive client")
	}
}

// One account may hold MaxPerAccount connections; one more is refused
// with 429 until one of them ends. Other accounts are not affected.
func TestHub_connectionsPerAccount(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}, MaxPerAccount: 3})
	defer h.Close()
	var conns []*conn
	for range 3 {
		c, err := h.attach(Viewer{AccountID: 1}, "memory", func(error) {})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if _, err := h.attach(Viewer{AccountID: 1}, "memory", func(error) {}); err == nil {
		t.Fatal("a fourth connection was accepted")
	} else if code, _ := classify(err); code != http.StatusTooManyRequests {
		t.Errorf("fourth connection refused with %d, want 429", code)
	}
	other, err := h.attach(Viewer{AccountID: 2}, "memory", func(error) {})
	if err != nil {
		t.Fatalf("another account: %v", err)
	}
	h.detach(context.Background(), other)
	h.detach(context.Background(), conns[0])
	if c, err := h.attach(Viewer{AccountID: 1}, "memory", func(error) {}); err != nil {
		t.Errorf("after one ended: %v", err)
	} else {
		conns[0] = c
	}
	for _, c := range conns {
		h.detach(context.Background(), c)
	}
}

// personalBackend keeps everything and personalises by stream.
type personalBackend struct{ fakeBackend }

func (personalBackend) Personalize(v Viewer, s Stream, m *Message) (string, bool) {
	switch s.Name {
	case StreamPublic:
		return "", false // hidden there
	case StreamUser:
		return fmt.Sprintf("for %d", v.AccountID), true
	}
	return "", true
}

func TestDeliver_personalizer(t *testing.T) {
	m := &Message{Event: EventUpdate, Payload: "shared"}
	for _, tt := range []struct {
		b       Backend
		stream  string
		payload string
		ok      bool
	}{
		{fakeBackend{}, StreamUser, "shared", true},
		{personalBackend{}, StreamPublic, "", false},
		{personalBackend{}, StreamUser, "for 7", true},
		{personalBackend{}, StreamLocal, "shared", true},
	} {
		got, ok := deliver(tt.b, Viewer{AccountID: 7}, Stream{Name: tt.stream}, m)
		if ok != tt.ok || (ok && (got.Payload != tt.payload || got.Event != EventUpdate)) {
			t.Errorf("%T on %s: %+v %t; want %q %t", tt.b, tt.stream, got, ok, tt.payload, tt.ok)
		}
	}
}
