package oauth

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func multipartBody(t *testing.T, fields [][2]string) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func TestCreateApp(t *testing.T) {
	ts := newTestServer(t, Options{})
	form := func(v url.Values) (string, io.Reader) {
		return "application/x-www-form-urlencoded", strings.NewReader(v.Encode())
	}
	js := func(v any) (string, io.Reader) { return "application/json", jsonBody(t, v) }
	tests := []struct {
		name         string
		body         func() (string, io.Reader)
		want         int
		wantURIs     []string
		wantScopes   []string
		wantWebsite  any
		wantErrorHas string
	}{
		{name: "JSON", body: func() (string, io.Reader) {
			return js(map[string]any{"client_name": "Elk", "redirect_uris": "https://elk.test/callback", "scopes": "read write follow push", "website": "https://elk.test"})
		}, want: 200, wantURIs: []string{"https://elk.test/callback"}, wantScopes: []string{"read", "write", "follow", "push"}, wantWebsite: "https://elk.test"},
		{name: "JSON array of URIs", body: func() (string, io.Reader) {
			return js(map[string]any{"client_name": "Phanpy", "redirect_uris": []string{"https://p.test/cb", OOB}})
		}, want: 200, wantURIs: []string{"https://p.test/cb", OOB}, wantScopes: []string{"read"}},
		{name: "form with URIs one per line", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"Tusky"}, "redirect_uris": {"oauth2redirect://com.keylesspalace.tusky/\nhttp://localhost:4000/cb"}, "scopes": {"read write"}})
		}, want: 200, wantURIs: []string{"oauth2redirect://com.keylesspalace.tusky/", "http://localhost:4000/cb"}, wantScopes: []string{"read", "write"}},
		{name: "form with repeated URIs", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"toot"}, "redirect_uris[]": {"http://a.test/1", "http://a.test/2"}, "scopes": {"read+write"}})
		}, want: 200, wantURIs: []string{"http://a.test/1", "http://a.test/2"}, wantScopes: []string{"read", "write"}},
		{name: "multipart", body: func() (string, io.Reader) {
			return multipartBody(t, [][2]string{{"client_name", "Mastodon.py"}, {"redirect_uris", OOB}, {"scopes", "read:statuses write:media"}, {"website", "http://py.test/"}})
		}, want: 200, wantURIs: []string{OOB}, wantScopes: []string{"read:statuses", "write:media"}, wantWebsite: "http://py.test/"},

		{name: "missing client_name", body: func() (string, io.Reader) { return js(map[string]any{"redirect_uris": OOB}) },
			want: 422, wantErrorHas: "client_name"},
		{name: "client_name too long", body: func() (string, io.Reader) {
			return js(map[string]any{"client_name": strings.Repeat("n", 61), "redirect_uris": OOB})
		}, want: 422, wantErrorHas: "client_name"},
		{name: "missing redirect_uris", body: func() (string, io.Reader) { return form(url.Values{"client_name": {"x"}}) },
			want: 422, wantErrorHas: "redirect_uris"},
		{name: "relative redirect URI", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {"/callback"}})
		}, want: 422, wantErrorHas: "absolute"},
		{name: "redirect URI with fragment", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {"https://a.test/cb#frag"}})
		}, want: 422, wantErrorHas: "fragment"},
		{name: "javascript redirect URI", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {"javascript:alert(1)"}})
		}, want: 422, wantErrorHas: "redirect_uris"},
		{name: "one bad URI among good", body: func() (string, io.Reader) {
			return js(map[string]any{"client_name": "x", "redirect_uris": []string{"https://a.test/cb", "not a uri"}})
		}, want: 422, wantErrorHas: "redirect_uris"},
		{name: "unknown scope", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {OOB}, "scopes": {"read everything"}})
		}, want: 422, wantErrorHas: "scopes"},
		{name: "website not http", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {OOB}, "website": {"ftp://a.test"}})
		}, want: 422, wantErrorHas: "website"},
		{name: "malformed JSON", body: func() (string, io.Reader) { return "application/json", strings.NewReader(`{"client_name":`) },
			want: 400},
		{name: "nested JSON", body: func() (string, io.Reader) {
			return js(map[string]any{"client_name": map[string]string{"a": "b"}, "redirect_uris": OOB})
		}, want: 400},
		{name: "unsupported content type", body: func() (string, io.Reader) { return "text/plain", strings.NewReader("client_name=x") },
			want: 400},
		{name: "oversized body", body: func() (string, io.Reader) {
			return form(url.Values{"client_name": {"x"}, "redirect_uris": {OOB}, "padding": {strings.Repeat("p", maxParamsBytes)}})
		}, want: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := tt.body()
			resp, err := http.Post(ts.URL+"/api/v1/apps", ct, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != http.StatusOK {
				var e map[string]any
				decodeResponse(t, resp, tt.want, &e)
				msg, _ := e["error"].(string)
				if len(e) != 1 || msg == "" || !strings.Contains(msg, tt.wantErrorHas) {
					t.Fatalf("error body %v, want an error naming %q", e, tt.wantErrorHas)
				}
				return
			}
			var raw map[string]any
			decodeResponse(t, resp, http.StatusOK, &raw)
			for _, key := range []string{"id", "name", "website", "scopes", "redirect_uri", "redirect_uris", "client_id", "client_secret", "client_secret_expires_at", "vapid_key"} {
				if _, ok := raw[key]; !ok {
					t.Errorf("entity lacks %q", key)
				}
			}
			b, _ := json.Marshal(raw)
			var app credentialApplication
			if err := json.Unmarshal(b, &app); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(app.RedirectURIs, tt.wantURIs) || app.RedirectURI != strings.Join(tt.wantURIs, "\n") ||
				!reflect.DeepEqual(app.Scopes, tt.wantScopes) || raw["website"] != tt.wantWebsite {
				t.Errorf("entity %s", b)
			}
			if len(app.ClientID) != 43 || len(app.ClientSecret) != 43 || app.ClientID == app.ClientSecret || raw["client_secret_expires_at"] != 0.0 {
				t.Errorf("credentials %s", b)
			}
			// The secret is stored only hashed, and authenticates the app.
			res := ts.exchange(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "scope": {strings.Join(tt.wantScopes, " ")}}, http.StatusOK)
			if res.AccessToken == "" {
				t.Fatal("no token")
			}
		})
	}
}

func TestVerifyApp(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read", testRedirect)
	tok := ts.exchange(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}, http.StatusOK).AccessToken
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"app token", tok, 200},
		{"no token", "", 401},
		{"unknown token", strings.Repeat("z", 43), 401},
		{"client secret is not a token", app.ClientSecret, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw map[string]any
			decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", tt.token), tt.want, &raw)
			if tt.want != http.StatusOK {
				if raw["error"] != "The access token is invalid" {
					t.Fatalf("got %v", raw)
				}
				return
			}
			if raw["id"] != app.ID || raw["name"] != "Test app" || raw["website"] != nil {
				t.Fatalf("got %v", raw)
			}
			for _, key := range []string{"client_secret", "client_secret_expires_at"} {
				if _, ok := raw[key]; ok {
					t.Errorf("verify_credentials shows %q", key)
				}
			}
		})
	}
}
