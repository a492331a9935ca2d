package mastodon

import (
	"cmp"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// statusByPath loads the status in the path if the viewer may see it;
// one it may not see is not found.
func (h *handler) statusByPath(r *http.Request) (*storage.Status, error) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	var s *storage.Status
	err = h.store.View(func(tx *storage.Tx) error {
		if s, err = tx.Status(id); err != nil {
			return err
		}
		if !activitypub.VisibleTo(tx, s, viewer(r)) {
			return &activitypub.NotFoundError{What: "status " + id.String()}
		}
		return nil
	})
	return s, err
}

// writeStatus renders one status.
func (h *handler) writeStatus(w http.ResponseWriter, r *http.Request, s *storage.Status, withText bool) {
	var out Status
	err := h.store.View(func(tx *storage.Tx) error {
		var err error
		out, err = h.renderer(viewer(r)).status(tx, s)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if withText {
		out.Text = &s.Text
	}
	respond.JSON(w, http.StatusOK, out)
}

// idempotency remembers, per account and Idempotency-Key, the status a
// POST created, for an hour, so a retried request does not post twice.
type idempotency struct {
	mu       sync.Mutex
	seen     map[string]idempotentResult
	inFlight map[string]chan struct{}
}

// reserve makes concurrent requests with the same key wait for the first:
// it returns a release function for the caller to call when done.
func (c *idempotency) reserve(key string) func() {
	for {
		c.mu.Lock()
		if c.inFlight == nil {
			c.inFlight = map[string]chan struct{}{}
		}
		wait, busy := c.inFlight[key]
		if !busy {
			done := make(chan struct{})
			c.inFlight[key] = done
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.inFlight, key)
				c.mu.Unlock()
				close(done)
			}
		}
		c.mu.Unlock()
		<-wait
	}
}

type idempotentResult struct {
	id storage.ID
	at time.Time
}

const idempotencyTTL = time.Hour

func (c *idempotency) get(key string, now time.Time) (storage.ID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.seen[key]
	if !ok || now.Sub(r.at) > idempotencyTTL {
		return 0, false
	}
	return r.id, true
}

func (c *idempotency) put(key string, id storage.ID, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) > 10000 {
		c.seen = map[string]idempotentResult{} // bounded: forget everything at once
	}
	c.seen[key] = idempotentResult{id, now}
}

// createStatus serves POST /api/v1/statuses.
func (h *handler) createStatus(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	key := ""
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		key = me.ID.String() + "\x00" + k
		release := h.idem.reserve(key)
		defer release()
		if id, ok := h.idem.get(key, time.Now()); ok {
			var s *storage.Status
			if err := h.store.View(func(tx *storage.Tx) error {
				var err error
				s, err = tx.Status(id)
				return err
			}); err == nil {
				h.writeStatus(w, r, s, false)
				return
			}
		}
	}
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	mediaIDs, err := idList(p, "media_ids")
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if _, ok := p["poll[options][]"]; ok {
		respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "poll", Reason: "is not supported yet"})
		return
	}
	sensitive, _ := boolParam(p, "sensitive")
	d := activitypub.Draft{
		Text: p.Get("status"), Visibility: p.Get("visibility"), SpoilerText: p.Get("spoiler_text"),
		Sensitive: sensitive, Language: p.Get("language"), MediaIDs: mediaIDs,
	}
	if d.Visibility == "" || d.Language == "" {
		// The user's posting defaults.
		_ = h.store.View(func(tx *storage.Tx) error {
			if u, err := tx.User(me.ID); err == nil {
				d.Visibility = cmp.Or(d.Visibility, u.DefaultPrivacy)
				d.Language = cmp.Or(d.Language, u.DefaultLanguage)
			}
			return nil
		})
	}
	if v := p.Get("in_reply_to_id"); v != "" {
		id, err := storage.ParseID(v)
		if err != nil {
			respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "in_reply_to_id", Reason: "is not a known status"})
			return
		}
		// A reply must be to something the author can see.
		if err := h.store.View(func(tx *storage.Tx) error {
			parent, err := tx.Status(id)
			if err != nil || !activitypub.VisibleTo(tx, parent, me) {
				return &activitypub.InvalidError{Field: "in_reply_to_id", Reason: "is not a known status"}
			}
			return nil
		}); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		d.InReplyTo = id
	}
	s, err := h.in.PostStatus(r.Context(), me, d)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if key != "" {
		h.idem.put(key, s.ID, time.Now())
	}
	h.writeStatus(w, r, s, false)
}

// getStatus serves GET /api/v1/statuses/:id.
func (h *handler) getStatus(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.writeStatus(w, r, s, false)
}

