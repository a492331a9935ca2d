package mastodon

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Conversation is Mastodon's Conversation entity: a direct-message
// thread.
type Conversation struct {
	ID         string    `json:"id"`
	Unread     bool      `json:"unread"`
	Accounts   []Account `json:"accounts"`
	LastStatus *Status   `json:"last_status"`
}

// maxConversationScan bounds the home timeline entries read to find
// direct conversations.
const maxConversationScan = 2000

// conversations serves GET /api/v1/conversations: direct threads the
// viewer is in, the most recently active first, keyed by their root.
func (h *handler) conversations(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	p, _, err := page(r.URL.Query(), 20, 40)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	rd := h.renderer(me)
	out := []Conversation{}
	err = h.store.View(func(tx *storage.Tx) error {
		seen := map[storage.ID]bool{}
		cursor := storage.Page{MaxID: p.MaxID, Limit: 200}
		for scanned := 0; scanned < maxConversationScan && len(out) < p.Limit; {
			batch, err := tx.HomeTimeline(me.ID, cursor)
			if err != nil || len(batch) == 0 {
				return err
			}
			for _, s := range batch {
				scanned++
				if s.Visibility != storage.VisibilityDirect || len(out) >= p.Limit {
					continue
				}
				root := tx.ThreadRoot(s)
				if seen[root] {
					continue
				}
				seen[root] = true
				c, err := h.conversation(tx, rd, me, root, s)
				if err != nil {
					return err
				}
				if c != nil {
					out = append(out, *c)
				}
			}
			cursor.MaxID = batch[len(batch)-1].ID
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// conversation renders the thread rooted at root, whose latest status is
// last; nil when the viewer hid it.
func (h *handler) conversation(tx *storage.Tx, rd *renderer, me *storage.Account, root storage.ID, last *storage.Status) (*Conversation, error) {
	state, err := tx.Conversation(me.ID, root)
	if err != nil || state.Hidden {
		return nil, err
	}
	st, err := rd.status(tx, last)
	if err != nil {
		return nil, err
	}
	c := &Conversation{ID: root.String(), Unread: state.Read < last.ID && last.AccountID != me.ID, Accounts: []Account{}, LastStatus: &st}
	participants := append([]storage.ID{last.AccountID}, last.Mentions...)
	seen := map[storage.ID]bool{me.ID: true}
	for _, id := range participants {
		if seen[id] {
			continue
		}
		seen[id] = true
		if a, err := tx.Account(id); err == nil {
			c.Accounts = append(c.Accounts, rd.account(a))
		}
	}
	return c, nil
}

// changeConversation serves POST /api/v1/conversations/:id/read and
// DELETE /api/v1/conversations/:id: the viewer's own state.
func (h *handler) changeConversation(hide bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		root, err := pathID(mux.Vars(r)["id"])
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		me := viewer(r)
		var latest *storage.Status
		if err := h.store.View(func(tx *storage.Tx) error {
			s, err := tx.Status(root)
			if err != nil || !activitypub.VisibleTo(tx, s, me) {
				return &activitypub.NotFoundError{What: "conversation " + root.String()}
			}
			latest = s
			replies, err := tx.Replies(root, storage.Page{Limit: 1})
			if err == nil && len(replies) > 0 && activitypub.VisibleTo(tx, replies[0], me) {
				latest = replies[0]
			}
			return err
		}); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
			state, err := tx.Conversation(me.ID, root)
			if err != nil {
				return err
			}
			if hide {
				state.Hidden = true
			} else {
				state.Read = max(state.Read, latest.ID)
			}
			return tx.PutConversation(me.ID, root, state)
		})
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		if hide {
			respond.JSON(w, http.StatusOK, map[string]any{})
			return
		}
		var out *Conversation
		if err := h.store.View(func(tx *storage.Tx) error {
			out, err = h.conversation(tx, h.renderer(me), me, root, latest)
			return err
		}); err != nil || out == nil {
			respond.Error(w, r, h.log, &activitypub.NotFoundError{What: "conversation " + root.String()})
			return
		}
		respond.JSON(w, http.StatusOK, out)
	}
}

// muteThread serves POST /api/v1/statuses/:id/mute and unmute: no more
// notifications from that thread.
func (h *handler) muteThread(mute bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.statusAction(w, r, func(me *storage.Account, s *storage.Status) error {
			return h.store.Batch(r.Context(), func(tx *storage.Tx) error {
				root := tx.ThreadRoot(s)
				if mute {
					return tx.MuteThread(me.ID, root)
				}
				return tx.UnmuteThread(me.ID, root)
			})
		})
	}
}
