package streaming

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// mediaStreams maps a public stream to its ?only_media=true variant.
var mediaStreams = map[string]string{
	StreamPublic: StreamPublicMedia,
	StreamLocal:  StreamLocalMedia,
	StreamRemote: StreamRemoteMedia,
}

// serveEvents answers one of the Server-Sent-Events endpoints, each of
// which streams one stream, name, with its parameters in the query.
func (h *Hub) serveEvents(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.isClosed() {
			h.refuse(w, r, errClosing)
			return
		}
		v, err := h.authenticate(r, false)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		q := r.URL.Query()
		stream := name
		if media, ok := mediaStreams[name]; ok && truthy(q.Get("only_media")) {
			stream = media
		}
		s, err := parseStream(stream, q.Get("tag"), q.Get("list"))
		if err == nil {
			err = h.backend.Authorize(r.Context(), v, s)
		}
		if err != nil {
			h.refuse(w, r, err)
			return
		}

		ctx, kill := context.WithCancelCause(r.Context())
		defer kill(nil)
		c, err := h.attach(v, "sse", kill)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		defer h.detach(ctx, c)
		if _, err := h.authenticate(r, false); err != nil {
			h.refuse(w, r, err) // revoked between the first check and attach (see serveWebSocket)
			return
		}
		if err := h.subscribe(c, s); err != nil {
			h.refuse(w, r, err)
			return
		}
		kill(h.writeEvents(ctx, c, w))
	}
}

// truthy is Mastodon's reading of a boolean parameter: anything but empty
// and the usual spellings of false.
func truthy(v string) bool {
	switch v {
	case "", "0", "f", "F", "false", "FALSE", "False", "off", "OFF":
		return false
	}
	return true
}

// writeEvents streams c's messages as Server-Sent Events until the client
// goes away, is too slow, or the hub closes; it returns why.
func (h *Hub) writeEvents(ctx context.Context, c *conn, w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	// http.Server.ReadTimeout would end the request's context mid-stream
	// (the server's background read times out); WriteTimeout is replaced
	// by a deadline per write below.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("clear read deadline: %w", err)
	}
	// Dropping the connection breaks off a write in progress. The guard
	// keeps a late callback off a connection that has moved on to its next
	// request.
	var mu sync.Mutex
	finished := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			_ = rc.SetWriteDeadline(past)
		}
	})
	defer func() {
		stop()
		mu.Lock()
		finished = true
		mu.Unlock()
	}()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	// Browser clients read streams from other origins; tokens are never
	// cookies, so this opens nothing to other sites.
	hd.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)

	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(h.writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return fmt.Errorf("set write deadline: %w", err)
		}
		if ctx.Err() != nil { // dropped before the deadline above was set
			return context.Cause(ctx)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if err := rc.Flush(); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		return nil
	}

	buf := append([]byte(nil), ":)\n"...)
	if err := write(buf); err != nil {
		return err
	}
	t := time.NewTicker(h.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-h.done:
			return errHubClosed
		case <-t.C:
			buf = append(buf[:0], ":thump\n\n"...)
		case d := <-c.queue:
			if d.sub.removed.Load() {
				continue
			}
			m, ok := deliver(h.backend, c.viewer, d.sub.stream, d.msg)
			if !ok {
				continue
			}
			buf = appendEvent(buf[:0], m)
		}
		if err := write(buf); err != nil {
			return err
		}
		if cap(buf) > maxKeptBuffer {
			buf = nil
		}
	}
}
