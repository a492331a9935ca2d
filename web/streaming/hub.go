package streaming

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Hub. Every field but Backend has a usable zero value.
type Options struct {
	// Backend authenticates tokens, authorizes streams and filters
	// messages. Required.
	Backend Backend
	// Heartbeat is how often a WebSocket is pinged (a client that has not
	// answered by the next ping is dropped) and an SSE response gets a
	// ":thump" comment. 0: 30s.
	Heartbeat time.Duration
	// QueueSize is how many messages may wait for one connection; a
	// connection whose queue is full is dropped. 0: 128.
	QueueSize int
	// WriteTimeout bounds each write to a client, and the close handshake
	// on Close; a client that takes longer is dropped. 0: 10s.
	WriteTimeout time.Duration
	// MaxSubscriptions bounds the streams of one WebSocket. 0: 64.
	MaxSubscriptions int
	// MaxPerAccount bounds the open connections of one account; more are
	// refused with 429. 0: 32.
	MaxPerAccount int
	// Logger receives connection events at Debug, dropped slow clients at
	// Info and Backend failures at Error. nil: discard.
	Logger *slog.Logger
}

// Hub routes published messages to the connections subscribed to their
// channels. It is safe for concurrent use.
type Hub struct {
	backend      Backend
	log          *slog.Logger
	heartbeat    time.Duration
	writeTimeout time.Duration
	queueSize    int
	maxSubs      int
	maxPerAcct   int

	done chan struct{} // closed by Close

	mu       sync.RWMutex
	channels map[string][]*subscription // channel → its subscriptions, in no order
	conns    map[*conn]struct{}
	perAcct  map[uint64]int // open connections by account
	closed   bool
	active   sync.WaitGroup // one count per attached connection
}

// conn is one client connection, WebSocket or SSE.
type conn struct {
	viewer    Viewer
	transport string // "websocket" or "sse", for logs
	started   time.Time
	queue     chan delivery
	// kill drops the connection: it cancels the context its goroutines
	// watch, which also breaks off a write in progress. Safe from any
	// goroutine, cheap, and only the first cause is kept.
	kill context.CancelCauseFunc
	subs map[string]*subscription // by channel; guarded by Hub.mu
}

// subscription is one stream of one connection.
type subscription struct {
	conn    *conn
	stream  Stream
	channel string
	prefix  []byte      // start of its WebSocket frames, see Stream.framePrefix
	index   int         // position in Hub.channels[channel]; guarded by Hub.mu
	removed atomic.Bool // set on unsubscribe; queued deliveries are then skipped
}

// delivery is one queued message and the subscription it came through.
type delivery struct {
	msg *Message
	sub *subscription
}

// Causes a connection ends with, besides errSlow and I/O errors.
var (
	errHubClosed = errors.New("streaming: hub closed")
	errBinary    = errors.New("streaming: binary message from client")
)

