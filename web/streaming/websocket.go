package streaming

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

const (
	// readLimit bounds one client message; subscribe requests are tiny.
	readLimit = 4 << 10
	// maxKeptBuffer is the largest frame buffer a connection keeps between
	// writes; a bigger one, left by an unusually large payload, is dropped.
	maxKeptBuffer = 64 << 10
)

// past is a deadline that has passed: setting it breaks off a blocked
// read or write at once.
var past = time.Unix(1, 0)

// serveWebSocket answers GET /api/v1/streaming. Authentication and the
// first stream (?stream=…) are checked before the upgrade, so a refusal is
// a plain HTTP error; later subscribe and unsubscribe requests arrive as
// JSON messages and a refusal is an error frame on a connection that stays
// open.
func (h *Hub) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !isUpgrade(r) {
		// A plain request is how a client asks whether streaming lives on
		// another host; Mastodon answers 404 when it does not.
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if h.isClosed() {
		h.refuse(w, r, errClosing)
		return
	}
	v, err := h.authenticate(r, true)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	var first *Stream
	if q := r.URL.Query(); q.Get("stream") != "" {
		s, err := parseStream(q.Get("stream"), q.Get("tag"), q.Get("list"))
		if err == nil {
			err = h.backend.Authorize(r.Context(), v, s)
		}
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		first = &s
	}

	// The connection outlives the request's context (see Accept).
	ctx, kill := context.WithCancelCause(context.WithoutCancel(r.Context()))
	defer kill(nil)
	c, err := h.attach(v, "websocket", kill)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	defer h.detach(ctx, c)
	// Check the token again now that the connection is attached: a
	// revocation whose Disconnect ran between the first check and attach
	// did not see this connection, but it committed before, so this
	// check fails.
	if _, err := h.authenticate(r, true); err != nil {
		h.refuse(w, r, err)
		return
	}
	// Subscribe before the handshake completes, so that once the client
	// has its connection nothing published to the stream is missed.
	if first != nil {
		if err := h.subscribe(c, *first); err != nil {
			h.refuse(w, r, err)
			return
		}
	}

	hc := &hijackCapture{ResponseWriter: w}
	opts := &websocket.AcceptOptions{
		// Browser clients on other origins (Elk, Phanpy) must connect.
		// The token is never an ambient credential (no cookies), so a
		// cross-site page cannot ride on a user's session.
		InsecureSkipVerify: true,
	}
	if p := firstProtocol(r); p != "" {
		// Elk sends the token as the subprotocol and gives up unless the
		// handshake echoes it; Mastodon echoes the first one offered.
		opts.Subprotocols = []string{p}
	}
	ws, err := websocket.Accept(hc, r, opts)
	if err != nil { // Accept has answered the request
		kill(fmt.Errorf("handshake: %w", err))
		return
	}
	h.runWebSocket(ctx, c, ws, hc.conn)
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "websocket") {
				return true
			}
		}
	}
	return false
}

// hijackCapture keeps the network connection that websocket.Accept
// hijacks, so that writes can carry a deadline without a timer per write,
// and so that dropping the connection breaks off a blocked write at once.
type hijackCapture struct {
	http.ResponseWriter
	conn net.Conn
}

func (hc *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(hc.ResponseWriter).Hijack()
	hc.conn = nc
	return nc, brw, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (hc *hijackCapture) Unwrap() http.ResponseWriter { return hc.ResponseWriter }

// runWebSocket serves an accepted connection until it ends: this goroutine
// writes, one more reads client messages, one more pings.
func (h *Hub) runWebSocket(ctx context.Context, c *conn, ws *websocket.Conn, nc net.Conn) {
	ws.SetReadLimit(readLimit)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(past) })
	defer stop()

	replies := make(chan []byte, 4)
	var wg sync.WaitGroup
	wg.Go(func() { h.readWebSocket(ctx, c, ws, nc, replies) })
	wg.Go(func() { h.pingWebSocket(ctx, c, ws) })
	c.kill(h.writeWebSocket(ctx, c, ws, nc, replies))
	_ = ws.CloseNow()
	wg.Wait()
}

