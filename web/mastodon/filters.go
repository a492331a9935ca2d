package mastodon

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// filterContexts are where a filter may apply.
var filterContexts = []string{"home", "notifications", "public", "thread", "account"}

// FilterEntity is Mastodon's v2 Filter.
type FilterEntity struct {
	ID           string          `json:"id"`
	Title        string          `json:"title"`
	Context      []string        `json:"context"`
	ExpiresAt    *string         `json:"expires_at"`
	FilterAction string          `json:"filter_action"`
	Keywords     []FilterKeyword `json:"keywords"`
	Statuses     []FilterStatus  `json:"statuses"`
}

// FilterKeyword is Mastodon's FilterKeyword entity.
type FilterKeyword struct {
	ID        string `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// FilterStatus is Mastodon's FilterStatus entity.
type FilterStatus struct {
	ID       string `json:"id"`
	StatusID string `json:"status_id"`
}

// FilterResult tells a client why a status matched a filter.
type FilterResult struct {
	Filter         FilterEntity `json:"filter"`
	KeywordMatches []string     `json:"keyword_matches"`
	StatusMatches  []string     `json:"status_matches"`
}

func filterEntity(f *storage.Filter) FilterEntity {
	out := FilterEntity{ID: f.ID.String(), Title: f.Title, Context: f.Context, ExpiresAt: optionalTime(f.ExpiresAt),
		FilterAction: f.Action, Keywords: []FilterKeyword{}, Statuses: []FilterStatus{}}
	for _, k := range f.Keywords {
		out.Keywords = append(out.Keywords, FilterKeyword{ID: k.ID.String(), Keyword: k.Keyword, WholeWord: k.WholeWord})
	}
	for _, s := range f.Statuses {
		out.Statuses = append(out.Statuses, FilterStatus{ID: s.ID.String(), StatusID: s.StatusID.String()})
	}
	return out
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

// plainText is a status's text for keyword matching: tags removed,
// entities decoded, the content warning included.
func plainText(s *storage.Status) string {
	return strings.ToLower(s.Summary + "\n" + html.UnescapeString(tagPattern.ReplaceAllString(s.Content, " ")))
}

// matchFilters returns the filters of the renderer's context that match
// s (for a boost, what it boosts), and whether one of them hides it.
func (rd *renderer) matchFilters(tx *storage.Tx, s *storage.Status) ([]FilterResult, bool) {
	if len(rd.filters) == 0 || rd.context == "" {
		return nil, false
	}
	if s.ReblogOfID != 0 {
		original, err := tx.Status(s.ReblogOfID)
		if err != nil {
			return nil, false
		}
		s = original
	}
	var results []FilterResult
	hide := false
	text := ""
	now := time.Now()
	for _, f := range rd.filters {
		if !slices.Contains(f.Context, rd.context) || (!f.ExpiresAt.IsZero() && now.After(f.ExpiresAt)) {
			continue
		}
		var keywords, statuses []string
		for _, fs := range f.Statuses {
			if fs.StatusID == s.ID {
				statuses = append(statuses, fs.StatusID.String())
			}
		}
		for _, k := range f.Keywords {
			if text == "" {
				text = plainText(s)
			}
			if keywordMatches(text, k) {
				keywords = append(keywords, k.Keyword)
			}
		}
		if keywords == nil && statuses == nil {
			continue
		}
		results = append(results, FilterResult{Filter: filterEntity(f), KeywordMatches: keywords, StatusMatches: statuses})
		hide = hide || f.Action == "hide"
	}
	return results, hide
}

func keywordMatches(text string, k storage.FilterKeyword) bool {
	kw := strings.ToLower(strings.TrimSpace(k.Keyword))
	if kw == "" {
		return false
	}
	if !k.WholeWord {
		return strings.Contains(text, kw)
	}
	re, err := regexp.Compile(`(^|[^\p{L}\p{N}_])` + regexp.QuoteMeta(kw) + `($|[^\p{L}\p{N}_])`)
	return err == nil && re.MatchString(text)
}

// filterFromParams reads a v2 filter from create/update parameters onto f.
func filterFromParams(p map[string][]string, f *storage.Filter, newID func() storage.ID, creating bool) error {
	get := func(k string) string {
		if v := p[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if t := get("title"); t != "" || creating {
		if strings.TrimSpace(t) == "" {
			return &activitypub.InvalidError{Field: "title", Reason: "can't be blank"}
		}
		f.Title = t
	}
	if ctx := append(append([]string(nil), p["context[]"]...), p["context"]...); len(ctx) > 0 || creating {
		f.Context = nil
		for _, c := range ctx {
			if !slices.Contains(filterContexts, c) {
				return &activitypub.InvalidError{Field: "context", Reason: "must be home, notifications, public, thread or account"}
			}
			if !slices.Contains(f.Context, c) {
				f.Context = append(f.Context, c)
			}
		}
		if len(f.Context) == 0 {
			return &activitypub.InvalidError{Field: "context", Reason: "can't be blank"}
		}
	}
	if a := get("filter_action"); a != "" {
		if a != "warn" && a != "hide" {
			return &activitypub.InvalidError{Field: "filter_action", Reason: "must be warn or hide"}
		}
		f.Action = a
	} else if creating {
		f.Action = "warn"
	}
	if v, ok := p["expires_in"]; ok {
		if len(v) == 0 || v[0] == "" {
			f.ExpiresAt = time.Time{}
		} else if secs, err := strconv.Atoi(v[0]); err != nil || secs <= 0 {
			return &activitypub.InvalidError{Field: "expires_in", Reason: "must be a number of seconds"}
		} else {
			f.ExpiresAt = time.Now().Add(time.Duration(secs) * time.Second).UTC()
		}
	}
	// keywords_attributes: each entry adds a keyword, or with an id
	// changes (or with _destroy removes) one.
	for _, attrs := range indexedAttributes(p, "keywords_attributes") {
		truthy := func(k string) bool { v := strings.ToLower(attrs[k]); return v == "true" || v == "1" }
		if id := attrs["id"]; id != "" {
			i := slices.IndexFunc(f.Keywords, func(k storage.FilterKeyword) bool { return k.ID.String() == id })
			if i < 0 {
				return &activitypub.InvalidError{Field: "keywords_attributes", Reason: "names a keyword this filter does not have"}
			}
			switch {
			case truthy("_destroy"):
				f.Keywords = slices.Delete(f.Keywords, i, i+1)
			default:
				if kw := strings.TrimSpace(attrs["keyword"]); kw != "" {
					f.Keywords[i].Keyword = kw
				}
				if _, ok := attrs["whole_word"]; ok {
					f.Keywords[i].WholeWord = truthy("whole_word")
				}
			}
			continue
		}
		if kw := strings.TrimSpace(attrs["keyword"]); kw != "" && newID != nil {
			f.Keywords = append(f.Keywords, storage.FilterKeyword{ID: newID(), Keyword: kw, WholeWord: truthy("whole_word")})
		}
	}
	return nil
}

// indexedAttributes reads Rails-style nested attributes: prefix[0][name]
// and prefix[][name] (by position) in forms, or arrays and objects of
// objects in JSON (which params flattens into those keys). Entries come in
// index order.
func indexedAttributes(p map[string][]string, prefix string) []map[string]string {
	byIndex := map[string]map[string]string{}
	var indexes []string
	positional := map[string][]string{}
	for key, values := range p {
		rest, ok := strings.CutPrefix(key, prefix+"[")
		if !ok {
			continue
		}
		index, field, ok := strings.Cut(rest, "][")
		if !ok {
			continue
		}
		field = strings.TrimSuffix(field, "]")
		if index == "" {
			positional[field] = values
			continue
		}
		if byIndex[index] == nil {
			byIndex[index] = map[string]string{}
			indexes = append(indexes, index)
		}
		if len(values) > 0 {
			byIndex[index][field] = values[0]
		}
	}
	slices.SortFunc(indexes, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		if ea == nil && eb == nil {
			return na - nb
		}
		return strings.Compare(a, b)
	})
	var out []map[string]string
	for _, i := range indexes {
		out = append(out, byIndex[i])
	}
	n := 0
	for _, values := range positional {
		n = max(n, len(values))
	}
	for i := range n {
		entry := map[string]string{}
		for field, values := range positional {
			if i < len(values) {
				entry[field] = values[i]
			}
		}
		out = append(out, entry)
	}
	return out
}

func (h *handler) loadFilter(r *http.Request) (*storage.Filter, error) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	me := viewer(r)
	var found *storage.Filter
	err = h.store.View(func(tx *storage.Tx) error {
		fs, err := tx.Filters(me.ID)
		for _, f := range fs {
			if f.ID == id {
				found = f
			}
		}
		return err
	})
	if err == nil && found == nil {
		err = &activitypub.NotFoundError{What: "filter " + id.String()}
	}
	return found, err
}

// filtersV2 serves GET /api/v2/filters.
func (h *handler) filtersV2(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	out := []FilterEntity{}
	err := h.store.View(func(tx *storage.Tx) error {
		fs, err := tx.Filters(me.ID)
		for _, f := range fs {
			out = append(out, filterEntity(f))
		}
		return err
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) getFilterV2(w http.ResponseWriter, r *http.Request) {
	f, err := h.loadFilter(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, filterEntity(f))
}

// saveFilterV2 serves POST /api/v2/filters and PUT /api/v2/filters/:id.
// Filters are the user's own state.
func (h *handler) saveFilterV2(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	me := viewer(r)
	f := &storage.Filter{ID: h.store.NewID(), OwnerID: me.ID}
	creating := mux.Vars(r)["id"] == ""
	if !creating {
		if f, err = h.loadFilter(r); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
	}
	ids := []storage.ID{}
	for range indexedAttributes(p, "keywords_attributes") {
		ids = append(ids, h.store.NewID())
	}
	next := func() storage.ID { id := ids[0]; ids = ids[1:]; return id }
	if err := filterFromParams(p, f, next, creating); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutFilter(f) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, filterEntity(f))
}

func (h *handler) deleteFilterV2(w http.ResponseWriter, r *http.Request) {
	f, err := h.loadFilter(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.DeleteFilter(f.OwnerID, f.ID) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}

// filtersV1 serves GET /api/v1/filters: each keyword of a v2 filter as a
// v1 filter, which Tusky still reads.
func (h *handler) filtersV1(w http.ResponseWriter, r *http.Request) {
	me := viewer(r)
	out := []map[string]any{}
	err := h.store.View(func(tx *storage.Tx) error {
		fs, err := tx.Filters(me.ID)
		for _, f := range fs {
			for _, k := range f.Keywords {
				out = append(out, map[string]any{"id": k.ID.String(), "phrase": k.Keyword, "context": f.Context,
					"whole_word": k.WholeWord, "expires_at": optionalTime(f.ExpiresAt), "irreversible": f.Action == "hide"})
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

// createFilterV1 serves POST /api/v1/filters: a v2 filter with one
// keyword.
func (h *handler) createFilterV1(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	phrase := strings.TrimSpace(p.Get("phrase"))
	if phrase == "" {
		respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "phrase", Reason: "can't be blank"})
		return
	}
	whole, _ := boolParam(p, "whole_word")
	irreversible, _ := boolParam(p, "irreversible")
	v2 := map[string][]string{"title": {phrase}, "context[]": list(p, "context"),
		"keywords_attributes[][keyword]": {phrase}, "keywords_attributes[][whole_word]": {strconv.FormatBool(whole)}}
	if irreversible {
		v2["filter_action"] = []string{"hide"}
	}
	if v := p.Get("expires_in"); v != "" {
		v2["expires_in"] = []string{v}
	}
	f := &storage.Filter{ID: h.store.NewID(), OwnerID: viewer(r).ID}
	kid := h.store.NewID()
	if err := filterFromParams(v2, f, func() storage.ID { return kid }, true); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutFilter(f) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"id": kid.String(), "phrase": phrase, "context": f.Context,
		"whole_word": whole, "expires_at": optionalTime(f.ExpiresAt), "irreversible": irreversible})
}

// filterOfKeyword finds the v2 filter holding the v1 filter (a keyword)
// with the given ID.
func (h *handler) filterOfKeyword(r *http.Request) (*storage.Filter, int, error) {
	id, err := pathID(mux.Vars(r)["id"])
	if err != nil {
		return nil, 0, err
	}
	var found *storage.Filter
	index := -1
	err = h.store.View(func(tx *storage.Tx) error {
		fs, err := tx.Filters(viewer(r).ID)
		for _, f := range fs {
			for i, k := range f.Keywords {
				if k.ID == id {
					found, index = f, i
				}
			}
		}
		return err
	})
	if err == nil && found == nil {
		err = &activitypub.NotFoundError{What: "filter " + id.String()}
	}
	return found, index, err
}

func filterV1(f *storage.Filter, k storage.FilterKeyword) map[string]any {
	return map[string]any{"id": k.ID.String(), "phrase": k.Keyword, "context": f.Context, "whole_word": k.WholeWord,
		"expires_at": optionalTime(f.ExpiresAt), "irreversible": f.Action == "hide"}
}

// getFilterV1 serves GET /api/v1/filters/:id.
func (h *handler) getFilterV1(w http.ResponseWriter, r *http.Request) {
	f, i, err := h.filterOfKeyword(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, filterV1(f, f.Keywords[i]))
}

// updateFilterV1 serves PUT /api/v1/filters/:id: phrase, context,
// whole_word, irreversible, expires_in.
func (h *handler) updateFilterV1(w http.ResponseWriter, r *http.Request) {
	f, i, err := h.filterOfKeyword(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if phrase := strings.TrimSpace(p.Get("phrase")); phrase != "" {
		f.Keywords[i].Keyword = phrase
	}
	if whole, ok := boolParam(p, "whole_word"); ok {
		f.Keywords[i].WholeWord = whole
	}
	v2 := map[string][]string{}
	if ctx := list(p, "context"); len(ctx) > 0 {
		v2["context[]"] = ctx
	}
	if irreversible, ok := boolParam(p, "irreversible"); ok {
		v2["filter_action"] = []string{map[bool]string{true: "hide", false: "warn"}[irreversible]}
	}
	if v, ok := p["expires_in"]; ok {
		v2["expires_in"] = v
	}
	if err := filterFromParams(v2, f, nil, false); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutFilter(f) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, filterV1(f, f.Keywords[i]))
}

// deleteFilterV1 serves DELETE /api/v1/filters/:id: the keyword goes, and
// the filter with it when it was the last.
func (h *handler) deleteFilterV1(w http.ResponseWriter, r *http.Request) {
	f, i, err := h.filterOfKeyword(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	f.Keywords = append(f.Keywords[:i], f.Keywords[i+1:]...)
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		if len(f.Keywords) == 0 && len(f.Statuses) == 0 {
			return tx.DeleteFilter(f.OwnerID, f.ID)
		}
		return tx.PutFilter(f)
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}
