package mastodon

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Timeline paging: 20 by default, 40 at most, as Mastodon.
const (
	defaultLimit = 20
	maxLimit     = 40
	// maxRounds bounds how many storage pages one API page may read when
	// filters skip statuses.
	maxRounds = 10
)

// fetchFunc reads one page of a timeline from storage.
type fetchFunc func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error)

// timeline answers a paged list of statuses: it reads pages until it has
// enough statuses the viewer may see and keep accepts, renders them, and
// sets the Link header.
func (h *handler) timeline(w http.ResponseWriter, r *http.Request, context string, fetch fetchFunc, keep func(*storage.Tx, *storage.Status) bool) {
	p, ascending, err := page(r.URL.Query(), defaultLimit, maxLimit)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	var out []Status
	var newest, oldest storage.ID
	rd := h.renderer(me)
	err = h.store.View(func(tx *storage.Tx) error {
		if err := rd.inContext(tx, context); err != nil {
			return err
		}
		var picked []*storage.Status
		accept := func(s *storage.Status) bool {
			if !activitypub.VisibleTo(tx, s, me) || (keep != nil && !keep(tx, s)) {
				return false
			}
			_, hide := rd.matchFilters(tx, s)
			return !hide
		}
		if ascending {
			// The page just above min_id: walk upward from it, then show
			// newest first.
			cursor := storage.Page{MinID: p.MinID, MaxID: p.MaxID, Limit: p.Limit, Ascending: true}
			var upward []*storage.Status
			for round := 0; round < maxRounds && len(upward) < p.Limit; round++ {
				batch, err := fetch(tx, cursor) // newest first, just above cursor.MinID
				if err != nil {
					return err
				}
				for i := len(batch) - 1; i >= 0 && len(upward) < p.Limit; i-- {
					if accept(batch[i]) {
						upward = append(upward, batch[i])
					}
				}
				if len(batch) < cursor.Limit {
					break
				}
				cursor.MinID = batch[0].ID
			}
			for i := len(upward) - 1; i >= 0; i-- {
				picked = append(picked, upward[i])
			}
		} else {
			cursor := p
			for round := 0; round < maxRounds && len(picked) < p.Limit; round++ {
				batch, err := fetch(tx, cursor)
				if err != nil {
					return err
				}
				for _, s := range batch {
					if len(picked) < p.Limit && accept(s) {
						picked = append(picked, s)
					}
				}
				if len(batch) < cursor.Limit {
					break
				}
				cursor.MaxID = batch[len(batch)-1].ID
			}
		}
		if len(picked) > 0 {
			newest, oldest = picked[0].ID, picked[len(picked)-1].ID
		}
		out, err = rd.statuses(tx, picked)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	linkHeader(w, r, h.in.BaseURL(), newest, oldest)
	respond.JSON(w, http.StatusOK, out)
}

// homeTimeline serves GET /api/v1/timelines/home.
func (h *handler) homeTimeline(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	var exclusive map[storage.ID]bool
	h.timeline(w, r, "home", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		if exclusive == nil {
			var err error
			if exclusive, err = exclusiveMembers(tx, me.ID); err != nil {
				return nil, err
			}
		}
		return tx.HomeTimeline(me.ID, p)
	}, func(tx *storage.Tx, s *storage.Status) bool {
		if exclusive[s.AccountID] && s.AccountID != me.ID {
			return false // shown in its exclusive list instead
		}
		if s.ReblogOfID != 0 {
			if f, err := tx.Follow(me.ID, s.AccountID); err == nil && f.HideReblogs {
				return false
			}
		}
		// Muted accounts stay out of the home timeline, boosts of them too.
		if muted, err := tx.Mutes(me.ID, s.AccountID); err != nil || muted {
			return false
		}
		if s.ReblogOfID != 0 {
			if orig, err := tx.Status(s.ReblogOfID); err == nil {
				if muted, err := tx.Mutes(me.ID, orig.AccountID); err != nil || muted {
					return false
				}
			}
		}
		return true
	})
}

// publicTimeline serves GET /api/v1/timelines/public (local, remote,
// only_media).
func (h *handler) publicTimeline(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	local, _ := boolParam(q, "local")
	remote, _ := boolParam(q, "remote")
	onlyMedia, _ := boolParam(q, "only_media")
	h.timeline(w, r, "public", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.PublicTimeline(p, local, remote)
	}, func(_ *storage.Tx, s *storage.Status) bool { return !onlyMedia || len(s.MediaIDs) > 0 })
}

// tagTimeline serves GET /api/v1/timelines/tag/:hashtag.
func (h *handler) tagTimeline(w http.ResponseWriter, r *http.Request) {
	tag := strings.ToLower(mux.Vars(r)["tag"])
	local, _ := boolParam(r.URL.Query(), "local")
	h.timeline(w, r, "public", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.TagTimeline(tag, p)
	}, func(_ *storage.Tx, s *storage.Status) bool {
		return s.Visibility == storage.VisibilityPublic && (!local || s.Local)
	})
}
