package mastodon

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// TagEntity is Mastodon's Tag with history and following.
type TagEntity struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	History   []any  `json:"history"`
	Following bool   `json:"following"`
}

func (h *handler) tagEntity(tx *storage.Tx, me *storage.Account, name string) (TagEntity, error) {
	t := TagEntity{Name: name, URL: h.in.BaseURL() + "/tags/" + name, History: []any{}}
	if me != nil {
		var err error
		if t.Following, err = tx.FollowsTag(me.ID, name); err != nil {
			return t, err
		}
	}
	return t, nil
}

func tagName(r *http.Request) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(mux.Vars(r)["name"], "#"))
	if m := tagQuery.FindStringSubmatch(name); m == nil || len(name) > 100 {
		return "", &respond.BadRequest{Reason: "not a hashtag"}
	}
	return name, nil
}

// tag serves GET /api/v1/tags/:name.
func (h *handler) tag(w http.ResponseWriter, r *http.Request) {
	name, err := tagName(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	var out TagEntity
	if err := h.store.View(func(tx *storage.Tx) error {
		out, err = h.tagEntity(tx, viewer(r), name)
		return err
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// followTag serves POST /api/v1/tags/:name/follow and unfollow: a purely
// local preference.
func (h *handler) followTag(follow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := tagName(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		me := viewer(r)
		if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
			if follow {
				return tx.FollowTag(me.ID, name)
			}
			return tx.UnfollowTag(me.ID, name)
		}); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		h.tag(w, r)
	}
}

// followedTags serves GET /api/v1/followed_tags.
func (h *handler) followedTags(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	out := []TagEntity{}
	err := h.store.View(func(tx *storage.Tx) error {
		names, err := tx.FollowedTags(me.ID)
		for _, n := range names {
			out = append(out, TagEntity{Name: n, URL: h.in.BaseURL() + "/tags/" + n, History: []any{}, Following: true})
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