// writeWebSocket sends c's messages and the reader's replies until the
// connection is dropped, a write fails, or the hub closes; it returns why.
func (h *Hub) writeWebSocket(ctx context.Context, c *conn, ws *websocket.Conn, nc net.Conn, replies <-chan []byte) error {
	var buf []byte
	for {
		var out []byte
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-h.done:
			_ = nc.SetDeadline(time.Now().Add(h.writeTimeout))
			_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
			return errHubClosed
		case out = <-replies:
		case d := <-c.queue:
			if d.sub.removed.Load() {
				continue
			}
			m, ok := deliver(h.backend, c.viewer, d.sub.stream, d.msg)
			if !ok {
				continue
			}
			buf = appendFrame(buf[:0], d.sub.prefix, m)
			out = buf
		}
		_ = nc.SetWriteDeadline(time.Now().Add(h.writeTimeout))
		if ctx.Err() != nil { // dropped before the deadline above was set
			return context.Cause(ctx)
		}
		// The deadline bounds the write; a cancellable context would cost
		// the library a timer for every message.
		if err := ws.Write(context.Background(), websocket.MessageText, out); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		// Clear it, or it would fail the pinger's next write once passed.
		_ = nc.SetWriteDeadline(time.Time{})
		if cap(buf) > maxKeptBuffer {
			buf = nil
		}
	}
}

// readWebSocket handles subscribe and unsubscribe requests until the
// connection ends. It never writes; replies go to the writer.
func (h *Hub) readWebSocket(ctx context.Context, c *conn, ws *websocket.Conn, nc net.Conn, replies chan<- []byte) {
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			c.kill(fmt.Errorf("read: %w", err))
			return
		}
		if typ != websocket.MessageText {
			_ = nc.SetDeadline(time.Now().Add(h.writeTimeout))
			_ = ws.Close(websocket.StatusUnsupportedData, "binary messages are not supported")
			c.kill(errBinary)
			return
		}
		reply := h.handleRequest(ctx, c, data)
		if reply == nil {
			continue
		}
		select {
		case replies <- reply:
		case <-ctx.Done():
			return
		}
	}
}

// pingWebSocket pings every heartbeat and drops a client that has not
// answered by the next one.
func (h *Hub) pingWebSocket(ctx context.Context, c *conn, ws *websocket.Conn) {
	t := time.NewTicker(h.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, h.heartbeat)
		err := ws.Ping(pctx)
		cancel()
		if err != nil {
			c.kill(fmt.Errorf("ping: %w", err))
			return
		}
	}
}

// request is a client's message: {"type":"subscribe","stream":"hashtag","tag":"foo"}.
type request struct {
	Type   string `json:"type"`
	Stream param  `json:"stream"`
	Tag    param  `json:"tag"`
	List   param  `json:"list"`
}

// param is a request parameter: a string, a number (clients send list IDs
// either way), or an array whose first element counts, as in Mastodon.
type param string

func (p *param) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n': // null
		*p = ""
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = param(s)
		return nil
	case '[':
		var a []param
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		*p = ""
		if len(a) > 0 {
			*p = a[0]
		}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return badRequest("Invalid parameter")
	}
	*p = param(n)
	return nil
}

// handleRequest carries out one client message and returns the error frame
// to send back, or nil.
func (h *Hub) handleRequest(ctx context.Context, c *conn, data []byte) []byte {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return h.errorFrame(ctx, badRequest("Invalid JSON"))
		}
		return h.errorFrame(ctx, badRequest("Invalid message"))
	}
	switch req.Type {
	case "subscribe":
		s, err := parseStream(string(req.Stream), string(req.Tag), string(req.List))
		if err == nil {
			err = h.backend.Authorize(ctx, c.viewer, s)
		}
		if err == nil {
			err = h.subscribe(c, s)
		}
		if err != nil {
			return h.errorFrame(ctx, err)
		}
	case "unsubscribe":
		s, err := parseStream(string(req.Stream), string(req.Tag), string(req.List))
		if err != nil {
			return h.errorFrame(ctx, err)
		}
		h.unsubscribe(c, s.Channel(c.viewer))
	default:
		return h.errorFrame(ctx, badRequest("Unknown message type"))
	}
	return nil
}

// errorFrame is {"error": …, "status": …} for err; a 5xx is logged.
func (h *Hub) errorFrame(ctx context.Context, err error) []byte {
	code, msg := classify(err)
	if code >= 500 {
		h.log.ErrorContext(ctx, "stream subscription failed", "err", err)
	}
	b, _ := json.Marshal(errorBody{Error: msg, Status: code}) // cannot fail
	return b
}
