package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeParams(t *testing.T) {
	tests := []struct {
		name, target, contentType, body string
		want                            url.Values
		wantErr                         bool
	}{
		{"JSON scalars", "/", "application/json", `{"a":"x","n":12,"b":true,"z":null}`, url.Values{"a": {"x"}, "n": {"12"}, "b": {"true"}}, false},
		{"JSON array", "/", "application/json; charset=utf-8", `{"a":["x","y"]}`, url.Values{"a": {"x", "y"}}, false},
		{"JSON nested", "/", "application/json", `{"a":{"b":1}}`, nil, true},
		{"JSON array of objects", "/", "application/json", `{"a":[{}]}`, nil, true},
		{"JSON not an object", "/", "application/json", `["a"]`, nil, true},
		{"JSON trailing data", "/", "application/json", `{"a":"x"} {}`, nil, true},
		{"form", "/", "application/x-www-form-urlencoded", "a=x&b[]=1&b[]=2", url.Values{"a": {"x"}, "b": {"1", "2"}}, false},
		{"no content type is a form", "/", "", "a=x", url.Values{"a": {"x"}}, false},
		{"malformed form", "/", "application/x-www-form-urlencoded", "a=%zz", nil, true},
		{"query fills gaps", "/?a=q&c=q", "application/x-www-form-urlencoded", "a=x", url.Values{"a": {"x"}, "c": {"q"}}, false},
		{"unsupported type", "/", "text/plain", "a=x", nil, true},
		{"malformed type", "/", "application/json; ===", "{}", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got, err := decodeParams(httptest.NewRecorder(), r)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
