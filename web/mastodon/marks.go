package mastodon

import (
	"net/http"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Bookmarks and mutes are the user's own state, so they are written here
// directly; pins are federated (the featured collection) and go through
// activitypub.

func (h *handler) bookmark(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutBookmark(me.ID, s.ID) })
	})
}

func (h *handler) unbookmark(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.DeleteBookmark(me.ID, s.ID) })
	})
}

// bookmarks serves GET /api/v1/bookmarks.
func (h *handler) bookmarks(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	h.timeline(w, r, "", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.BookmarkedStatuses(me.ID, p)
	}, nil)
}

func (h *handler) pin(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.in.Pin(r.Context(), me, s.ID)
	})
}

func (h *handler) unpin(w http.ResponseWriter, r *http.Request) {
	h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
		return h.in.Unpin(r.Context(), me, s.ID)
	})
}

func (h *handler) mute(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		if me.ID == target.ID {
			return &activitypub.InvalidError{Field: "account", Reason: "cannot be yourself"}
		}
		return h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutMute(me.ID, target.ID) })
	})(w, r)
}

func (h *handler) unmute(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		return h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.DeleteMute(me.ID, target.ID) })
	})(w, r)
}

// mutes serves GET /api/v1/mutes.
func (h *handler) mutes(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	p, _, err := page(r.URL.Query(), 40, 80)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountsByIDs(w, r, func(tx *storage.Tx) ([]storage.ID, error) {
		return tx.MutedBy(me.ID, p.MaxID, p.Limit)
	})
}

// pinnedStatuses answers ?pinned=true on an account's statuses.
func (h *handler) pinnedStatuses(w http.ResponseWriter, r *http.Request, account *storage.Account) {
	h.timeline(w, r, "", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		if p.MaxID != 0 {
			return nil, nil // one page only
		}
		ids, err := tx.Pins(account.ID, p.Limit)
		if err != nil {
			return nil, err
		}
		var out []*storage.Status
		for _, id := range ids {
			if s, err := tx.Status(id); err == nil {
				out = append(out, s)
			}
		}
		return out, nil
	}, nil)
}
