package mastodon

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// preferences serves GET /api/v1/preferences.
func (h *handler) preferences(w http.ResponseWriter, r *http.Request) {
	var u *storage.User
	if err := h.store.View(func(tx *storage.Tx) error {
		var err error
		u, err = tx.User(viewer(r).ID)
		return err
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"posting:default:visibility": cmp.Or(u.DefaultPrivacy, storage.VisibilityPublic),
		"posting:default:sensitive":  u.DefaultSensitive, "posting:default:language": optionalString(u.DefaultLanguage),
		"reading:expand:media": "default", "reading:expand:spoilers": false,
	})
}

// markers serves GET /api/v1/markers?timeline[]=home&timeline[]=notifications.
func (h *handler) markers(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	wanted := list(r.URL.Query(), "timeline")
	out := map[string]any{}
	err := h.store.View(func(tx *storage.Tx) error {
		m, err := tx.Markers(me.ID)
		for name, mk := range m {
			if len(wanted) == 0 || slices.Contains(wanted, name) {
				out[name] = map[string]any{"last_read_id": mk.LastReadID.String(), "version": mk.Version, "updated_at": formatTime(mk.UpdatedAt)}
			}
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// saveMarkers serves POST /api/v1/markers (home[last_read_id],
// notifications[last_read_id]). Markers are the user's own state.
func (h *handler) saveMarkers(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	updates := map[string]storage.ID{}
	for _, name := range []string{"home", "notifications"} {
		if v := p.Get(name + "[last_read_id]"); v != "" {
			id, err := storage.ParseID(v)
			if err != nil {
				respond.Error(w, r, h.log, &activitypub.InvalidError{Field: name + "[last_read_id]", Reason: "is not an id"})
				return
			}
			updates[name] = id
		}
	}
	now := time.Now().UTC()
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		m, err := tx.Markers(me.ID)
		if err != nil {
			return err
		}
		for name, id := range updates {
			old := m[name]
			m[name] = storage.Marker{LastReadID: id, Version: old.Version + 1, UpdatedAt: now}
		}
		return tx.PutMarkers(me.ID, m)
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.markers(w, r)
}

// unreadCount serves GET /api/v1/notifications/unread_count: the
// notifications newer than the notifications marker.
func (h *handler) unreadCount(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	count := 0
	err := h.store.View(func(tx *storage.Tx) error {
		m, err := tx.Markers(me.ID)
		if err != nil {
			return err
		}
		ns, err := tx.Notifications(me.ID, storage.Page{MinID: m["notifications"].LastReadID, Limit: 1000}, nil, 1000)
		count = len(ns)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]int{"count": count})
}

// accountsByIDs renders accounts by ID, skipping missing ones.
func (h *handler) accountsByIDs(w http.ResponseWriter, r *http.Request, ids func(tx *storage.Tx) ([]storage.ID, error)) {
	rd := h.renderer(viewer(r))
	out := []Account{}
	err := h.store.View(func(tx *storage.Tx) error {
		list, err := ids(tx)
		if err != nil {
			return err
		}
		for _, id := range list {
			if a, err := tx.Account(id); err == nil {
				out = append(out, rd.account(a))
			}
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// favouritedBy serves GET /api/v1/statuses/:id/favourited_by.
func (h *handler) favouritedBy(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountsByIDs(w, r, func(tx *storage.Tx) ([]storage.ID, error) {
		ids, err := tx.FavouritedBy(s.ID)
		if len(ids) > 80 {
			ids = ids[:80]
		}
		return ids, err
	})
}

// rebloggedBy serves GET /api/v1/statuses/:id/reblogged_by.
func (h *handler) rebloggedBy(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountsByIDs(w, r, func(tx *storage.Tx) ([]storage.ID, error) {
		boosts, err := tx.Reblogs(s.ID)
		if err != nil {
			return nil, err
		}
		var ids []storage.ID
		for _, b := range boosts {
			if boost, err := tx.Status(b); err == nil && len(ids) < 80 {
				ids = append(ids, boost.AccountID)
			}
		}
		return ids, nil
	})
}

// blocks serves GET /api/v1/blocks.
func (h *handler) blocks(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	p, _, err := page(r.URL.Query(), 40, 80)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountsByIDs(w, r, func(tx *storage.Tx) ([]storage.ID, error) {
		return tx.BlockedBy(me.ID, p.MaxID, p.Limit)
	})
}

// favourites serves GET /api/v1/favourites: the statuses the user liked.
func (h *handler) favourites(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	h.timeline(w, r, "", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.FavouritedStatuses(me.ID, p)
	}, nil)
}

// StatusEdit is Mastodon's StatusEdit entity.
type StatusEdit struct {
	Content          string       `json:"content"`
	SpoilerText      string       `json:"spoiler_text"`
	Sensitive        bool         `json:"sensitive"`
	CreatedAt        string       `json:"created_at"`
	Account          Account      `json:"account"`
	MediaAttachments []Attachment `json:"media_attachments"`
	Emojis           []any        `json:"emojis"`
}

// history serves GET /api/v1/statuses/:id/history: every version, oldest
// first, the current one last.
func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	out := []StatusEdit{}
	err = h.store.View(func(tx *storage.Tx) error {
		author, err := tx.Account(s.AccountID)
		if err != nil {
			return err
		}
		acct := h.renderer(viewer(r)).account(author)
		for _, e := range s.Edits {
			out = append(out, StatusEdit{Content: e.Content, SpoilerText: e.Summary, Sensitive: e.Sensitive,
				CreatedAt: formatTime(e.At), Account: acct, MediaAttachments: []Attachment{}, Emojis: []any{}})
		}
		out = append(out, StatusEdit{Content: s.Content, SpoilerText: s.Summary, Sensitive: s.Sensitive,
			CreatedAt: formatTime(cmpTimeZero(s.EditedAt, s.CreatedAt)), Account: acct, MediaAttachments: []Attachment{}, Emojis: []any{}})
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func cmpTimeZero(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// source serves GET /api/v1/statuses/:id/source: the text to edit.
func (h *handler) source(w http.ResponseWriter, r *http.Request) {
	s, err := h.statusByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if me := viewer(r); me == nil || s.AccountID != me.ID {
		respond.Error(w, r, h.log, &activitypub.NotFoundError{What: "status source"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"id": s.ID.String(), "text": s.Text, "spoiler_text": s.Summary})
}
