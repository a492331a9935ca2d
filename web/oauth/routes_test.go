package oauth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/net/html"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

const (
	testEmail    = "alice@example.org"
	testPassword = "correct horse"
	testRedirect = "http://app.test/callback"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testServer is a real instance in a temp folder with the OAuth routes
// mounted, served on a loopback listener.
type testServer struct {
	*httptest.Server
	store *storage.Store
	in    *activitypub.Instance
	clock *testClock
	alice *activitypub.LocalAccount
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	store, err := storage.Open(filepath.Join(t.TempDir(), "rhizome.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		store.Close()
	})
	in, err := activitypub.New(t.Context(), store, activitypub.Options{Domain: "a.test", Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := in.CreateAccount(t.Context(), activitypub.NewAccount{Username: "alice", Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	r := mux.NewRouter()
	Mount(r, in, store, nil, opts)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: store, in: in, clock: clock, alice: alice}
}

// registerApp registers an app through the API and returns its entity
// with the client secret.
func (ts *testServer) registerApp(t *testing.T, scopes string, redirectURIs ...string) credentialApplication {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"client_name": "Test app", "redirect_uris": redirectURIs, "scopes": scopes})
	resp, err := http.Post(ts.URL+"/api/v1/apps", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	var app credentialApplication
	decodeResponse(t, resp, http.StatusOK, &app)
	return app
}

// decodeResponse checks the status and decodes a JSON body.
func decodeResponse(t *testing.T, resp *http.Response, want int, v any) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	}
}

// postForm posts form values and returns the response.
func postForm(t *testing.T, client *http.Client, target string, values url.Values) *http.Response {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.PostForm(target, values)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so a test sees where the server sends the browser.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signInForm GETs the authorization page and returns the form's action and
// fields (hidden ones included) as a browser would submit them.
func signInForm(t *testing.T, client *http.Client, pageURL string) (string, url.Values) {
	t.Helper()
	resp, err := client.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: status %d: %s", pageURL, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q", ct)
	}
	action, fields := parseForm(t, resp.Body)
	base, _ := url.Parse(pageURL)
	ref, err := url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	return base.ResolveReference(ref).String(), fields
}

// parseForm returns the first form's action and its inputs' values.
func parseForm(t *testing.T, r io.Reader) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	var action string
	fields := url.Values{}
	found := false
	var walk func(n *html.Node, inForm bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode && n.Data == "form" && !found {
			found, inForm = true, true
			action = attr(n, "action")
		}
		if inForm && n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			fields.Add(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatal("page has no form")
	}
	return action, fields
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// authorizeURL builds an authorization request for app.
func (ts *testServer) authorizeURL(app credentialApplication, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]}, "scope": {"read"}}
	for k, v := range extra {
		q[k] = v
	}
	return ts.URL + "/oauth/authorize?" + q.Encode()
}

// signIn submits the sign-in form as a browser would and returns the
// response (not followed).
func signIn(t *testing.T, client *http.Client, pageURL, email, password, decision string) *http.Response {
	t.Helper()
	action, fields := signInForm(t, client, pageURL)
	fields.Set("email", email)
	fields.Set("password", password)
	fields.Set("decision", decision)
	return postForm(t, client, action, fields)
}

// authorize runs the browser part of the flow and returns the code the
// app's redirect URI receives.
func (ts *testServer) authorize(t *testing.T, app credentialApplication, extra url.Values) string {
	t.Helper()
	resp := signIn(t, browser(t), ts.authorizeURL(app, extra), testEmail, testPassword, "approve")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	return code
}

// tokenResult is the token endpoint's answer, success or error.
type tokenResult struct {
	tokenResponse
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (ts *testServer) exchange(t *testing.T, values url.Values, want int) tokenResult {
	t.Helper()
	var res tokenResult
	decodeResponse(t, postForm(t, nil, ts.URL+"/oauth/token", values), want, &res)
	return res
}

// activitypubAccount describes a local account with the test password.
func activitypubAccount(username string) activitypub.NewAccount {
	return activitypub.NewAccount{Username: username, Email: username + "@example.org", Password: testPassword}
}
