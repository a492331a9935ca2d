package oauth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// TestAuthorizationCodeFlow runs the whole flow over HTTP as a browser and
// an app do it: register, open the page, keep the CSRF cookie, sign in,
// follow the redirect to the app, exchange the code with the PKCE verifier,
// and use the token.
func TestAuthorizationCodeFlow(t *testing.T) {
	tests := []struct {
		name, method, challenge, verifier string
	}{
		{"S256", "S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}, // RFC 7636 appendix B
		{"plain", "plain", strings.Repeat("plain-verifier.", 4), strings.Repeat("plain-verifier.", 4)},
		{"plain by default", "", strings.Repeat("~default_", 6), strings.Repeat("~default_", 6)},
		{"no PKCE", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, Options{})
			received := make(chan url.Values, 1)
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				received <- r.URL.Query()
				_, _ = io.WriteString(w, "signed in")
			}))
			t.Cleanup(app.Close)
			reg := ts.registerApp(t, "read write follow", app.URL+"/callback")

			client := browser(t)
			client.CheckRedirect = nil // a browser follows the redirect to the app
			q := url.Values{"state": {"st-123"}, "scope": {"read write"}}
			if tt.challenge != "" {
				q.Set("code_challenge", tt.challenge)
			}
			if tt.method != "" {
				q.Set("code_challenge_method", tt.method)
			}
			pageURL := ts.authorizeURL(reg, q)

			resp, err := client.Get(pageURL)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cookie := resp.Header.Get("Set-Cookie")
			if !strings.Contains(cookie, "SameSite=Strict") || !strings.Contains(cookie, "HttpOnly") {
				t.Errorf("CSRF cookie %q: want SameSite=Strict and HttpOnly", cookie)
			}
			if resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
			}
			for _, want := range []string{"Test app", "read", "write", `type="password"`, `value="approve"`, `value="deny"`} {
				if !strings.Contains(string(page), want) {
					t.Errorf("page lacks %q", want)
				}
			}
			action, fields := parseForm(t, strings.NewReader(string(page)))
			fields.Set("email", testEmail)
			fields.Set("password", testPassword)
			fields.Set("decision", "approve")
			resp = postForm(t, client, ts.URL+action, fields)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "signed in" {
				t.Fatalf("after sign-in: status %d, body %s", resp.StatusCode, body)
			}
			got := <-received
			if got.Get("state") != "st-123" || got.Get("code") == "" {
				t.Fatalf("app received %v", got)
			}

			values := url.Values{
				"grant_type": {"authorization_code"}, "code": {got.Get("code")}, "redirect_uri": {reg.RedirectURIs[0]},
				"client_id": {reg.ClientID}, "client_secret": {reg.ClientSecret},
			}
			if tt.verifier != "" {
				values.Set("code_verifier", tt.verifier)
			}
			res := ts.exchange(t, values, http.StatusOK)
			if res.TokenType != "Bearer" || res.Scope != "read write" || res.CreatedAt != ts.clock.Now().Unix() || len(res.AccessToken) != 43 {
				t.Fatalf("token response %+v", res.tokenResponse)
			}

			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+res.AccessToken)
			tok, err := BearerToken(ts.store, r)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccountID != ts.alice.Account.ID || strings.Join(tok.Scopes, " ") != "read write" || tok.AppID.String() != reg.ID {
				t.Fatalf("stored token %+v", tok)
			}
			var entity map[string]any
			decodeResponse(t, ts.get(t, "/api/v1/apps/verify_credentials", res.AccessToken), http.StatusOK, &entity)
			if entity["name"] != "Test app" || entity["client_secret"] != nil {
				t.Fatalf("verify_credentials %v", entity)
			}
		})
	}
}

