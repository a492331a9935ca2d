package mastodon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/oauth"
	"github.com/rhizome-fed/rhizome/web/streaming"
)

// changeQueueSize bounds the committed changes waiting to be rendered
// for streaming; when rendering falls that far behind, live updates are
// dropped (clients catch up from the timelines) rather than slowing
// commits.
const changeQueueSize = 4096

// streamed is what Keep needs to know about a status message.
type streamed struct {
	status *storage.Status
}

// notificationEvent marks a notification message: the "user" stream
// carries them only to tokens that may read notifications.
type notificationEvent struct{}

// runStreaming watches committed changes and publishes them to the hub
// until ctx ends.
func (h *handler) runStreaming(ctx context.Context) {
	changes := make(chan storage.Change, changeQueueSize)
	var dropped atomic.Int64 // commit callbacks run on several goroutines
	h.store.Watch(func(c storage.Change) {
		select {
		case changes <- c:
		default:
			dropped.Add(1)
		}
	})
	defer h.store.Watch(nil)
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-changes:
			if n := dropped.Swap(0); n > 0 {
				h.log.WarnContext(ctx, "streaming fell behind; live events dropped", "count", n)
			}
			if err := h.publishChange(c); err != nil {
				h.log.WarnContext(ctx, "streaming event not sent", "err", err)
			}
		}
	}
}

// publishChange renders one change once and publishes it to every
// channel that should hear it.
func (h *handler) publishChange(c storage.Change) error {
	hub := h.opts.Hub
	switch c.Kind {
	case storage.NotificationAdded:
		n := c.Notification
		var payload []byte
		var ok bool
		err := h.store.View(func(tx *storage.Tx) error {
			recipient, err := tx.Account(n.RecipientID)
			if err != nil {
				return err
			}
			rd := h.renderer(recipient)
			if err := rd.inContext(tx, "notifications"); err != nil {
				return err
			}
			entity, shown, err := rd.notification(tx, n)
			if err != nil || !shown {
				return err
			}
			ok = true
			payload, err = json.Marshal(entity)
			return err
		})
		if err != nil || !ok {
			return err
		}
		// Rendered for its one recipient, visibility and filters included.
		m := &streaming.Message{Event: streaming.EventNotification, Payload: string(payload), Data: notificationEvent{}}
		hub.Publish(m, streaming.UserChannel(uint64(n.RecipientID)), streaming.NotificationChannel(uint64(n.RecipientID)))
	case storage.StatusCreated, storage.StatusUpdated:
		s := c.Status
		var payload []byte
		var channels []string
		err := h.store.View(func(tx *storage.Tx) error {
			st, err := h.renderer(nil).status(tx, s)
			if err != nil {
				return err
			}
			if payload, err = json.Marshal(st); err != nil {
				return err
			}
			channels, err = statusChannels(tx, s)
			return err
		})
		if err != nil {
			return err
		}
		event := streaming.EventUpdate
		if c.Kind == storage.StatusUpdated {
			event = streaming.EventStatusUpdate
		}
		direct := slices.DeleteFunc(slices.Clone(channels), func(ch string) bool { return !strings.HasPrefix(ch, "direct:") })
		channels = slices.DeleteFunc(channels, func(ch string) bool { return strings.HasPrefix(ch, "direct:") })
		hub.Publish(&streaming.Message{Event: event, Payload: string(payload), Data: streamed{status: s}}, channels...)
		if len(direct) > 0 {
			return h.publishConversation(s)
		}
	case storage.StatusDeleted:
		s := c.Status
		var channels []string
		err := h.store.View(func(tx *storage.Tx) error {
			var err error
			channels, err = statusChannels(tx, s)
			return err
		})
		if err != nil {
			return err
		}
		// No Keep check for deletes: telling someone an ID is gone reveals
		// nothing, and a client that never saw it ignores it.
		hub.Publish(&streaming.Message{Event: streaming.EventDelete, Payload: s.ID.String()}, channels...)
	}
	return nil
}

// publishConversation sends each local participant of a direct message
// the conversation it belongs to, rendered for them, on their direct
// stream (Mastodon's "conversation" event).
func (h *handler) publishConversation(s *storage.Status) error {
	return h.store.View(func(tx *storage.Tx) error {
		for _, id := range append([]storage.ID{s.AccountID}, s.Mentions...) {
			me, err := tx.Account(id)
			if err != nil || !me.Local() || !slices.Contains(s.HomeOf, id) {
				continue
			}
			c, err := h.conversation(tx, h.renderer(me), me, tx.ThreadRoot(s), s)
			if err != nil {
				return err
			}
			if c == nil {
				continue // hidden by them
			}
			payload, err := json.Marshal(c)
			if err != nil {
				return err
			}
			h.opts.Hub.Publish(&streaming.Message{Event: streaming.EventConversation, Payload: string(payload),
				Data: streamed{status: s}}, streaming.DirectChannel(uint64(id)))
		}
		return nil
	})
}

