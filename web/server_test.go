package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// testServer is a whole instance on a real loopback listener. Its domain is
// the listener's address, so the URLs it serves are fetchable.
type testServer struct {
	*Server
	URL    string
	Domain string
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	domain := hs.Listener.Addr().String()
	srv, err := New(t.Context(), Options{Domain: domain, Protocol: "http", Title: "Test instance", DataDir: t.TempDir(), Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Store().Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		srv.Close()
	})
	return &testServer{Server: srv, URL: hs.URL, Domain: domain}
}

func (ts *testServer) createAccount(t *testing.T, username string) *activitypub.LocalAccount {
	t.Helper()
	la, err := ts.Instance().CreateAccount(t.Context(), activitypub.NewAccount{
		Username: username, Email: username + "@example.org", Password: "correct horse battery",
	})
	if err != nil {
		t.Fatal(err)
	}
	return la
}

// get fetches path with the given Accept header (none when ""), without
// following redirects.
func get(t *testing.T, url, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, body)
	}
	return m
}

const (
	acceptAP     = "application/activity+json"
	acceptLDJSON = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

// TestActor_fieldsMastodonNeeds checks the actor document field by field
// against what Mastodon reads to follow an account (docs.joinmastodon.org
// spec/activitypub "Profile" and spec/security "publicKey").
func TestActor_fieldsMastodonNeeds(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	base := ts.URL
	actorURL := base + "/users/alice"
	for _, accept := range []string{acceptAP, acceptLDJSON, `application/ld+json`, "application/activity+json, application/ld+json"} {
		t.Run(accept, func(t *testing.T) {
			resp, body := get(t, actorURL, accept)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/activity+json") {
				t.Fatalf("Content-Type %q", ct)
			}
			doc := decodeObject(t, body)
			ctx, _ := doc["@context"].([]any)
			if len(ctx) < 3 || ctx[0] != "https://www.w3.org/ns/activitystreams" || ctx[1] != "https://w3id.org/security/v1" {
				t.Fatalf("@context = %v", doc["@context"])
			}
			terms, _ := ctx[2].(map[string]any)
			for _, term := range []string{"manuallyApprovesFollowers", "toot", "featured", "discoverable", "indexable", "schema", "PropertyValue"} {
				if terms[term] == nil {
					t.Errorf("@context does not define %s", term)
				}
			}
			if strings.Contains(string(body), `"http://joinmastodon.org/ns"`) {
				t.Error("@context names http://joinmastodon.org/ns as a document")
			}
			wantStrings := map[string]string{
				"id":                actorURL,
				"type":              "Person",
				"preferredUsername": "alice",
				"name":              "alice",
				"summary":           "",
				"url":               base + "/@alice",
				"inbox":             actorURL + "/inbox",
				"outbox":            actorURL + "/outbox",
				"followers":         actorURL + "/followers",
				"following":         actorURL + "/following",
				"featured":          actorURL + "/collections/featured",
			}
			for field, want := range wantStrings {
				if got, ok := doc[field].(string); !ok || got != want {
					t.Errorf("%s = %#v, want %q", field, doc[field], want)
				}
			}
			for _, field := range []string{"manuallyApprovesFollowers", "discoverable"} {
				if _, ok := doc[field].(bool); !ok {
					t.Errorf("%s = %#v, want a boolean", field, doc[field])
				}
			}
			if published, _ := doc["published"].(string); published == "" {
				t.Error("published missing")
			} else if _, err := time.Parse(time.RFC3339, published); err != nil {
				t.Errorf("published: %v", err)
			}
			endpoints, _ := doc["endpoints"].(map[string]any)
			if endpoints["sharedInbox"] != base+"/inbox" {
				t.Errorf("endpoints = %v", doc["endpoints"])
			}
			key, _ := doc["publicKey"].(map[string]any)
			if key["id"] != actorURL+"#main-key" || key["owner"] != actorURL {
				t.Errorf("publicKey id/owner = %v / %v", key["id"], key["owner"])
			}
			if pem, _ := key["publicKeyPem"].(string); !strings.HasPrefix(pem, "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("publicKeyPem = %q", pem)
			}
			if _, ok := doc["icon"]; ok {
				t.Error("icon present although no avatar is set")
			}
		})
	}
}