// ownStatus loads the status in the path if the viewer wrote it; anyone
// else's is not found, as Mastodon answers.
func (h *handler) ownStatus(r *http.Request) (*storage.Status, error) {
	s, err := h.statusByPath(r)
	if err == nil && (viewer(r) == nil || s.AccountID != viewer(r).ID) {
		err = &activitypub.NotFoundError{What: "status " + s.ID.String()}
	}
	return s, err
}

// editStatus serves PUT /api/v1/statuses/:id.
func (h *handler) editStatus(w http.ResponseWriter, r *http.Request) {
	s, err := h.ownStatus(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	sensitive, _ := boolParam(p, "sensitive")
	mediaIDs := s.MediaIDs // an edit without media_ids keeps the attachments
	_, given := p["media_ids"]
	_, givenAsArray := p["media_ids[]"]
	if given || givenAsArray {
		if mediaIDs, err = idList(p, "media_ids"); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
	}
	changes, err := mediaAttributes(p)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	edited, err := h.in.EditStatus(r.Context(), viewer(r), s.ID, activitypub.Draft{
		Text: p.Get("status"), SpoilerText: p.Get("spoiler_text"), Sensitive: sensitive, MediaIDs: mediaIDs,
		MediaChanges: changes,
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.writeStatus(w, r, edited, false)
}

// deleteStatus serves DELETE /api/v1/statuses/:id: it answers with the
// deleted status and its source text, for "delete and redraft".
func (h *handler) deleteStatus(w http.ResponseWriter, r *http.Request) {
	s, err := h.ownStatus(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	var out Status
	if err := h.store.View(func(tx *storage.Tx) error {
		var err error
		out, err = h.renderer(viewer(r)).status(tx, s)
		return err
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.in.DeleteStatus(r.Context(), viewer(r), s.ID); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	out.Text = &s.Text
	respond.JSON(w, http.StatusOK, out)
}

// Context limits, as Mastodon's.
const (
	maxAncestors   = 40
	maxDescendants = 60
)

// statusContext serves GET /api/v1/statuses/:id/context.
func (h *handler) statusContext(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	out := map[string][]Status{"ancestors": {}, "descendants": {}}
	err = h.store.View(func(tx *storage.Tx) error {
		var ancestors, descendants []*storage.Status
		for id := s.InReplyToID; id != 0 && len(ancestors) < maxAncestors; {
			parent, err := tx.Status(id)
			if err != nil {
				break
			}
			if activitypub.VisibleTo(tx, parent, me) {
				ancestors = append([]*storage.Status{parent}, ancestors...)
			}
			id = parent.InReplyToID
		}
		queue := []storage.ID{s.ID}
		for len(queue) > 0 && len(descendants) < maxDescendants {
			replies, err := tx.Replies(queue[0], storage.Page{Limit: maxDescendants})
			queue = queue[1:]
			if err != nil {
				return err
			}
			// Replies come newest first; a thread reads oldest first.
			for i := len(replies) - 1; i >= 0 && len(descendants) < maxDescendants; i-- {
				if activitypub.VisibleTo(tx, replies[i], me) {
					descendants = append(descendants, replies[i])
					queue = append(queue, replies[i].ID)
				}
			}
		}
		rd := h.renderer(me)
		if err := rd.inContext(tx, "thread"); err != nil {
			return err
		}
		if out["ancestors"], err = rd.statuses(tx, ancestors); err != nil {
			return err
		}
		out["descendants"], err = rd.statuses(tx, descendants)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// statusAction runs a local action on the status in the path and answers
// with the status as it now is.
func (h *handler) statusAction(w http.ResponseWriter, r *http.Request, act func(me *storage.Account, s *storage.Status) error) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := act(viewer(r), s); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	var fresh *storage.Status
	if err := h.store.View(func(tx *storage.Tx) error {
		var err error
		fresh, err = tx.Status(s.ID)
		return err
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.writeStatus(w, r, fresh, false)
}

func (h *handler) favourite(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.in.Favourite(r.Context(), me, s.ID)
	})
}

func (h *handler) unfavourite(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.in.Unfavourite(r.Context(), me, s.ID)
	})
}

// reblog answers with the boost, which wraps the boosted status.
func (h *handler) reblog(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	target := s.ID
	if s.ReblogOfID != 0 {
		target = s.ReblogOfID
	}
	boost, err := h.in.Boost(r.Context(), viewer(r), target)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.writeStatus(w, r, boost, false)
}

func (h *handler) unreblog(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		target := s.ID
		if s.ReblogOfID != 0 {
			target = s.ReblogOfID
		}
		return h.in.Unboost(r.Context(), me, target)
	})
}
