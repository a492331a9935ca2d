package mastodon

import (
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Notification is Mastodon's Notification entity.
type Notification struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	CreatedAt string  `json:"created_at"`
	GroupKey  string  `json:"group_key"`
	Account   Account `json:"account"`
	Status    *Status `json:"status,omitempty"`
}

// maxNotificationScan bounds the records one page may read when types
// filter some out.
const maxNotificationScan = 2000

func (rd *renderer) notification(tx *storage.Tx, n *storage.Notification) (Notification, bool, error) {
	from, err := tx.Account(n.FromID)
	if err != nil {
		return Notification{}, false, nil // the actor is gone: skip it
	}
	out := Notification{ID: n.ID.String(), Type: n.Type, CreatedAt: formatTime(n.CreatedAt),
		GroupKey: "ungrouped-" + n.ID.String(), Account: rd.account(from)}
	if n.StatusID != 0 {
		s, err := tx.Status(n.StatusID)
		if err != nil || !activitypub.VisibleTo(tx, s, rd.viewer) {
			return Notification{}, false, nil // deleted or hidden since
		}
		if _, hide := rd.matchFilters(tx, s); hide {
			return Notification{}, false, nil // a filter hides it here
		}
		st, err := rd.status(tx, s)
		if err != nil {
			return Notification{}, false, err
		}
		out.Status = &st
	}
	return out, true, nil
}

// notifications serves GET /api/v1/notifications (types[],
// exclude_types[], account_id, paging).
func (h *handler) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ascending, err := page(q, 40, 80)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	types, exclude := list(q, "types"), list(q, "exclude_types")
	var fromID storage.ID
	if v := q.Get("account_id"); v != "" {
		if fromID, err = storage.ParseID(v); err != nil {
			respond.Error(w, r, h.log, &respond.BadRequest{Reason: "account_id is not an id"})
			return
		}
	}
	me := viewer(r)
	var muted map[storage.ID]bool
	_ = h.store.View(func(tx *storage.Tx) error {
		ids, err := tx.MutedBy(me.ID, 0, 10000)
		muted = map[storage.ID]bool{}
		for _, id := range ids {
			muted[id] = true
		}
		return err
	})
	p.Ascending = ascending
	keep := func(n *storage.Notification) bool {
		return (len(types) == 0 || slices.Contains(types, n.Type)) && !slices.Contains(exclude, n.Type) &&
			(fromID == 0 || n.FromID == fromID) && !muted[n.FromID]
	}
	rd := h.renderer(me)
	out := []Notification{}
	var newest, oldest storage.ID
	err = h.store.View(func(tx *storage.Tx) error {
		if err := rd.inContext(tx, "notifications"); err != nil {
			return err
		}
		ns, err := tx.Notifications(me.ID, p, keep, maxNotificationScan)
		if err != nil {
			return err
		}
		for _, n := range ns {
			entity, ok, err := rd.notification(tx, n)
			if err != nil {
				return err
			}
			if newest == 0 {
				newest = n.ID
			}
			oldest = n.ID
			if ok {
				out = append(out, entity)
			}
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	linkHeader(w, r, h.in.BaseURL(), newest, oldest)
	respond.JSON(w, http.StatusOK, out)
}

// notification serves GET /api/v1/notifications/:id.
func (h *handler) notification(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	var out Notification
	err = h.store.View(func(tx *storage.Tx) error {
		n, err := tx.Notification(me.ID, id)
		if err != nil {
			return err
		}
		var ok bool
		out, ok, err = h.renderer(me).notification(tx, n)
		if err == nil && !ok {
			err = &activitypub.NotFoundError{What: "notification " + id.String()}
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// dismissNotification serves POST /api/v1/notifications/:id/dismiss. It
// is the user's own state, written here directly.
func (h *handler) dismissNotification(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		if _, err := tx.Notification(me.ID, id); err != nil {
			return err
		}
		return tx.DismissNotification(me.ID, id)
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}

// clearNotifications serves POST /api/v1/notifications/clear.
func (h *handler) clearNotifications(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.ClearNotifications(me.ID) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}