// statusChannels lists where a status goes live: the home timelines it
// was fanned into (and those owners' lists it belongs in, as their
// timelines would show it), the
// public and hashtag streams when public, and the direct streams of the
// people in a direct conversation.
func statusChannels(tx *storage.Tx, s *storage.Status) ([]string, error) {
	var out []string
	for _, owner := range s.HomeOf {
		out = append(out, streaming.UserChannel(uint64(owner)))
		lists, err := tx.ListsOf(owner)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			if inListTimeline(tx, l, s) {
				out = append(out, streaming.ListChannel(uint64(l.ID)))
			}
		}
	}
	switch {
	case s.ReblogOfID != 0:
		// Boosts go to home timelines and lists only, as in Mastodon and
		// the public timelines here.
	case s.Visibility == storage.VisibilityPublic:
		out = append(out, streaming.PublicChannel)
		if s.Local {
			out = append(out, streaming.LocalChannel)
		} else {
			out = append(out, streaming.RemoteChannel)
		}
		if len(s.MediaIDs) > 0 {
			out = append(out, streaming.PublicMediaChannel)
			if s.Local {
				out = append(out, streaming.LocalMediaChannel)
			} else {
				out = append(out, streaming.RemoteMediaChannel)
			}
		}
		for _, tag := range s.Tags {
			out = append(out, streaming.HashtagChannel(tag, false))
			if s.Local {
				out = append(out, streaming.HashtagChannel(tag, true))
			}
		}
	case s.Visibility == storage.VisibilityDirect:
		for _, id := range append([]storage.ID{s.AccountID}, s.Mentions...) {
			if a, err := tx.Account(id); err == nil && a.Local() {
				out = append(out, streaming.DirectChannel(uint64(id)))
			}
		}
	}
	return out, nil
}

// filterContext is the filter context of a stream, as Mastodon's
// streaming server uses: home for the user and list streams, public for
// the public and hashtag ones, thread for direct messages.
func filterContext(s streaming.Stream) string {
	switch {
	case s.Name == streaming.StreamUser || s.Name == streaming.StreamList:
		return "home"
	case s.Name == streaming.StreamDirect:
		return "thread"
	case s.Name == streaming.StreamNotification:
		return "notifications"
	}
	return "public"
}

// Personalize decides whether a status reaches the viewer on stream s, in
// one read: viewerMay, then the viewer's filters in the stream's context:
// a status a filter hides there is not sent; one a filter warns about gets
// the viewer's results ("filtered"), as Mastodon's streaming server adds
// them. Statuses no filter matches go out as rendered once.
func (b streamBackend) Personalize(v streaming.Viewer, s streaming.Stream, m *streaming.Message) (string, bool) {
	d, ok := m.Data.(streamed)
	if !ok || d.status == nil {
		return "", true
	}
	var results []FilterResult
	hide := true // until the checks pass
	_ = b.h.store.View(func(tx *storage.Tx) error {
		me, err := tx.Account(storage.ID(v.AccountID))
		if err != nil || !viewerMay(tx, me, d.status) {
			return err
		}
		hide = false
		if m.Event != streaming.EventUpdate && m.Event != streaming.EventStatusUpdate {
			return nil // a conversation: filters are the client's
		}
		rd := b.h.renderer(me)
		if err := rd.inContext(tx, filterContext(s)); err != nil {
			return err
		}
		results, hide = rd.matchFilters(tx, d.status)
		return nil
	})
	if hide {
		return "", false
	}
	if len(results) == 0 {
		return "", true
	}
	var entity map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m.Payload), &entity); err != nil {
		return "", true
	}
	filtered, err := json.Marshal(results)
	if err != nil {
		return "", true
	}
	entity["filtered"] = filtered
	out, err := json.Marshal(entity)
	if err != nil {
		return "", true
	}
	return string(out), true
}

// active reports whether the viewer's account may still stream: a
// suspended one gets nothing more.
func (b streamBackend) active(v streaming.Viewer) bool {
	ok := false
	_ = b.h.store.View(func(tx *storage.Tx) error {
		a, err := tx.Account(storage.ID(v.AccountID))
		ok = err == nil && !a.Suspended
		return nil
	})
	return ok
}