func TestActor_iconAndImageWhenSet(t *testing.T) {
	ts := newTestServer(t)
	la := ts.createAccount(t, "alice")
	if err := ts.Store().Update(t.Context(), func(tx *storage.Tx) error {
		la.Account.AvatarURL = ts.URL + "/media/avatar.png"
		la.Account.HeaderURL = ts.URL + "/media/header.jpg"
		return tx.PutAccount(la.Account)
	}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, ts.URL+"/users/alice", acceptAP)
	doc := decodeObject(t, body)
	for field, want := range map[string]string{"icon": ts.URL + "/media/avatar.png", "image": ts.URL + "/media/header.jpg"} {
		img, _ := doc[field].(map[string]any)
		if img["type"] != "Image" || img["url"] != want {
			t.Errorf("%s = %v, want an Image at %s", field, doc[field], want)
		}
	}
}

func TestInstanceActor(t *testing.T) {
	ts := newTestServer(t)
	resp, body := get(t, ts.URL+"/actor", acceptAP)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	doc := decodeObject(t, body)
	if doc["id"] != ts.URL+"/actor" || doc["type"] != "Application" || doc["preferredUsername"] != ts.Domain {
		t.Fatalf("instance actor: id=%v type=%v preferredUsername=%v", doc["id"], doc["type"], doc["preferredUsername"])
	}
	if key, _ := doc["publicKey"].(map[string]any); key["id"] != ts.URL+"/actor#main-key" {
		t.Fatalf("publicKey = %v", doc["publicKey"])
	}
	// It is reachable through WebFinger as domain@domain, as Mastodon's is.
	resp, body = get(t, ts.URL+"/.well-known/webfinger?resource=acct:"+ts.Domain+"@"+ts.Domain, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), ts.URL+"/actor") {
		t.Fatalf("webfinger of the instance actor: %d %s", resp.StatusCode, body)
	}
	// The instance actor is not a user: /users/<domain> does not exist.
	if resp, _ := get(t, ts.URL+"/users/"+ts.Domain, acceptAP); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/users/<domain>: status %d, want 404", resp.StatusCode)
	}
}

func TestActor_contentNegotiation(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	tests := []struct {
		name, path, accept string
		status             int
		location           string
		contentType        string
	}{
		{"browser on actor", "/users/alice", "text/html,application/xhtml+xml,*/*;q=0.8", http.StatusFound, "/@alice", ""},
		{"no accept on actor", "/users/alice", "", http.StatusFound, "/@alice", ""},
		{"image accept on actor", "/users/alice", "image/png", http.StatusNotAcceptable, "", "application/json"},
		{"json q=0", "/users/alice", "application/activity+json;q=0, image/png", http.StatusNotAcceptable, "", "application/json"},
		{"profile page", "/@alice", "text/html", http.StatusOK, "", "text/html"},
		{"peer on profile page", "/@alice", acceptAP, http.StatusFound, "/users/alice", ""},
		{"unknown user actor", "/users/bob", acceptAP, http.StatusNotFound, "", "application/json"},
		{"unknown user page", "/@bob", "text/html", http.StatusNotFound, "", "text/html"},
		{"image accept on collection", "/users/alice/outbox", "image/png", http.StatusNotAcceptable, "", "application/json"},
		{"home page", "/", "text/html", http.StatusOK, "", "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, ts.URL+tt.path, tt.accept)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.path != "/" && resp.Header.Get("Vary") != "Accept" {
				t.Errorf("Vary = %q: caches could serve this answer to a client that asked for another type", resp.Header.Get("Vary"))
			}
			if tt.location != "" {
				if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, tt.location) {
					t.Fatalf("Location %q, want …%s", loc, tt.location)
				}
			}
			if tt.contentType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), tt.contentType)
			}
		})
	}
}