// get sends a GET with an optional bearer token.
func (ts *testServer) get(t *testing.T, path, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestAuthorize_refused(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read write", testRedirect, "myapp://oauth")
	tests := []struct {
		name  string
		query url.Values
	}{
		{"no client_id", url.Values{"client_id": {""}}},
		{"unknown client_id", url.Values{"client_id": {"nope"}}},
		{"unregistered redirect_uri", url.Values{"redirect_uri": {"http://evil.test/callback"}}},
		{"redirect_uri prefix", url.Values{"redirect_uri": {"http://app.test/call"}}},
		{"redirect_uri extension", url.Values{"redirect_uri": {testRedirect + "/more"}}},
		{"redirect_uri with query", url.Values{"redirect_uri": {testRedirect + "?x=1"}}},
		{"no redirect_uri", url.Values{"redirect_uri": {""}}},
		{"response_type token", url.Values{"response_type": {"token"}}},
		{"no response_type", url.Values{"response_type": {""}}},
		{"scope beyond the app's", url.Values{"scope": {"read follow"}}},
		{"unknown scope", url.Values{"scope": {"read everything"}}},
		{"challenge method S512", url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S512"}}},
		{"challenge too short", url.Values{"code_challenge": {"short"}, "code_challenge_method": {"S256"}}},
		{"challenge bad characters", url.Values{"code_challenge": {strings.Repeat("a", 42) + "!"}}},
		{"response_mode web_message", url.Values{"response_mode": {"web_message"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(ts.authorizeURL(app, tt.query))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if resp.Header.Get("Location") != "" || strings.Contains(string(body), "<form") {
				t.Fatalf("refused request must neither redirect nor show the form")
			}
		})
	}
	t.Run("granular scope within a top one", func(t *testing.T) {
		resp, err := http.Get(ts.authorizeURL(app, url.Values{"scope": {"read:statuses write:media"}}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestAuthorize_CSRF(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read write", testRedirect)
	tests := []struct {
		name   string
		tamper func(client *http.Client, fields url.Values) *http.Client
	}{
		{"field differs", func(c *http.Client, f url.Values) *http.Client {
			f.Set(csrfField, strings.Repeat("A", 43))
			return c
		}},
		{"field missing", func(c *http.Client, f url.Values) *http.Client {
			f.Del(csrfField)
			return c
		}},
		{"cookie missing", func(_ *http.Client, _ url.Values) *http.Client { return browser(t) }},
		{"cookie of another browser", func(_ *http.Client, _ url.Values) *http.Client {
			other := browser(t)
			signInForm(t, other, ts.authorizeURL(app, nil))
			return other
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := browser(t)
			action, fields := signInForm(t, client, ts.authorizeURL(app, nil))
			fields.Set("email", testEmail)
			fields.Set("password", testPassword)
			fields.Set("decision", "approve")
			resp := postForm(t, tt.tamper(client, fields), action, fields)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want 403 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestAuthorize_signInFails(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read", testRedirect)
	if _, err := ts.in.CreateAccount(t.Context(), activitypubAccount("bob")); err != nil {
		t.Fatal(err)
	}
	if err := ts.in.SetSuspended(t.Context(), "bob", true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, password, want string
	}{
		{"wrong password", testEmail, "wrong horse", "Invalid email address or password"},
		{"unknown email", "nobody@example.org", testPassword, "Invalid email address or password"},
		{"suspended account", "bob@example.org", testPassword, "Invalid email address or password"},
		{"empty password", testEmail, "", "Enter your email address and password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := signIn(t, browser(t), ts.authorizeURL(app, nil), tt.email, tt.password, "approve")
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(string(body), tt.want) || !strings.Contains(string(body), "<form") {
				t.Fatalf("page lacks %q or the form:\n%s", tt.want, body)
			}
			if strings.Contains(string(body), "code=") {
				t.Fatal("page leaks a code")
			}
		})
	}
}

func TestAuthorize_rateLimit(t *testing.T) {
	// Tests pick the client address through a header, to show that the
	// limit is per address.
	ts := newTestServer(t, Options{SignInLimit: 3, ClientAddr: func(r *http.Request) netip.Addr {
		addr, _ := netip.ParseAddr(r.Header.Get("X-Test-Addr"))
		return addr
	}})
	app := ts.registerApp(t, "read", testRedirect)
	attempt := func(addr, password string) *http.Response {
		t.Helper()
		client := browser(t)
		action, fields := signInForm(t, client, ts.authorizeURL(app, nil))
		fields.Set("email", testEmail)
		fields.Set("password", password)
		fields.Set("decision", "approve")
		req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(fields.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Test-Addr", addr)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	steps := []struct {
		name     string
		addr     string
		password string
		advance  time.Duration
		want     int
	}{
		{"first wrong", "192.0.2.1", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"second wrong", "192.0.2.1", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"third wrong", "192.0.2.1", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"limited even with the right password", "192.0.2.1", testPassword, 0, http.StatusTooManyRequests},
		{"another address is not limited", "192.0.2.2", testPassword, 0, http.StatusFound},
		{"same IPv6 /64 shares a limit 1", "2001:db8::1", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"same IPv6 /64 shares a limit 2", "2001:db8::2", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"same IPv6 /64 shares a limit 3", "2001:db8::3", "wrong horse", 0, http.StatusUnprocessableEntity},
		{"same IPv6 /64 limited", "2001:db8::4", testPassword, 0, http.StatusTooManyRequests},
		{"window over", "192.0.2.1", testPassword, 5 * time.Minute, http.StatusFound},
	}
	for _, s := range steps {
		ts.clock.Advance(s.advance)
		resp := attempt(s.addr, s.password)
		if resp.StatusCode != s.want {
			t.Fatalf("%s: status %d, want %d", s.name, resp.StatusCode, s.want)
		}
		if s.want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: no Retry-After", s.name)
		}
	}
}

func TestAuthorize_deny(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read", testRedirect, OOB)
	t.Run("redirect", func(t *testing.T) {
		// Denying needs no credentials.
		resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"state": {"s 1"}}), "", "", "deny")
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		q := loc.Query()
		if q.Get("error") != "access_denied" || q.Get("state") != "s 1" || q.Has("code") || !strings.HasPrefix(loc.String(), testRedirect+"?") {
			t.Fatalf("Location %s", loc)
		}
	})
	t.Run("oob", func(t *testing.T) {
		resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"redirect_uri": {OOB}}), "", "", "deny")
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Authorization denied") || strings.Contains(string(body), `id="code"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
}

func TestAuthorize_oob(t *testing.T) {
	ts := newTestServer(t, Options{})
	app := ts.registerApp(t, "read", OOB)
	resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"scope": {"read"}}), testEmail, testPassword, "approve")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	code := textOf(findByID(doc, "code"))
	if len(code) != 43 {
		t.Fatalf("code %q", code)
	}
	ts.exchange(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {OOB},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
	}, http.StatusOK)
}

func TestAuthorize_responseModes(t *testing.T) {
	ts := newTestServer(t, Options{})
	withQuery := "http://app.test/callback?app=1"
	app := ts.registerApp(t, "read", testRedirect, withQuery, "org.example.app:/oauth")
	t.Run("fragment", func(t *testing.T) {
		resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"response_mode": {"fragment"}, "state": {"x"}}), testEmail, testPassword, "approve")
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		frag, _ := url.ParseQuery(loc.Fragment)
		if resp.StatusCode != http.StatusFound || loc.RawQuery != "" || frag.Get("code") == "" || frag.Get("state") != "x" {
			t.Fatalf("status %d, Location %s", resp.StatusCode, loc)
		}
	})
	t.Run("form_post", func(t *testing.T) {
		resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"response_mode": {"form_post"}, "state": {"y"}, "redirect_uri": {"org.example.app:/oauth"}}),
			testEmail, testPassword, "approve")
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		action, fields := parseForm(t, resp.Body)
		if action != "org.example.app:/oauth" || fields.Get("code") == "" || fields.Get("state") != "y" {
			t.Fatalf("form to %q with %v", action, fields)
		}
	})
	t.Run("query kept", func(t *testing.T) {
		resp := signIn(t, browser(t), ts.authorizeURL(app, url.Values{"redirect_uri": {withQuery}}), testEmail, testPassword, "approve")
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc.Query().Get("app") != "1" || loc.Query().Get("code") == "" {
			t.Fatalf("Location %s", loc)
		}
	})
}

func findByID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode && attr(n, "id") == id {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if found := findByID(c, id); found != nil {
			return found
		}
	}
	return nil
}

func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// jsonBody marshals v for a request body.
func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}