// StreamingSession names a token's streaming connections, for
// streaming.Hub.Disconnect when it is revoked.
func StreamingSession(tokenHash []byte) string { return hex.EncodeToString(tokenHash) }

// streamBackend is the API's side of the streaming hub.
type streamBackend struct{ h *handler }

// StreamingBackend returns what the streaming hub needs from the API:
// token checks, subscription rights and per-viewer filtering.
func StreamingBackend(in *activitypub.Instance, store *storage.Store) streaming.Backend {
	return streamBackend{h: &handler{in: in, store: store}}
}

func (b streamBackend) Authenticate(_ context.Context, token string) (streaming.Viewer, error) {
	t, err := oauth.LookupToken(b.h.store, token)
	if errors.Is(err, oauth.ErrNoToken) {
		return streaming.Viewer{}, fmt.Errorf("%w: the access token is invalid", streaming.ErrUnauthorized)
	}
	if err != nil {
		return streaming.Viewer{}, err
	}
	if t.AccountID == 0 {
		return streaming.Viewer{}, fmt.Errorf("%w: streaming needs a user token", streaming.ErrForbidden)
	}
	var a *storage.Account
	if err := b.h.store.View(func(tx *storage.Tx) error {
		a, err = tx.Account(t.AccountID)
		return err
	}); err != nil || a.Suspended {
		return streaming.Viewer{}, fmt.Errorf("%w: the access token is invalid", streaming.ErrUnauthorized)
	}
	return streaming.Viewer{AccountID: uint64(t.AccountID), Scopes: t.Scopes, Session: StreamingSession(t.Hash)}, nil
}

// Authorize checks scopes as Mastodon's streaming server does (read, or
// read:statuses; read:notifications for notifications only) and that a
// list belongs to the viewer.
func (b streamBackend) Authorize(_ context.Context, v streaming.Viewer, s streaming.Stream) error {
	need := "read:statuses"
	if s.Name == "user:notification" {
		need = "read:notifications"
	}
	if !oauth.Covers(v.Scopes, need) {
		return fmt.Errorf("%w: this stream needs the %s scope", streaming.ErrForbidden, need)
	}
	if s.Name == "list" {
		var l *storage.List
		err := b.h.store.View(func(tx *storage.Tx) error {
			var err error
			l, err = tx.List(storage.ID(s.List))
			return err
		})
		if err != nil || uint64(l.OwnerID) != v.AccountID {
			return fmt.Errorf("%w: no such list", streaming.ErrNotFound)
		}
	}
	return nil
}

// Keep lets notifications through to tokens that may read them (a
// "user" stream opened with read:statuses only gets none) and nothing to
// a suspended account. Statuses are decided by Personalize, which knows
// the stream.
func (b streamBackend) Keep(v streaming.Viewer, m *streaming.Message) bool {
	if _, ok := m.Data.(notificationEvent); ok {
		return oauth.Covers(v.Scopes, "read:notifications") && b.active(v)
	}
	if d, ok := m.Data.(streamed); ok && d.status != nil {
		return true
	}
	return b.active(v)
}

// viewerMay reports whether me may see s live: visible to them (blocks
// included), not from an account they mute (nor a boost of one), not a
// boost by a follow whose boosts they hide.
func viewerMay(tx *storage.Tx, me *storage.Account, s *storage.Status) bool {
	if me.Suspended || !activitypub.VisibleTo(tx, s, me) {
		return false
	}
	authors := []storage.ID{s.AccountID}
	if s.ReblogOfID != 0 {
		if f, err := tx.Follow(me.ID, s.AccountID); err == nil && f.HideReblogs {
			return false
		}
		if original, err := tx.Status(s.ReblogOfID); err == nil {
			authors = append(authors, original.AccountID)
		}
	}
	for _, author := range authors {
		if author == me.ID {
			continue
		}
		if muted, err := tx.Mutes(me.ID, author); err != nil || muted {
			return false
		}
	}
	return true
}

// announcesFilters wraps a handler that changes the viewer's filters: on
// success, their streams hear filters_changed so clients reload them.
func (h *handler) announcesFilters(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next(rec, r)
		if h.opts.Hub != nil && rec.status < 300 {
			h.opts.Hub.Publish(&streaming.Message{Event: streaming.EventFiltersChanged},
				streaming.UserChannel(uint64(viewer(r).ID)))
		}
	}
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
