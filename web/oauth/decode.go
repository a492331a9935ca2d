package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/rhizome-fed/rhizome/web/respond"
)

// maxParamsBytes caps the bodies the OAuth endpoints read. Registration
// and token requests are a few hundred bytes.
const maxParamsBytes = 64 << 10

// decodeParams reads a request's parameters from a JSON object, a
// form-encoded or a multipart body, then adds query parameters for names
// the body did not set, as Mastodon (Rails) merges them. JSON strings,
// numbers and booleans become one value, arrays of them several; "name[]"
// form fields are read as "name". Malformed input is a *respond.BadRequest,
// an oversized body an *http.MaxBytesError.
func decodeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	params := url.Values{}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(w, r.Body, maxParamsBytes)
		mediaType := "application/x-www-form-urlencoded"
		if ct := r.Header.Get("Content-Type"); ct != "" {
			var err error
			if mediaType, _, err = mime.ParseMediaType(ct); err != nil {
				return nil, &respond.BadRequest{Reason: "Malformed Content-Type"}
			}
		}
		var err error
		switch {
		case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
			params, err = decodeJSON(r.Body)
		case mediaType == "application/x-www-form-urlencoded":
			params, err = decodeForm(r.Body)
		case mediaType == "multipart/form-data":
			params, err = decodeMultipart(r)
		default:
			err = &respond.BadRequest{Reason: "Unsupported Content-Type " + mediaType}
		}
		if err != nil {
			return nil, err
		}
	}
	for name, values := range r.URL.Query() {
		if _, ok := params[name]; !ok {
			params[name] = values
		}
	}
	for name, values := range params {
		if base, ok := strings.CutSuffix(name, "[]"); ok {
			params[base] = append(params[base], values...)
			delete(params, name)
		}
	}
	return params, nil
}

func decodeForm(body io.Reader) (url.Values, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, bodyError(err)
	}
	params, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, &respond.BadRequest{Reason: "Malformed form body"}
	}
	return params, nil
}

func decodeMultipart(r *http.Request) (url.Values, error) {
	// The body is already capped, so all of it fits in memory: no file is
	// written to disk.
	if err := r.ParseMultipartForm(maxParamsBytes); err != nil {
		return nil, bodyError(err)
	}
	defer r.MultipartForm.RemoveAll()
	params := url.Values{}
	for name, values := range r.MultipartForm.Value {
		params[name] = values
	}
	return params, nil
}

func decodeJSON(body io.Reader) (url.Values, error) {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var object map[string]any
	if err := dec.Decode(&object); err != nil {
		return nil, bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &respond.BadRequest{Reason: "Malformed JSON body: trailing data"}
	}
	params := url.Values{}
	for name, value := range object {
		switch v := value.(type) {
		case nil:
		case []any:
			for _, item := range v {
				s, ok := scalar(item)
				if !ok {
					return nil, &respond.BadRequest{Reason: fmt.Sprintf("Malformed JSON body: %s holds a nested value", name)}
				}
				params.Add(name, s)
			}
		default:
			s, ok := scalar(v)
			if !ok {
				return nil, &respond.BadRequest{Reason: fmt.Sprintf("Malformed JSON body: %s holds a nested value", name)}
			}
			params.Set(name, s)
		}
	}
	return params, nil
}

// scalar renders a JSON string, number or boolean as a parameter value.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// bodyError keeps an oversized body's *http.MaxBytesError (a 413) and
// turns anything else into a 400.
func bodyError(err error) error {
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		return err
	}
	return &respond.BadRequest{Reason: "Malformed request body"}
}
