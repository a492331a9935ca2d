package mastodon

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// maxFormMemory bounds multipart forms held in memory.
const maxFormMemory = 1 << 20

// params reads a request's parameters from its query and its body, which
// may be JSON, form-encoded or multipart, as Mastodon accepts. JSON values
// are flattened: strings, numbers and booleans as text, arrays as several
// values of "key[]" and "key".
func params(r *http.Request) (url.Values, error) {
	out := url.Values{}
	for k, v := range r.URL.Query() {
		out[k] = v
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return out, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			var big *http.MaxBytesError
			if errors.As(err, &big) {
				return nil, err
			}
			if err.Error() == "EOF" {
				return out, nil
			}
			return nil, &respond.BadRequest{Reason: "request body is not a JSON object"}
		}
		for k, v := range body {
			flatten(out, k, v)
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxFormMemory); err != nil {
			return nil, &respond.BadRequest{Reason: "malformed multipart body"}
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = append(out[k], v...)
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, &respond.BadRequest{Reason: "malformed form body"}
		}
		for k, v := range r.PostForm {
			out[k] = append(out[k], v...)
		}
	}
	return out, nil
}

func flatten(out url.Values, key string, v any) {
	switch v := v.(type) {
	case nil:
	case string:
		out.Add(key, v)
	case json.Number:
		out.Add(key, v.String())
	case bool:
		out.Add(key, strconv.FormatBool(v))
	case []any:
		base := strings.TrimSuffix(key, "[]")
		if len(v) == 0 {
			// Present but empty ("media_ids": [] removes every file), not
			// absent.
			if _, ok := out[base+"[]"]; !ok {
				out[base+"[]"] = []string{}
			}
		}
		for i, e := range v {
			if _, isObject := e.(map[string]any); isObject {
				// Arrays of objects keep their positions: base[i][field].
				flatten(out, base+"["+strconv.Itoa(i)+"]", e)
				continue
			}
			flatten(out, base+"[]", e)
		}
	case map[string]any:
		for k, e := range v {
			flatten(out, key+"["+k+"]", e)
		}
	}
}

// list returns the values of an array parameter, given as "key[]" or
// "key".
func list(p url.Values, key string) []string {
	return append(append([]string(nil), p[key+"[]"]...), p[key]...)
}

// boolParam reads a boolean the way Rails does: "true", "1", "on" ...
func boolParam(p url.Values, key string) (value, present bool) {
	v, ok := p[key]
	if !ok || len(v) == 0 {
		return false, false
	}
	switch strings.ToLower(v[0]) {
	case "true", "1", "t", "on", "yes":
		return true, true
	}
	return false, true
}

// pathID reads an ID from the path; a malformed one is not found.
func pathID(s string) (storage.ID, error) {
	return storage.ParseID(s)
}

// page reads max_id, since_id, min_id and limit (default def, at most
// maxLimit). ascending reports min_id paging: the page just above min_id,
// not the newest.
func page(p url.Values, def, maxLimit int) (pg storage.Page, ascending bool, err error) {
	pg = storage.Page{Limit: def}
	for key, dst := range map[string]*storage.ID{"max_id": &pg.MaxID, "since_id": &pg.MinID} {
		if v := p.Get(key); v != "" && v != "0" {
			id, err := storage.ParseID(v)
			if err != nil {
				return pg, false, &respond.BadRequest{Reason: key + " is not an id"}
			}
			*dst = id
		}
	}
	if v := p.Get("min_id"); v == "0" {
		ascending = true // from the very beginning
	} else if v != "" {
		id, err := storage.ParseID(v)
		if err != nil {
			return pg, false, &respond.BadRequest{Reason: "min_id is not an id"}
		}
		pg.MinID, ascending = id, true
	}
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return pg, false, &respond.BadRequest{Reason: "limit is not a number"}
		}
		pg.Limit = min(max(n, 1), maxLimit)
	}
	return pg, ascending, nil
}

// linkHeader sets Link with next (older) and prev (newer) pages around
// the IDs shown, as Mastodon does.
func linkHeader(w http.ResponseWriter, r *http.Request, base string, newest, oldest storage.ID) {
	if newest == 0 {
		return
	}
	q := r.URL.Query()
	q.Del("max_id")
	q.Del("min_id")
	q.Del("since_id")
	next, prev := cloneValues(q), cloneValues(q)
	next.Set("max_id", oldest.String())
	prev.Set("min_id", newest.String())
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next", <%s?%s>; rel="prev"`,
		base+r.URL.Path, next.Encode(), base+r.URL.Path, prev.Encode()))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// idList reads an array parameter of IDs; one that is not an ID is a 422
// naming the parameter.
func idList(p url.Values, key string) ([]storage.ID, error) {
	var out []storage.ID
	for _, v := range list(p, key) {
		if v == "" {
			continue
		}
		id, err := storage.ParseID(v)
		if err != nil {
			return nil, &activitypub.InvalidError{Field: key, Reason: fmt.Sprintf("%q is not an ID", v)}
		}
		out = append(out, id)
	}
	return out, nil
}