func TestProfilePage_showsAccountAndEscapes(t *testing.T) {
	ts := newTestServer(t)
	la := ts.createAccount(t, "alice")
	// A display name with markup must come out escaped.
	if err := ts.Store().Update(t.Context(), func(tx *storage.Tx) error {
		la.Account.DisplayName = `Alice <script>alert(1)</script>`
		return tx.PutAccount(la.Account)
	}); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, ts.URL+"/@alice", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	page := string(body)
	for _, want := range []string{"@alice@" + ts.Domain, "Alice &lt;script&gt;", `rel="alternate" type="application/activity+json" href="` + ts.URL + `/users/alice"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("display name rendered unescaped")
	}
}

func TestCollections(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	actorURL := ts.URL + "/users/alice"
	for _, path := range []string{"/outbox", "/followers", "/following", "/collections/featured"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, actorURL+path, acceptAP)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			doc := decodeObject(t, body)
			if doc["@context"] != "https://www.w3.org/ns/activitystreams" || doc["id"] != actorURL+path ||
				doc["type"] != "OrderedCollection" || doc["totalItems"] != float64(0) {
				t.Fatalf("collection: %s", body)
			}
			first, _ := doc["first"].(string)
			if first == "" {
				t.Fatalf("no first page: %s", body)
			}
			resp, body = get(t, first, acceptAP)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("first page status %d", resp.StatusCode)
			}
			page := decodeObject(t, body)
			items, ok := page["orderedItems"].([]any)
			if page["type"] != "OrderedCollectionPage" || page["id"] != first || page["partOf"] != actorURL+path || !ok || len(items) != 0 {
				t.Fatalf("page: %s", body)
			}
			if resp, _ := get(t, actorURL+path+"?page=banana", acceptAP); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("?page=banana: status %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestWebFinger follows RFC 7033 and what Mastodon reads: subject, a self
// link of type application/activity+json, and a profile page link.
func TestWebFinger(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	actorURL := ts.URL + "/users/alice"
	for _, resource := range []string{"acct:alice@" + ts.Domain, "acct:ALICE@" + ts.Domain, actorURL, ts.URL + "/@alice"} {
		t.Run(resource, func(t *testing.T) {
			resp, body := get(t, ts.URL+"/.well-known/webfinger?resource="+resource, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/jrd+json") {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header")
			}
			var doc struct {
				Subject string   `json:"subject"`
				Aliases []string `json:"aliases"`
				Links   []struct {
					Rel, Type, Href string
				} `json:"links"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Subject != "acct:alice@"+ts.Domain {
				t.Errorf("subject %q", doc.Subject)
			}
			if len(doc.Aliases) == 0 || doc.Aliases[0] != actorURL {
				t.Errorf("aliases %v", doc.Aliases)
			}
			links := map[string][2]string{}
			for _, l := range doc.Links {
				links[l.Rel] = [2]string{l.Type, l.Href}
			}
			if links["self"] != [2]string{"application/activity+json", actorURL} {
				t.Errorf("self link %v", links["self"])
			}
			if links["http://webfinger.net/rel/profile-page"] != [2]string{"text/html", ts.URL + "/@alice"} {
				t.Errorf("profile-page link %v", links["http://webfinger.net/rel/profile-page"])
			}
		})
	}
	t.Run("rel=self", func(t *testing.T) {
		_, body := get(t, ts.URL+"/.well-known/webfinger?resource=acct:alice@"+ts.Domain+"&rel=self", "")
		var doc struct{ Links []struct{ Rel string } }
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Links) != 1 || doc.Links[0].Rel != "self" {
			t.Fatalf("links with rel=self: %s", body)
		}
	})
	errorCases := []struct {
		query  string
		status int
	}{
		{"", http.StatusBadRequest},
		{"resource=", http.StatusBadRequest},
		{"resource=acct:alice", http.StatusBadRequest},
		{"resource=mailto:alice@" + ts.Domain, http.StatusBadRequest},
		{"resource=acct:alice@a&resource=acct:bob@b", http.StatusBadRequest},
		{"resource=acct:bob@" + ts.Domain, http.StatusNotFound},
		{"resource=acct:alice@elsewhere.test", http.StatusNotFound},
	}
	for _, tt := range errorCases {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := get(t, ts.URL+"/.well-known/webfinger?"+tt.query, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if decodeObject(t, body)["error"] == nil {
				t.Fatalf("no error message: %s", body)
			}
		})
	}
}

