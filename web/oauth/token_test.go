package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestToken_authorizationCodeErrors(t *testing.T) {
	ts := newTestServer(t, Options{SignInLimit: 1000})
	app := ts.registerApp(t, "read write", testRedirect, "http://app.test/other")
	other := ts.registerApp(t, "read write", testRedirect)
	pkce := url.Values{"code_challenge": {testChallenge}, "code_challenge_method": {"S256"}}

	tests := []struct {
		name      string
		authorize url.Values                              // extra authorization parameters
		before    func(t *testing.T, exchange url.Values) // runs before the exchange under test
		change    func(v url.Values)
		basic     [2]string // client_secret_basic credentials, when set
		want      int
		wantError string
	}{
		{name: "wrong verifier", authorize: pkce, change: func(v url.Values) { v.Set("code_verifier", strings.Repeat("x", 43)) },
			want: 400, wantError: errInvalidGrant},
		{name: "malformed verifier", authorize: pkce, change: func(v url.Values) { v.Set("code_verifier", "short") },
			want: 400, wantError: errInvalidGrant},
		{name: "missing verifier", authorize: pkce, change: func(v url.Values) { v.Del("code_verifier") },
			want: 400, wantError: errInvalidRequest},
		{name: "burnt by a wrong verifier", authorize: pkce,
			before: func(t *testing.T, v url.Values) {
				bad := cloneValues(v)
				bad.Set("code_verifier", strings.Repeat("y", 43))
				ts.exchange(t, bad, http.StatusBadRequest)
			},
			want: 400, wantError: errInvalidGrant},
		{name: "verifier without challenge", change: func(v url.Values) { v.Set("code_verifier", testVerifier) },
			want: 400, wantError: errInvalidGrant},
		{name: "reused code", authorize: pkce,
			before: func(t *testing.T, v url.Values) { ts.exchange(t, v, http.StatusOK) },
			want:   400, wantError: errInvalidGrant},
		{name: "expired code", authorize: pkce,
			before: func(t *testing.T, _ url.Values) { ts.clock.Advance(codeLifetime + time.Second) },
			want:   400, wantError: errInvalidGrant},
		{name: "other registered redirect_uri", authorize: pkce, change: func(v url.Values) { v.Set("redirect_uri", "http://app.test/other") },
			want: 400, wantError: errInvalidGrant},
		{name: "missing redirect_uri", authorize: pkce, change: func(v url.Values) { v.Del("redirect_uri") },
			want: 400, wantError: errInvalidRequest},
		{name: "unknown code", authorize: pkce, change: func(v url.Values) { v.Set("code", strings.Repeat("c", 43)) },
			want: 400, wantError: errInvalidGrant},
		{name: "missing code", change: func(v url.Values) { v.Del("code") },
			want: 400, wantError: errInvalidRequest},
		{name: "code of another app", authorize: pkce, change: func(v url.Values) {
			v.Set("client_id", other.ClientID)
			v.Set("client_secret", other.ClientSecret)
		}, want: 400, wantError: errInvalidGrant},
		{name: "wrong client secret", authorize: pkce, change: func(v url.Values) { v.Set("client_secret", app.ClientSecret+"x") },
			want: 401, wantError: errInvalidClient},
		{name: "unknown client", authorize: pkce, change: func(v url.Values) { v.Set("client_id", "nobody") },
			want: 401, wantError: errInvalidClient},
		{name: "missing client secret", authorize: pkce, change: func(v url.Values) { v.Del("client_secret") },
			want: 401, wantError: errInvalidClient},
		{name: "wrong basic secret", authorize: pkce, change: func(v url.Values) { v.Del("client_secret") },
			basic: [2]string{app.ClientID, "nope"}, want: 401, wantError: errInvalidClient},
		{name: "password grant", change: func(v url.Values) { v.Set("grant_type", "password") },
			want: 400, wantError: errUnsupportedGrantType},
		{name: "refresh grant", change: func(v url.Values) { v.Set("grant_type", "refresh_token") },
			want: 400, wantError: errUnsupportedGrantType},
		{name: "missing grant_type", change: func(v url.Values) { v.Del("grant_type") },
			want: 400, wantError: errInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := url.Values{
				"grant_type": {"authorization_code"}, "code": {ts.authorize(t, app, tt.authorize)}, "redirect_uri": {testRedirect},
				"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "code_verifier": {testVerifier},
			}
			if tt.authorize == nil {
				values.Del("code_verifier")
			}
			if tt.before != nil {
				tt.before(t, cloneValues(values))
			}
			if tt.change != nil {
				tt.change(values)
			}
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader(values.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var res tokenResult
			decodeResponse(t, resp, tt.want, &res)
			if res.Error != tt.wantError || res.Description == "" || res.AccessToken != "" {
				t.Fatalf("got %+v, want error %q", res, tt.wantError)
			}
			if tt.basic[0] != "" && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TestToken_clientAuthentication exchanges codes with each way of sending
// client credentials and body encoding.
func TestToken_clientAuthentication(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read write", testRedirect)
	tests := []struct {
		name string
		send func(code string) *http.Request
	}{
		{"client_secret_basic", func(code string) *http.Request {
			v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
			req := httptest.NewRequest(http.MethodPost, ts.URL+"/oauth/token", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(app.ClientID), url.QueryEscape(app.ClientSecret))
			return req
		}},
		{"JSON body", func(code string) *http.Request {
			req := httptest.NewRequest(http.MethodPost, ts.URL+"/oauth/token", jsonBody(t, map[string]string{
				"grant_type": "authorization_code", "code": code, "redirect_uri": testRedirect,
				"client_id": app.ClientID, "client_secret": app.ClientSecret,
			}))
			req.Header.Set("Content-Type", "application/json")
			return req
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.send(ts.authorize(t, app, nil))
			req.RequestURI = ""
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var res tokenResult
			decodeResponse(t, resp, http.StatusOK, &res)
			if res.AccessToken == "" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("got %+v, Cache-Control %q", res, resp.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestToken_clientCredentials(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read write", testRedirect)
	tests := []struct {
		scope     string
		want      int
		wantScope string
		wantError string
	}{
		{"", 200, "read", ""},
		{"read", 200, "read", ""},
		{"read write", 200, "read write", ""},
		{"write:statuses", 200, "write:statuses", ""},
		{"follow", 400, "", errInvalidScope},
		{"read admin:read", 400, "", errInvalidScope},
		{"bogus", 400, "", errInvalidScope},
	}
	for _, tt := range tests {
		t.Run("scope="+tt.scope, func(t *testing.T) {
			res := ts.exchange(t, url.Values{
				"grant_type": {"client_credentials"}, "scope": {tt.scope},
				"client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
			}, tt.want)
			if res.Error != tt.wantError || res.Scope != tt.wantScope {
				t.Fatalf("got %+v", res)
			}
			if tt.want != http.StatusOK {
				return
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+res.AccessToken)
			tok, err := BearerToken(ts.store, r)
			if err != nil || tok.AccountID != 0 {
				t.Fatalf("token %+v, %v: want an app-only token", tok, err)
			}
			decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", res.AccessToken), http.StatusOK, nil)
		})
	}
}
