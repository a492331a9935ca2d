package mastodon

import (
	"cmp"
	"errors"
	"html"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// accountByPath loads the account named by the {id} path variable.
func (h *handler) accountByPath(r *http.Request) (*storage.Account, error) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	var a *storage.Account
	err = h.store.View(func(tx *storage.Tx) error {
		a, err = tx.Account(id)
		return err
	})
	if err == nil && a.URI == h.in.InstanceActorURI() {
		err = &activitypub.NotFoundError{What: "account " + id.String()}
	}
	return a, err
}

// credentialAccount renders the signed-in account with its source.
func (h *handler) credentialAccount(tx *storage.Tx, a *storage.Account) (Account, error) {
	out := h.renderer(a).account(a)
	var requests int64
	if err := tx.ForEachFollower(a.ID, func(f *storage.Follow) error {
		if f.Pending {
			requests++
		}
		return nil
	}); err != nil {
		return out, err
	}
	u, err := tx.User(a.ID)
	if err != nil {
		return out, err
	}
	privacy := cmp.Or(u.DefaultPrivacy, storage.VisibilityPublic)
	sourceFields := []any{}
	for _, f := range a.Fields {
		sourceFields = append(sourceFields, map[string]any{"name": html.UnescapeString(f.Name),
			"value": html.UnescapeString(tagPattern.ReplaceAllString(f.Value, "")), "verified_at": nil})
	}
	out.Source = &Source{Privacy: privacy, Sensitive: u.DefaultSensitive, Language: u.DefaultLanguage,
		Note: html.UnescapeString(tagPattern.ReplaceAllString(a.Note, "")), Fields: sourceFields, FollowRequestsCount: requests}
	out.Role = &Role{ID: "-99", Name: "", Permissions: "0", Color: ""}
	if u.Admin {
		out.Role = &Role{ID: "3", Name: "Owner", Permissions: "1048575", Color: "", Highlighted: true}
	}
	return out, nil
}

// verifyCredentials serves GET /api/v1/accounts/verify_credentials.
func (h *handler) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	var out Account
	err := h.store.View(func(tx *storage.Tx) error {
		a, err := tx.Account(viewer(r).ID)
		if err != nil {
			return err
		}
		out, err = h.credentialAccount(tx, a)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// updateCredentials serves PATCH /api/v1/accounts/update_credentials.
func (h *handler) updateCredentials(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	var profile activitypub.Profile
	if v, ok := p["display_name"]; ok && len(v) > 0 {
		profile.DisplayName = &v[0]
	}
	if v, ok := p["note"]; ok && len(v) > 0 {
		profile.Note = &v[0]
	}
	if locked, ok := boolParam(p, "locked"); ok {
		profile.Locked = &locked
	}
	if discoverable, ok := boolParam(p, "discoverable"); ok {
		profile.Discoverable = &discoverable
	}
	if bot, ok := boolParam(p, "bot"); ok {
		profile.Bot = &bot
	}
	if fields, ok := fieldsAttributes(p); ok {
		profile.Fields = &fields
	}
	me := viewer(r)
	// Posting defaults are the user's own preferences; checked before
	// anything changes, so a bad one changes nothing.
	privacy, hasPrivacy := p["source[privacy]"]
	sensitive, hasSensitive := boolParam(p, "source[sensitive]")
	language, hasLanguage := p["source[language]"]
	if hasPrivacy && (len(privacy) == 0 || !slices.Contains([]string{"public", "unlisted", "private", "direct"}, privacy[0])) {
		respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "source[privacy]", Reason: "must be public, unlisted, private or direct"})
		return
	}
	for field, target := range map[string]**storage.ID{storage.MediaUseAvatar: &profile.Avatar, storage.MediaUseHeader: &profile.Header} {
		id, err := h.profileImage(r.Context(), r, me, field)
		if err != nil {
			h.dropUploads(r.Context(), profile.Avatar, profile.Header)
			respond.Error(w, r, h.log, err)
			return
		}
		*target = id
	}
	if _, err := h.in.UpdateProfile(r.Context(), me, profile); err != nil {
		h.dropUploads(r.Context(), profile.Avatar, profile.Header)
		respond.Error(w, r, h.log, err)
		return
	}
	if hasPrivacy || hasSensitive || hasLanguage {
		if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
			u, err := tx.User(me.ID)
			if err != nil {
				return err
			}
			if hasPrivacy {
				u.DefaultPrivacy = privacy[0]
			}
			if hasSensitive {
				u.DefaultSensitive = sensitive
			}
			if hasLanguage && len(language) > 0 {
				u.DefaultLanguage = language[0]
			}
			return tx.PutUser(u)
		}); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
	}
	h.verifyCredentials(w, r)
}