// New returns a Hub. It panics if opts.Backend is nil.
func New(opts Options) *Hub {
	if opts.Backend == nil {
		panic("streaming: Options.Backend is required")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 30 * time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 128
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxPerAccount <= 0 {
		opts.MaxPerAccount = 32
	}
	if opts.MaxSubscriptions <= 0 {
		opts.MaxSubscriptions = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		backend:      opts.Backend,
		log:          opts.Logger,
		heartbeat:    opts.Heartbeat,
		writeTimeout: opts.WriteTimeout,
		queueSize:    opts.QueueSize,
		maxSubs:      opts.MaxSubscriptions,
		maxPerAcct:   opts.MaxPerAccount,
		done:         make(chan struct{}),
		channels:     make(map[string][]*subscription),
		conns:        make(map[*conn]struct{}),
		perAcct:      make(map[uint64]int),
	}
}

// Publish sends m to every connection subscribed to any of channels, once
// per matching subscription (a channel listed twice counts once). It never
// blocks: each connection gets m through a non-blocking send to its queue,
// and one whose queue is full is dropped. Encoding, Backend.Keep and I/O
// happen later on each connection's goroutine. m must not be modified
// afterwards. Safe for concurrent use; after Close it does nothing.
func (h *Hub) Publish(m *Message, channels ...string) {
	if m == nil {
		return
	}
	var seen map[string]struct{}
	if len(channels) > 16 {
		seen = make(map[string]struct{}, len(channels))
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return
	}
	for i, name := range channels {
		if seen != nil {
			if _, dup := seen[name]; dup {
				continue
			}
			seen[name] = struct{}{}
		} else if slices.Contains(channels[:i], name) {
			continue
		}
		for _, s := range h.channels[name] {
			select {
			case s.conn.queue <- delivery{m, s}:
			default:
				s.conn.kill(errSlow)
			}
		}
	}
}

// Connections is the number of open connections, WebSocket and SSE.
func (h *Hub) Connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Disconnect drops every connection opened with session (a revoked
// token, say) and returns how many there were.
func (h *Hub) Disconnect(session string) int {
	if session == "" {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for c := range h.conns {
		if c.viewer.Session == session {
			c.kill(errRevoked)
			n++
		}
	}
	return n
}

// Close ends every connection (WebSocket close 1001 "going away", SSE
// response ends), refuses new ones, and returns when their goroutines have
// returned: at most about Options.WriteTimeout for a client that does not
// answer the close handshake. Calling it again waits the same way.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.active.Wait()
}

func (h *Hub) isClosed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

var errClosing = &clientError{http.StatusServiceUnavailable, "Streaming server is shutting down"}

// attach adds a connection for v; kill is how to drop it.
func (h *Hub) attach(v Viewer, transport string, kill context.CancelCauseFunc) (*conn, error) {
	c := &conn{
		viewer:    v,
		transport: transport,
		started:   time.Now(),
		queue:     make(chan delivery, h.queueSize),
		kill:      kill,
		subs:      make(map[string]*subscription),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosing
	}
	if h.perAcct[v.AccountID] >= h.maxPerAcct {
		return nil, errTooMany
	}
	h.perAcct[v.AccountID]++
	h.conns[c] = struct{}{}
	h.active.Add(1)
	return c, nil
}

var errTooMany = &clientError{http.StatusTooManyRequests, "Too many streaming connections"}

// detach removes c and its subscriptions, and logs why it ended (the
// cause of ctx, its connection's context). After it nothing in the hub
// refers to c or its queue.
func (h *Hub) detach(ctx context.Context, c *conn) {
	h.mu.Lock()
	for _, s := range c.subs {
		h.removeLocked(s)
	}
	delete(h.conns, c)
	if h.perAcct[c.viewer.AccountID]--; h.perAcct[c.viewer.AccountID] <= 0 {
		delete(h.perAcct, c.viewer.AccountID)
	}
	h.mu.Unlock()
	h.active.Done()

	cause := context.Cause(ctx)
	attrs := []any{"account_id", c.viewer.AccountID, "transport", c.transport, "took", time.Since(c.started)}
	if errors.Is(cause, errSlow) {
		h.log.InfoContext(ctx, "dropped slow stream client", attrs...)
		return
	}
	h.log.DebugContext(ctx, "stream closed", append(attrs, "reason", cause)...)
}

// subscribe adds stream s to c. Subscribing twice to one channel is a
// no-op, as in Mastodon.
func (h *Hub) subscribe(c *conn, s Stream) error {
	name := s.Channel(c.viewer)
	if name == "" {
		return badRequest("Unknown stream type")
	}
	sub := &subscription{conn: c, stream: s, channel: name, prefix: s.framePrefix()}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := c.subs[name]; ok {
		return nil
	}
	if len(c.subs) >= h.maxSubs {
		return badRequest("Too many subscriptions")
	}
	sub.index = len(h.channels[name])
	h.channels[name] = append(h.channels[name], sub)
	c.subs[name] = sub
	return nil
}

// unsubscribe removes c's subscription to channel, if any.
func (h *Hub) unsubscribe(c *conn, channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := c.subs[channel]; ok {
		h.removeLocked(s)
	}
}

// removeLocked takes s out of its channel in O(1), swapping the last
// subscription into its place.
func (h *Hub) removeLocked(s *subscription) {
	s.removed.Store(true)
	delete(s.conn.subs, s.channel)
	list := h.channels[s.channel]
	last := len(list) - 1
	list[s.index] = list[last]
	list[s.index].index = s.index
	list[last] = nil
	list = list[:last]
	switch {
	case len(list) == 0:
		delete(h.channels, s.channel)
	case cap(list) > 64 && len(list) < cap(list)/4:
		h.channels[s.channel] = slices.Clone(list) // give back what a crowd left behind
	default:
		h.channels[s.channel] = list
	}
}