func TestHostMeta(t *testing.T) {
	ts := newTestServer(t)
	template := ts.URL + "/.well-known/webfinger?resource={uri}"
	resp, body := get(t, ts.URL+"/.well-known/host-meta", "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xrd+xml") {
		t.Fatalf("host-meta: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var x struct {
		XMLName xml.Name
		Links   []struct {
			Rel      string `xml:"rel,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Link"`
	}
	if err := xml.Unmarshal(body, &x); err != nil {
		t.Fatal(err)
	}
	if x.XMLName.Space != "http://docs.oasis-open.org/ns/xri/xrd-1.0" || x.XMLName.Local != "XRD" ||
		len(x.Links) != 1 || x.Links[0].Rel != "lrdd" || x.Links[0].Template != template {
		t.Fatalf("host-meta XRD: %s", body)
	}
	resp, body = get(t, ts.URL+"/.well-known/host-meta.json", "")
	var j struct {
		Links []struct{ Rel, Template string }
	}
	if err := json.Unmarshal(body, &j); err != nil || resp.StatusCode != http.StatusOK ||
		len(j.Links) != 1 || j.Links[0].Rel != "lrdd" || j.Links[0].Template != template {
		t.Fatalf("host-meta.json: %d %s", resp.StatusCode, body)
	}
}

// TestNodeInfo checks the discovery document and both schema versions
// against the NodeInfo 2.0 and 2.1 schemas' required fields.
func TestNodeInfo(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	ts.createAccount(t, "bob")
	ts.createAccount(t, "carol")
	for _, name := range []string{"alice", "bob"} { // carol never signs in
		if _, err := ts.Instance().Authenticate(t.Context(), name+"@example.org", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := get(t, ts.URL+"/.well-known/nodeinfo", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var links struct {
		Links []struct{ Rel, Href string }
	}
	if err := json.Unmarshal(body, &links); err != nil {
		t.Fatal(err)
	}
	hrefs := map[string]string{}
	for _, l := range links.Links {
		hrefs[l.Rel] = l.Href
	}
	for _, version := range []string{"2.0", "2.1"} {
		t.Run(version, func(t *testing.T) {
			href := hrefs["http://nodeinfo.diaspora.software/ns/schema/"+version]
			if href != ts.URL+"/nodeinfo/"+version {
				t.Fatalf("link for %s: %q", version, href)
			}
			resp, body := get(t, href, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			wantCT := `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/` + version + `#"`
			if ct := resp.Header.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type %q, want %q", ct, wantCT)
			}
			var doc struct {
				Version  string
				Software struct {
					Name, Version, Repository, Homepage string
				}
				Protocols         []string
				Services          struct{ Inbound, Outbound []string }
				OpenRegistrations *bool
				Usage             struct {
					Users struct {
						Total, ActiveMonth, ActiveHalfyear *int64
					}
					LocalPosts *int64
				}
				Metadata map[string]any
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Version != version || doc.Software.Name != "rhizome" || doc.Software.Version != "1.2.3" {
				t.Errorf("version/software: %s", body)
			}
			if len(doc.Protocols) != 1 || doc.Protocols[0] != "activitypub" {
				t.Errorf("protocols %v", doc.Protocols)
			}
			if doc.Services.Inbound == nil || doc.Services.Outbound == nil || doc.OpenRegistrations == nil || doc.Metadata == nil {
				t.Errorf("required field missing: %s", body)
			}
			u := doc.Usage.Users
			if u.Total == nil || *u.Total != 3 || u.ActiveMonth == nil || *u.ActiveMonth != 2 || u.ActiveHalfyear == nil ||
				doc.Usage.LocalPosts == nil || *doc.Usage.LocalPosts != 0 {
				t.Errorf("usage: %s", body)
			}
			if doc.Metadata["nodeName"] != "Test instance" {
				t.Errorf("nodeName %v", doc.Metadata["nodeName"])
			}
			if version == "2.1" && doc.Software.Repository == "" {
				t.Errorf("2.1 software.repository missing")
			}
			if version == "2.0" && doc.Software.Repository != "" {
				t.Errorf("2.0 must not carry software.repository (its schema forbids extra properties)")
			}
		})
	}
	if resp, _ := get(t, ts.URL+"/nodeinfo/3.0", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("nodeinfo 3.0: status %d, want 404", resp.StatusCode)
	}
}

// TestBadInput sends malformed and hostile requests: each gets a 4xx with a
// JSON or HTML error, and none changes the store.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	ts.createAccount(t, "alice")
	before := snapshot(t, ts.Store())
	big := strings.NewReader(strings.Repeat("x", 2<<20))
	tests := []struct {
		name   string
		method string
		path   string
		accept string
		body   io.Reader
		status int
	}{
		{"malformed resource", "GET", "/.well-known/webfinger?resource=acct:%40", "", nil, 400},
		{"resource too long", "GET", "/.well-known/webfinger?resource=acct:" + strings.Repeat("a", 5000) + "@x", "", nil, 400},
		{"bad percent encoding", "GET", "/.well-known/webfinger?resource=%zz", "", nil, 400},
		{"unknown user", "GET", "/users/nobody", acceptAP, nil, 404},
		{"unknown user collection", "GET", "/users/nobody/followers", acceptAP, nil, 404},
		{"unsupported accept", "GET", "/users/alice", "image/png", nil, 406},
		{"oversized body", "POST", "/users/alice", acceptAP, big, 413},
		{"unknown path", "GET", "/no/such/thing", "", nil, 404},
		{"wrong method", "DELETE", "/users/alice", acceptAP, nil, 405},
		{"post to webfinger", "POST", "/.well-known/webfinger", "", strings.NewReader("{}"), 405},
		{"path traversal", "GET", "/users/..%2f..%2fetc%2fpasswd", acceptAP, nil, 301}, // mux redirects to the cleaned path, which is 404
		{"nul in username", "GET", "/users/al%00ice", acceptAP, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, ts.URL+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && decodeObject(t, body)["error"] == nil {
				t.Fatalf("JSON error without an error message: %s", body)
			}
		})
	}
	if after := snapshot(t, ts.Store()); after != before {
		t.Fatalf("store changed by bad input:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot summarises what requests could change.
func snapshot(t *testing.T, s *storage.Store) string {
	t.Helper()
	var b strings.Builder
	err := s.View(func(tx *storage.Tx) error {
		n, err := tx.Counter(storage.CounterLocalUsers)
		if err != nil {
			return err
		}
		b.WriteString("users=" + strconv.FormatInt(n, 10))
		return tx.ForEachUser(func(a *storage.Account, u *storage.User) error {
			raw, _ := json.Marshal([]any{a, u})
			b.Write(raw)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNew_refusesSecondServerOnSameData(t *testing.T) {
	dir := t.TempDir()
	first, err := New(t.Context(), Options{Domain: "a.test", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = New(t.Context(), Options{Domain: "a.test", DataDir: dir, LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second server on the same data: %v", err)
	}
	if _, err := New(context.Background(), Options{Domain: "a.test"}); err == nil {
		t.Fatal("New without DataDir succeeded")
	}
}

func TestStatusPages(t *testing.T) {
	ts := newTestServer(t)
	la := ts.createAccount(t, "alice")
	public, err := ts.Instance().PostStatus(t.Context(), la.Account, activitypub.Draft{Text: "Hello <world> #greetings"})
	if err != nil {
		t.Fatal(err)
	}
	private, err := ts.Instance().PostStatus(t.Context(), la.Account, activitypub.Draft{Text: "secret", Visibility: storage.VisibilityPrivate})
	if err != nil {
		t.Fatal(err)
	}
	page := "/@alice/" + public.ID.String()
	note := "/users/alice/statuses/" + public.ID.String()
	tests := []struct {
		name, path, accept string
		status             int
		location, has      string
	}{
		{"page", page, "text/html", 200, "", "Hello &lt;world&gt;"},
		{"page for a peer", page, acceptAP, 302, note, ""},
		{"note for a browser", note, "text/html", 302, page, ""},
		{"note", note, acceptAP, 200, "", `"type":"Note"`},
		{"create activity", note + "/activity", acceptAP, 200, "", `"type":"Create"`},
		{"private page", "/@alice/" + private.ID.String(), "text/html", 404, "", ""},
		{"private note", "/users/alice/statuses/" + private.ID.String(), acceptAP, 404, "", ""},
		{"unknown status", "/@alice/12345", "text/html", 404, "", ""},
		{"status of someone else", "/@bob/" + public.ID.String(), "text/html", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, ts.URL+tt.path, tt.accept)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.location != "" && !strings.HasSuffix(resp.Header.Get("Location"), tt.location) {
				t.Fatalf("Location %q, want …%s", resp.Header.Get("Location"), tt.location)
			}
			if tt.has != "" && !strings.Contains(string(body), tt.has) {
				t.Fatalf("body lacks %q: %s", tt.has, body)
			}
		})
	}
}