// account serves GET /api/v1/accounts/:id.
func (h *handler) account(w http.ResponseWriter, r *http.Request) {
	a, err := h.accountByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, h.renderer(viewer(r)).account(a))
}

// lookup serves GET /api/v1/accounts/lookup?acct=user[@host], from what
// is stored (no network).
func (h *handler) lookup(w http.ResponseWriter, r *http.Request) {
	acct := strings.TrimPrefix(r.URL.Query().Get("acct"), "@")
	if acct == "" {
		respond.Error(w, r, h.log, &respond.BadRequest{Reason: "acct is required"})
		return
	}
	user, host, _ := strings.Cut(acct, "@")
	if strings.EqualFold(host, h.in.Domain()) {
		host = ""
	}
	var a *storage.Account
	err := h.store.View(func(tx *storage.Tx) error {
		var err error
		a, err = tx.AccountByAcct(user, host)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, h.renderer(viewer(r)).account(a))
}

// relationships serves GET /api/v1/accounts/relationships?id[]=…
func (h *handler) relationships(w http.ResponseWriter, r *http.Request) {
	ids := list(r.URL.Query(), "id")
	if len(ids) > 100 {
		ids = ids[:100]
	}
	rd := h.renderer(viewer(r))
	out := []Relationship{}
	err := h.store.View(func(tx *storage.Tx) error {
		for _, raw := range ids {
			id, err := storage.ParseID(raw)
			if err != nil {
				continue
			}
			a, err := tx.Account(id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rel, err := rd.relationship(tx, a)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// accountStatuses serves GET /api/v1/accounts/:id/statuses: what the
// viewer may see, newest first.
func (h *handler) accountStatuses(w http.ResponseWriter, r *http.Request) {
	a, err := h.accountByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	q := r.URL.Query()
	excludeReplies, _ := boolParam(q, "exclude_replies")
	excludeReblogs, _ := boolParam(q, "exclude_reblogs")
	onlyMedia, _ := boolParam(q, "only_media")
	if pinned, _ := boolParam(q, "pinned"); pinned {
		h.pinnedStatuses(w, r, a)
		return
	}
	tagged := strings.ToLower(q.Get("tagged"))
	h.timeline(w, r, "account", func(tx *storage.Tx, p storage.Page) ([]*storage.Status, error) {
		return tx.AccountStatuses(a.ID, p)
	}, func(_ *storage.Tx, s *storage.Status) bool {
		return !(excludeReplies && s.InReplyToID != 0 && s.InReplyToAccountID != s.AccountID) &&
			!(excludeReblogs && s.ReblogOfID != 0) && !(onlyMedia && len(s.MediaIDs) == 0) &&
			(tagged == "" || slices.Contains(s.Tags, tagged))
	})
}

// followers and following serve the account lists, newest account first.
func (h *handler) followers(w http.ResponseWriter, r *http.Request) { h.followList(w, r, true) }
func (h *handler) following(w http.ResponseWriter, r *http.Request) { h.followList(w, r, false) }

func (h *handler) followList(w http.ResponseWriter, r *http.Request, followers bool) {
	a, err := h.accountByPath(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	p, _, err := page(r.URL.Query(), 40, 80)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	rd := h.renderer(viewer(r))
	out := []Account{}
	var first, last storage.ID
	err = h.store.View(func(tx *storage.Tx) error {
		var follows []*storage.Follow
		var err error
		if followers {
			follows, err = tx.FollowersPage(a.ID, p.MaxID, p.Limit)
		} else {
			follows, err = tx.FollowingPage(a.ID, p.MaxID, p.Limit)
		}
		if err != nil {
			return err
		}
		for _, f := range follows {
			other := f.FollowerID
			if !followers {
				other = f.FollowedID
			}
			acct, err := tx.Account(other)
			if err != nil {
				return err
			}
			if first == 0 {
				first = other
			}
			last = other
			out = append(out, rd.account(acct))
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	linkHeader(w, r, h.in.BaseURL(), first, last)
	respond.JSON(w, http.StatusOK, out)
}

// relationshipWith renders the viewer's relationship with a after an
// action.
func (h *handler) relationshipWith(w http.ResponseWriter, r *http.Request, a *storage.Account) {
	var rel Relationship
	err := h.store.View(func(tx *storage.Tx) error {
		var err error
		rel, err = h.renderer(viewer(r)).relationship(tx, a)
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, rel)
}

// accountAction runs a local action on the account in the path and
// answers with the relationship.
func (h *handler) accountAction(act func(r *http.Request, me, target *storage.Account) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target, err := h.accountByPath(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		if err := act(r, viewer(r), target); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		h.relationshipWith(w, r, target)
	}
}

// follow serves POST /api/v1/accounts/:id/follow, with the local
// preferences reblogs (show boosts, default true) and notify.
func (h *handler) follow(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		if _, err := h.in.Follow(r.Context(), me, target); err != nil {
			return err
		}
		reblogs, hasReblogs := boolParam(p, "reblogs")
		notify, hasNotify := boolParam(p, "notify")
		if !hasReblogs && !hasNotify {
			return nil
		}
		return h.store.Batch(r.Context(), func(tx *storage.Tx) error {
			f, err := tx.Follow(me.ID, target.ID)
			if err != nil {
				return err
			}
			if hasReblogs {
				f.HideReblogs = !reblogs
			}
			if hasNotify {
				f.Notify = notify
			}
			return tx.PutFollow(f)
		})
	})(w, r)
}

func (h *handler) unfollow(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		return h.in.Unfollow(r.Context(), me, target)
	})(w, r)
}

func (h *handler) block(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		return h.in.Block(r.Context(), me, target)
	})(w, r)
}

func (h *handler) unblock(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, target *storage.Account) error {
		return h.in.Unblock(r.Context(), me, target)
	})(w, r)
}

// followRequests serves GET /api/v1/follow_requests.
func (h *handler) followRequests(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	rd := h.renderer(me)
	out := []Account{}
	err := h.store.View(func(tx *storage.Tx) error {
		return tx.ForEachFollower(me.ID, func(f *storage.Follow) error {
			if !f.Pending || len(out) >= 80 {
				return nil
			}
			a, err := tx.Account(f.FollowerID)
			if err != nil {
				return err
			}
			out = append(out, rd.account(a))
			return nil
		})
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) authorizeFollow(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, follower *storage.Account) error {
		return h.in.AcceptFollowRequest(r.Context(), me, follower)
	})(w, r)
}

func (h *handler) rejectFollow(w http.ResponseWriter, r *http.Request) {
	h.accountAction(func(r *http.Request, me, follower *storage.Account) error {
		return h.in.RejectFollowRequest(r.Context(), me, follower)
	})(w, r)
}

// fieldsAttributes reads profile fields as apps send them: form keys
// fields_attributes[0][name] and [value] (or a JSON array or object of
// {name, value}). It reports false when none were sent.
func fieldsAttributes(p map[string][]string) ([]storage.ProfileField, bool) {
	byIndex := map[string]*storage.ProfileField{}
	var order []string
	for key, values := range p {
		rest, ok := strings.CutPrefix(key, "fields_attributes[")
		if !ok || len(values) == 0 {
			continue
		}
		index, part, ok := strings.Cut(rest, "][")
		if !ok {
			continue
		}
		part = strings.TrimSuffix(part, "]")
		f := byIndex[index]
		if f == nil {
			f = &storage.ProfileField{}
			byIndex[index] = f
			order = append(order, index)
		}
		switch part {
		case "name":
			f.Name = values[0]
		case "value":
			f.Value = values[0]
		}
	}
	if len(order) == 0 {
		return nil, false
	}
	sort.Strings(order)
	out := make([]storage.ProfileField, 0, len(order))
	for _, i := range order {
		out = append(out, *byIndex[i])
	}
	return out, true
}
