package mastodon

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

var (
	acctQuery = regexp.MustCompile(`^@?([A-Za-z0-9_.-]+)(?:@([A-Za-z0-9.:-]+))?$`)
	tagQuery  = regexp.MustCompile(`^#?([\p{L}\p{N}_]+)$`)
)

// search serves GET /api/v2/search: accounts by handle (resolving a
// remote @user@host through WebFinger when resolve=true and the caller is
// signed in), statuses and accounts by URL, and hashtags by name.
func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	if query == "" {
		respond.Error(w, r, h.log, &respond.BadRequest{Reason: "q is required"})
		return
	}
	kind := q.Get("type")
	resolve, _ := boolParam(q, "resolve")
	me := viewer(r)
	resolve = resolve && me != nil
	limit := 20
	if v, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = min(max(v, 1), 40)
	}
	out := map[string]any{"accounts": []Account{}, "statuses": []Status{}, "hashtags": []any{}}
	rd := h.renderer(me)
	var accounts []*storage.Account
	var statuses []*storage.Status
	isURL := strings.HasPrefix(query, "https://") || strings.HasPrefix(query, "http://")
	if kind == "" || kind == "accounts" {
		accounts = h.findAccounts(r, query, resolve, limit)
	}
	if (kind == "" || kind == "statuses") && isURL {
		if resolve {
			if s, err := h.in.ResolveStatus(r.Context(), query); err == nil {
				statuses = append(statuses, s)
			}
		} else {
			_ = h.store.View(func(tx *storage.Tx) error {
				if s, err := tx.StatusByURI(query); err == nil {
					statuses = append(statuses, s)
				}
				return nil
			})
		}
	}
	if kind == "" || kind == "hashtags" {
		if m := tagQuery.FindStringSubmatch(query); m != nil && !isURL {
			name := strings.ToLower(m[1])
			out["hashtags"] = []any{map[string]any{"name": name, "url": h.in.BaseURL() + "/tags/" + name, "history": []any{}, "following": false}}
		}
	}
	err := h.store.View(func(tx *storage.Tx) error {
		var list []Account
		for _, a := range accounts {
			list = append(list, rd.account(a))
		}
		if list != nil {
			out["accounts"] = list
		}
		var visible []*storage.Status
		for _, s := range statuses {
			if activitypub.VisibleTo(tx, s, me) {
				visible = append(visible, s)
			}
		}
		rendered, err := rd.statuses(tx, visible)
		if err == nil {
			out["statuses"] = rendered
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

// findAccounts finds accounts for a query: a URL or a remote @user@host
// resolved through federation when resolve is set, or handles starting
// with the query among stored accounts.
func (h *handler) findAccounts(r *http.Request, query string, resolve bool, limit int) []*storage.Account {
	var accounts []*storage.Account
	isURL := strings.HasPrefix(query, "https://") || strings.HasPrefix(query, "http://")
	switch m := acctQuery.FindStringSubmatch(query); {
	case isURL && resolve:
		if a, err := h.in.RemoteActor(r.Context(), query, false); err == nil {
			accounts = append(accounts, a)
		}
	case m != nil && m[2] != "" && resolve:
		if a, err := h.in.ResolveAccount(r.Context(), m[1]+"@"+m[2]); err == nil {
			accounts = append(accounts, a)
		}
	case m != nil:
		prefix := strings.ToLower(m[1])
		if m[2] != "" && !strings.EqualFold(m[2], h.in.Domain()) {
			prefix += "@" + strings.ToLower(m[2])
		}
		_ = h.store.View(func(tx *storage.Tx) error {
			found, err := tx.SearchAccounts(prefix, limit, 1000)
			for _, a := range found {
				if a.URI != h.in.InstanceActorURI() && !a.Suspended {
					accounts = append(accounts, a)
				}
			}
			return err
		})
	}
	return accounts
}

// accountSearch serves GET /api/v1/accounts/search.
func (h *handler) accountSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	if query == "" {
		respond.Error(w, r, h.log, &respond.BadRequest{Reason: "q is required"})
		return
	}
	resolve, _ := boolParam(q, "resolve")
	me := viewer(r)
	limit := 40
	if v, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = min(max(v, 1), 80)
	}
	following, _ := boolParam(q, "following")
	rd := h.renderer(me)
	out := []Account{}
	found := h.findAccounts(r, query, resolve && me != nil, limit)
	_ = h.store.View(func(tx *storage.Tx) error {
		for _, a := range found {
			if following && me != nil {
				if f, err := tx.Follow(me.ID, a.ID); err != nil || f.Pending {
					continue
				}
			}
			out = append(out, rd.account(a))
		}
		return nil
	})
	respond.JSON(w, http.StatusOK, out)
}
