package oauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRevoke(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read", testRedirect)
	other := ts.registerApp(t, "read", testRedirect)
	token := func(a credentialApplication) string {
		return ts.exchange(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}}, http.StatusOK).AccessToken
	}
	userToken := ts.exchange(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {ts.authorize(t, app, url.Values{"scope": {"read"}})}, "redirect_uri": {testRedirect},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
	}, http.StatusOK).AccessToken
	appToken, otherToken := token(app), token(other)

	tests := []struct {
		name       string
		values     url.Values
		want       int
		wantError  string
		stillValid string // a token that must still work afterwards
		revoked    string // a token that must no longer work
	}{
		{"wrong secret", url.Values{"client_id": {app.ClientID}, "client_secret": {"nope"}, "token": {userToken}}, 403, errUnauthorizedClient, userToken, ""},
		{"unknown client", url.Values{"client_id": {"nobody"}, "client_secret": {app.ClientSecret}, "token": {userToken}}, 403, errUnauthorizedClient, userToken, ""},
		{"another app's token", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {otherToken}}, 403, errUnauthorizedClient, otherToken, ""},
		{"missing token", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}, 400, errInvalidRequest, userToken, ""},
		{"unknown token", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {strings.Repeat("t", 43)}}, 200, "", userToken, ""},
		{"user token", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {userToken}}, 200, "", appToken, userToken},
		{"again", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {userToken}}, 200, "", appToken, userToken},
		{"app token", url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {appToken}}, 200, "", otherToken, appToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res map[string]string
			decodeResponse(t, postForm(t, nil, ts.URL+"/oauth/revoke", tt.values), tt.want, &res)
			if res["error"] != tt.wantError {
				t.Fatalf("got %v, want error %q", res, tt.wantError)
			}
			if tt.want == http.StatusOK && len(res) != 0 {
				t.Fatalf("got %v, want {}", res)
			}
			if tt.stillValid != "" {
				decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", tt.stillValid), http.StatusOK, nil)
			}
			if tt.revoked != "" {
				var e map[string]string
				decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", tt.revoked), http.StatusUnauthorized, &e)
				if e["error"] != "The access token is invalid" {
					t.Fatalf("got %v", e)
				}
			}
		})
	}
	t.Run("basic auth", func(t *testing.T) {
		tok := token(app)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ClientID, app.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		decodeResponse(t, resp, http.StatusOK, nil)
		decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", tok), http.StatusUnauthorized, nil)
	})
}
