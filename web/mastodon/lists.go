package mastodon

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Lists are the user's own state: written here directly.

// ListEntity is Mastodon's List.
type ListEntity struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	RepliesPolicy string `json:"replies_policy"`
	Exclusive     bool   `json:"exclusive"`
}

func listEntity(l *storage.List) ListEntity {
	return ListEntity{ID: l.ID.String(), Title: l.Title, RepliesPolicy: l.RepliesPolicy, Exclusive: l.Exclusive}
}

var repliesPolicies = []string{"followed", "list", "none"}

// ownList loads the list in the path if the viewer owns it.
func (h *handler) ownList(r *http.Request) (*storage.List, error) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	var l *storage.List
	err = h.store.View(func(tx *storage.Tx) error {
		l, err = tx.List(id)
		return err
	})
	if err == nil && l.OwnerID != viewer(r).ID {
		err = &activitypub.NotFoundError{What: "list " + id.String()}
	}
	return l, err
}

func (h *handler) lists(w http.ResponseWriter, r *http.Request) {
	out := []ListEntity{}
	err := h.store.View(func(tx *storage.Tx) error {
		ls, err := tx.ListsOf(viewer(r).ID)
		for _, l := range ls {
			out = append(out, listEntity(l))
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) getList(w http.ResponseWriter, r *http.Request) {
	l, err := h.ownList(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, listEntity(l))
}

// saveList serves POST /api/v1/lists and PUT /api/v1/lists/:id.
func (h *handler) saveList(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	l := &storage.List{ID: h.store.NewID(), OwnerID: viewer(r).ID, RepliesPolicy: "list"}
	if mux.Vars(r)["id"] != "" {
		if l, err = h.ownList(r); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
	}
	if v, ok := p["title"]; ok || l.Title == "" {
		title := ""
		if len(v) > 0 {
			title = strings.TrimSpace(v[0])
		}
		if title == "" {
			respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "title", Reason: "can't be blank"})
			return
		}
		l.Title = title
	}
	if v := p.Get("replies_policy"); v != "" {
		if !slices.Contains(repliesPolicies, v) {
			respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "replies_policy", Reason: "must be followed, list or none"})
			return
		}
		l.RepliesPolicy = v
	}
	if v, ok := boolParam(p, "exclusive"); ok {
		l.Exclusive = v
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutList(l) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, listEntity(l))
}

func (h *handler) deleteList(w http.ResponseWriter, r *http.Request) {
	l, err := h.ownList(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.DeleteList(l.ID) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}

func (h *handler) listAccounts(w http.ResponseWriter, r *http.Request) {
	l, err := h.ownList(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountsByIDs(w, r, func(tx *storage.Tx) ([]storage.ID, error) { return tx.ListMembers(l.ID) })
}

// changeListAccounts adds (or removes) account_ids[]; only followed
// accounts may be added, as Mastodon requires.
func (h *handler) changeListAccounts(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, err := h.ownList(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		p, err := params(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		me := viewer(r)
		err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
			for _, raw := range list(p, "account_ids") {
				id, err := storage.ParseID(raw)
				if err != nil {
					return &activitypub.NotFoundError{What: "account " + raw}
				}
				if !add {
					if err := tx.RemoveListMember(l.ID, id); err != nil {
						return err
					}
					continue
				}
				if f, err := tx.Follow(me.ID, id); err != nil || f.Pending {
					return &activitypub.InvalidError{Field: "account_ids", Reason: "must be accounts you follow"}
				}
				if err := tx.AddListMember(l.ID, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		respond.JSON(w, http.StatusOK, map[string]any{})
	}
}

// listTimeline serves GET /api/v1/timelines/list/:id: the owner's home
// timeline narrowed to the list's accounts and its replies policy.
func (h *handler) listTimeline(w http.ResponseWriter, r *http.Request) {
	l, err := h.ownList(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.timeline(w, r, "home", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.HomeTimeline(l.OwnerID, p)
	}, func(tx *storage.Tx, s *storage.Status) bool { return inListTimeline(tx, l, s) })
}

// inListTimeline reports whether a status of its owner's home timeline
// belongs in list l: by one of its accounts, a boost unless the owner
// hides that account's boosts, and replies as the list's policy allows.
// The list timeline and the list stream both use it.
func inListTimeline(tx *storage.Tx, l *storage.List, s *storage.Status) bool {
	owner := l.OwnerID
	on, err := tx.OnList(l.ID, s.AccountID)
	if err != nil || !on {
		return false
	}
	if s.ReblogOfID != 0 {
		f, err := tx.Follow(owner, s.AccountID)
		return err == nil && !f.HideReblogs // boosts, unless hidden
	}
	if s.InReplyToAccountID == 0 || s.InReplyToAccountID == s.AccountID {
		return true
	}
	switch l.RepliesPolicy {
	case "none":
		return false
	case "list":
		on, err := tx.OnList(l.ID, s.InReplyToAccountID)
		return err == nil && (on || s.InReplyToAccountID == owner)
	}
	f, err := tx.Follow(owner, s.InReplyToAccountID)
	return s.InReplyToAccountID == owner || (err == nil && !f.Pending)
}

// exclusiveMembers returns the accounts on the viewer's exclusive lists:
// their posts appear in those lists, not in home.
func exclusiveMembers(tx *storage.Tx, owner storage.ID) (map[storage.ID]bool, error) {
	ls, err := tx.ListsOf(owner)
	if err != nil {
		return nil, err
	}
	out := map[storage.ID]bool{}
	for _, l := range ls {
		if !l.Exclusive {
			continue
		}
		ids, err := tx.ListMembers(l.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}
