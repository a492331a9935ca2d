package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// apiToken stores an app and a user token for account with the given
// scopes, as the OAuth flow would, and returns the raw token.
func apiToken(t testing.TB, s *Server, account *storage.Account, scopes ...string) string {
	t.Helper()
	raw := "token-" + account.Username + "-" + strings.Join(scopes, "-") + "-" + s.Store().NewID().String()
	app := &storage.App{ID: s.Store().NewID(), ClientID: "client-" + raw, ClientSecretHash: storage.SecretHash("secret"),
		Name: "Test app", RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: scopes, CreatedAt: time.Now()}
	if err := s.Store().Update(t.Context(), func(tx *storage.Tx) error {
		if err := tx.CreateApp(app); err != nil {
			return err
		}
		return tx.PutToken(&storage.Token{Hash: storage.SecretHash(raw), AppID: app.ID, AccountID: account.ID, Scopes: scopes, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return raw
}

// call makes an API request with an optional bearer token and JSON body,
// and decodes the JSON answer into out (when not nil).
func call(t testing.TB, method, url, token string, body any, out any) *http.Response {
	t.Helper()
	return callWith(t, http.DefaultClient, method, url, token, body, out)
}

// callWith is call through client (tests' networks of named hosts).
func callWith(t testing.TB, client *http.Client, method, url, token string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, url, resp.StatusCode, data)
		}
	}
	return resp
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Field sets Mastodon documents for its entities (docs.joinmastodon.org
// entities/Account and entities/Status): every one must be present.
var (
	accountFields = []string{"id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
		"created_at", "note", "url", "uri", "avatar", "avatar_static", "header", "header_static", "followers_count",
		"following_count", "statuses_count", "last_status_at", "emojis", "fields"}
	statusFields = []string{"id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
		"spoiler_text", "media_attachments", "application", "mentions", "tags", "emojis", "reblogs_count",
		"favourites_count", "replies_count", "in_reply_to_id", "in_reply_to_account_id", "reblog", "poll", "card",
		"language", "text", "edited_at", "favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered"}
	relationshipFields = []string{"id", "following", "showing_reblogs", "notifying", "followed_by", "blocking",
		"blocked_by", "muting", "muting_notifications", "requested", "requested_by", "domain_blocking", "endorsed", "note"}
)

func requireFields(t *testing.T, what string, m map[string]any, fields []string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Errorf("%s lacks %q (has %v)", what, f, keysOf(m))
		}
	}
}

func TestAPI_entitiesScopesAndVisibility(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	rw := apiToken(t, ts.Server, alice, "read", "write", "follow")
	readOnly := apiToken(t, ts.Server, bob, "read")
	bobRW := apiToken(t, ts.Server, bob, "read", "write", "follow")
	api := ts.URL + "/api/v1"

	var me map[string]any
	if resp := call(t, "GET", api+"/accounts/verify_credentials", rw, nil, &me); resp.StatusCode != 200 {
		t.Fatalf("verify_credentials: %d %v", resp.StatusCode, me)
	}
	requireFields(t, "Account", me, append(accountFields, "source"))
	if me["acct"] != "alice" || me["avatar"] == "" || !strings.HasSuffix(me["avatar"].(string), ".png") {
		t.Errorf("account %v", me)
	}
	var post map[string]any
	resp := call(t, "POST", api+"/statuses", rw, map[string]any{"status": "Hello @bob #rhizome", "spoiler_text": "hi", "language": "en"}, &post)
	if resp.StatusCode != 200 {
		t.Fatalf("post: %d %v", resp.StatusCode, post)
	}
	requireFields(t, "Status", post, statusFields)
	if post["sensitive"] != true || post["spoiler_text"] != "hi" || post["in_reply_to_id"] != nil || post["language"] != "en" {
		t.Errorf("status %v", post)
	}
	if created, _ := post["created_at"].(string); len(created) != len("2006-01-02T15:04:05.000Z") || !strings.HasSuffix(created, "Z") {
		t.Errorf("created_at %q is not ISO 8601 with milliseconds", created)
	}
	if mentions, _ := post["mentions"].([]any); len(mentions) != 1 {
		t.Errorf("mentions %v", post["mentions"])
	}
	id := post["id"].(string)

	// Scopes: a read token cannot post; no token cannot read home.
	if resp := call(t, "POST", api+"/statuses", readOnly, map[string]any{"status": "nope"}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post with a read token: %d, want 403", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/timelines/home", "", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("home without a token: %d, want 401", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/timelines/home", "bogus", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("home with a bad token: %d, want 401", resp.StatusCode)
	}

	// bob follows alice and sees her posts; a followers-only post is
	// hidden from strangers.
	var rel map[string]any
	if resp := call(t, "POST", api+"/accounts/"+alice.ID.String()+"/follow", bobRW, nil, &rel); resp.StatusCode != 200 || rel["following"] != true {
		t.Fatalf("follow: %d %v", resp.StatusCode, rel)
	}
	requireFields(t, "Relationship", rel, relationshipFields)
	var private map[string]any
	call(t, "POST", api+"/statuses", rw, map[string]any{"status": "followers only", "visibility": "private"}, &private)
	var home []map[string]any
	call(t, "GET", api+"/timelines/home?limit=10", bobRW, nil, &home)
	if len(home) == 0 || home[0]["id"] != private["id"] {
		t.Fatalf("bob's home %v", home)
	}
	if resp := call(t, "GET", api+"/statuses/"+private["id"].(string), "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("anonymous GET of a followers-only status: %d, want 404", resp.StatusCode)
	}
	var publicTL []map[string]any
	call(t, "GET", api+"/timelines/public", "", nil, &publicTL)
	for _, s := range publicTL {
		if s["id"] == private["id"] {
			t.Error("followers-only status in the public timeline")
		}
	}
	// Favourite and reblog.
	var faved map[string]any
	call(t, "POST", api+"/statuses/"+id+"/favourite", bobRW, nil, &faved)
	if faved["favourited"] != true || faved["favourites_count"] != float64(1) {
		t.Errorf("favourite: %v", faved)
	}
	var boost map[string]any
	call(t, "POST", api+"/statuses/"+id+"/reblog", bobRW, nil, &boost)
	if inner, _ := boost["reblog"].(map[string]any); inner == nil || inner["id"] != id {
		t.Errorf("reblog: %v", boost)
	}
	// Reply, context, delete with source text.
	var reply map[string]any
	call(t, "POST", api+"/statuses", bobRW, map[string]any{"status": "@alice hi", "in_reply_to_id": id}, &reply)
	var ctx map[string][]map[string]any
	call(t, "GET", api+"/statuses/"+id+"/context", rw, nil, &ctx)
	if len(ctx["descendants"]) != 1 || ctx["descendants"][0]["id"] != reply["id"] {
		t.Errorf("context %v", ctx)
	}
	var deleted map[string]any
	call(t, "DELETE", api+"/statuses/"+reply["id"].(string), bobRW, nil, &deleted)
	if deleted["text"] != "@alice hi" {
		t.Errorf("delete: text %v", deleted["text"])
	}
	if resp := call(t, "DELETE", api+"/statuses/"+id, bobRW, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleting someone else's status: %d, want 404 (Mastodon: not owned by you)", resp.StatusCode)
	}
	// Validation: 422 with an error message.
	var bad map[string]any
	if resp := call(t, "POST", api+"/statuses", rw, map[string]any{"status": ""}, &bad); resp.StatusCode != 422 || bad["error"] == nil {
		t.Errorf("empty status: %d %v", resp.StatusCode, bad)
	}
	if resp := call(t, "GET", api+"/statuses/99999999", rw, nil, &bad); resp.StatusCode != 404 || bad["error"] == nil {
		t.Errorf("unknown status: %d %v", resp.StatusCode, bad)
	}
	_ = url.Values{}
}

func TestAPI_instanceAndPaging(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	token := apiToken(t, ts.Server, alice, "read", "write")
	var v1, v2 map[string]any
	call(t, "GET", ts.URL+"/api/v1/instance", "", nil, &v1)
	call(t, "GET", ts.URL+"/api/v2/instance", "", nil, &v2)
	if !strings.HasPrefix(v1["version"].(string), "4.3.0 (compatible; Rhizome") || v2["domain"] != ts.Domain {
		t.Fatalf("instance: %v / %v", v1["version"], v2["domain"])
	}
	cfg, _ := v2["configuration"].(map[string]any)
	if st, _ := cfg["statuses"].(map[string]any); st["max_characters"] != float64(5000) {
		t.Fatalf("configuration.statuses %v", cfg["statuses"])
	}
	var ids []string
	for i := range 5 {
		var s map[string]any
		call(t, "POST", ts.URL+"/api/v1/statuses", token, map[string]any{"status": "post " + string(rune('a'+i))}, &s)
		ids = append(ids, s["id"].(string))
	}
	var pg []map[string]any
	resp := call(t, "GET", ts.URL+"/api/v1/timelines/home?limit=2", token, nil, &pg)
	if len(pg) != 2 || pg[0]["id"] != ids[4] || pg[1]["id"] != ids[3] {
		t.Fatalf("first page %v", pg)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `max_id=`+ids[3]) || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, `min_id=`+ids[4]) {
		t.Fatalf("Link %q", link)
	}
	call(t, "GET", ts.URL+"/api/v1/timelines/home?limit=2&max_id="+ids[3], token, nil, &pg)
	if len(pg) != 2 || pg[0]["id"] != ids[2] || pg[1]["id"] != ids[1] {
		t.Fatalf("next page %v", pg)
	}
	call(t, "GET", ts.URL+"/api/v1/timelines/home?limit=2&min_id="+ids[0], token, nil, &pg)
	if len(pg) != 2 || pg[0]["id"] != ids[2] || pg[1]["id"] != ids[1] {
		t.Fatalf("min_id page %v (want the two just above %s, newest first)", pg, ids[0])
	}
	if resp := call(t, "GET", ts.URL+"/api/v1/timelines/home?max_id=banana", token, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("max_id=banana: %d", resp.StatusCode)
	}
}

func TestAPI_search(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	ts.createAccount(t, "alfred")
	token := apiToken(t, ts.Server, alice, "read")
	var res map[string][]map[string]any
	call(t, "GET", ts.URL+"/api/v2/search?q=al&type=accounts", token, nil, &res)
	if len(res["accounts"]) != 2 {
		t.Fatalf("search al: %v", res["accounts"])
	}
	call(t, "GET", ts.URL+"/api/v2/search?q=%23Rhizome", token, nil, &res)
	if len(res["hashtags"]) != 1 || res["hashtags"][0]["name"] != "rhizome" {
		t.Fatalf("hashtag search: %v", res["hashtags"])
	}
	if resp := call(t, "GET", ts.URL+"/api/v2/search", token, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("search without q: %d", resp.StatusCode)
	}
}

// TestFederation_apiSearchResolve looks a remote account up through the
// API, as an app does before following it.
func TestFederation_apiSearchResolve(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	a.account("alice", false)
	bob := b.account("bob", false)
	token := apiToken(t, b.srv, bob, "read", "follow")
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://b.test/api/v2/search?q=@alice@a.test&resolve=true&type=accounts", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res map[string][]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if len(res["accounts"]) != 1 || res["accounts"][0]["acct"] != "alice@a.test" {
		t.Fatalf("resolve: %d %v", resp.StatusCode, res)
	}
}

func TestAPI_markersHistoryAndLists(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	api := ts.URL + "/api/v1"
	var post map[string]any
	call(t, "POST", api+"/statuses", at, map[string]any{"status": "first version"}, &post)
	id := post["id"].(string)
	call(t, "POST", api+"/statuses/"+id+"/favourite", bt, nil, nil)
	call(t, "POST", api+"/statuses/"+id+"/reblog", bt, nil, nil)
	var who []map[string]any
	call(t, "GET", api+"/statuses/"+id+"/favourited_by", at, nil, &who)
	if len(who) != 1 || who[0]["id"] != bob.ID.String() {
		t.Errorf("favourited_by %v", who)
	}
	call(t, "GET", api+"/statuses/"+id+"/reblogged_by", at, nil, &who)
	if len(who) != 1 || who[0]["id"] != bob.ID.String() {
		t.Errorf("reblogged_by %v", who)
	}
	var favs []map[string]any
	call(t, "GET", api+"/favourites", bt, nil, &favs)
	if len(favs) != 1 || favs[0]["id"] != id {
		t.Errorf("favourites %v", favs)
	}
	// Edit, then history holds both versions and source the new text.
	var edited map[string]any
	call(t, "PUT", api+"/statuses/"+id, at, map[string]any{"status": "second version"}, &edited)
	if edited["edited_at"] == nil {
		t.Errorf("edited status has no edited_at: %v", edited)
	}
	var history []map[string]any
	call(t, "GET", api+"/statuses/"+id+"/history", at, nil, &history)
	if len(history) != 2 || !strings.Contains(history[0]["content"].(string), "first") || !strings.Contains(history[1]["content"].(string), "second") {
		t.Errorf("history %v", history)
	}
	var source map[string]any
	call(t, "GET", api+"/statuses/"+id+"/source", at, nil, &source)
	if source["text"] != "second version" {
		t.Errorf("source %v", source)
	}
	if resp := call(t, "GET", api+"/statuses/"+id+"/source", bt, nil, nil); resp.StatusCode != 404 {
		t.Errorf("someone else's source: %d", resp.StatusCode)
	}
	// Notifications: alice has a favourite and a reblog; the marker makes
	// them read.
	var notes []map[string]any
	call(t, "GET", api+"/notifications", at, nil, &notes)
	if len(notes) != 2 || notes[0]["type"] != "reblog" || notes[1]["type"] != "favourite" {
		t.Fatalf("notifications %v", notes)
	}
	var unread map[string]int
	call(t, "GET", api+"/notifications/unread_count", at, nil, &unread)
	if unread["count"] != 2 {
		t.Errorf("unread %v", unread)
	}
	var markers map[string]map[string]any
	call(t, "POST", api+"/markers", at, map[string]any{"notifications": map[string]any{"last_read_id": notes[0]["id"]}}, &markers)
	if markers["notifications"]["last_read_id"] != notes[0]["id"] {
		t.Errorf("markers %v", markers)
	}
	call(t, "GET", api+"/notifications/unread_count", at, nil, &unread)
	if unread["count"] != 0 {
		t.Errorf("unread after the marker %v", unread)
	}
	call(t, "GET", api+"/notifications?types[]=favourite", at, nil, &notes)
	if len(notes) != 1 || notes[0]["type"] != "favourite" {
		t.Errorf("filtered notifications %v", notes)
	}
	// Blocks list.
	call(t, "POST", api+"/accounts/"+bob.ID.String()+"/block", at, nil, nil)
	var blocked []map[string]any
	call(t, "GET", api+"/blocks", at, nil, &blocked)
	if len(blocked) != 1 || blocked[0]["id"] != bob.ID.String() {
		t.Errorf("blocks %v", blocked)
	}
	if resp := call(t, "GET", api+"/statuses/"+id, bt, nil, nil); resp.StatusCode != 404 {
		t.Errorf("a blocked account sees the blocker's status: %d", resp.StatusCode)
	}
}

func TestAPI_corsAndRateLimitHeaders(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, ts.URL+"/api/v1/timelines/home", nil)
	req.Header.Set("Origin", "https://elk.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp = call(t, "GET", ts.URL+"/api/v1/instance", "", nil, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("X-RateLimit-Limit") != "300" ||
		resp.Header.Get("X-RateLimit-Remaining") != "299" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("headers %v", resp.Header)
	}
}

func TestAPI_bookmarksMutesPins(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	api := ts.URL + "/api/v1"
	call(t, "POST", api+"/accounts/"+alice.ID.String()+"/follow", bt, nil, nil)
	var post map[string]any
	call(t, "POST", api+"/statuses", at, map[string]any{"status": "pin me"}, &post)
	id := post["id"].(string)
	var st map[string]any
	call(t, "POST", api+"/statuses/"+id+"/bookmark", bt, nil, &st)
	if st["bookmarked"] != true {
		t.Errorf("bookmark: %v", st["bookmarked"])
	}
	var list []map[string]any
	call(t, "GET", api+"/bookmarks", bt, nil, &list)
	if len(list) != 1 || list[0]["id"] != id {
		t.Errorf("bookmarks %v", list)
	}
	call(t, "POST", api+"/statuses/"+id+"/pin", at, nil, &st)
	if st["pinned"] != true {
		t.Errorf("pin: %v", st["pinned"])
	}
	call(t, "GET", api+"/accounts/"+alice.ID.String()+"/statuses?pinned=true", bt, nil, &list)
	if len(list) != 1 || list[0]["id"] != id {
		t.Errorf("pinned statuses %v", list)
	}
	resp, body := get(t, ts.URL+"/users/alice/collections/featured?page=true", acceptAP)
	if resp.StatusCode != 200 || !strings.Contains(string(body), post["uri"].(string)) {
		t.Errorf("featured collection: %d %s", resp.StatusCode, body)
	}
	if resp := call(t, "POST", api+"/statuses/"+id+"/pin", bt, nil, nil); resp.StatusCode != 422 {
		t.Errorf("pinning someone else's status: %d, want 422", resp.StatusCode)
	}
	// bob mutes alice: her posts leave his home timeline.
	var rel map[string]any
	call(t, "POST", api+"/accounts/"+alice.ID.String()+"/mute", bt, nil, &rel)
	if rel["muting"] != true {
		t.Errorf("mute: %v", rel)
	}
	call(t, "GET", api+"/timelines/home", bt, nil, &list)
	if len(list) != 0 {
		t.Errorf("muted account in home: %v", list)
	}
	call(t, "GET", api+"/mutes", bt, nil, &list)
	if len(list) != 1 || list[0]["id"] != alice.ID.String() {
		t.Errorf("mutes %v", list)
	}
	call(t, "POST", api+"/accounts/"+alice.ID.String()+"/unmute", bt, nil, nil)
	call(t, "GET", api+"/timelines/home", bt, nil, &list)
	if len(list) != 1 {
		t.Errorf("home after unmute: %v", list)
	}
}

func TestAPI_groupedNotifications(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	var post map[string]any
	call(t, "POST", ts.URL+"/api/v1/statuses", at, map[string]any{"status": "like me"}, &post)
	for _, name := range []string{"bob", "carol"} {
		a := ts.createAccount(t, name).Account
		tok := apiToken(t, ts.Server, a, "read", "write", "follow")
		call(t, "POST", ts.URL+"/api/v1/statuses/"+post["id"].(string)+"/favourite", tok, nil, nil)
		call(t, "POST", ts.URL+"/api/v1/accounts/"+alice.ID.String()+"/follow", tok, nil, nil)
	}
	var res struct {
		Accounts []map[string]any `json:"accounts"`
		Statuses []map[string]any `json:"statuses"`
		Groups   []map[string]any `json:"notification_groups"`
	}
	call(t, "GET", ts.URL+"/api/v2/notifications", at, nil, &res)
	counts := map[string]float64{}
	for _, g := range res.Groups {
		counts[g["type"].(string)] = g["notifications_count"].(float64)
		requireFields(t, "NotificationGroup", g, []string{"group_key", "notifications_count", "type", "most_recent_notification_id",
			"page_min_id", "page_max_id", "latest_page_notification_at", "sample_account_ids", "status_id"})
	}
	if len(res.Groups) != 2 || counts["favourite"] != 2 || counts["follow"] != 2 {
		t.Fatalf("groups %v", res.Groups)
	}
	if len(res.Accounts) != 2 || len(res.Statuses) != 1 {
		t.Fatalf("accounts %d, statuses %d", len(res.Accounts), len(res.Statuses))
	}
}

func TestAPI_filters(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	api := ts.URL + "/api"
	call(t, "POST", api+"/v1/statuses", at, map[string]any{"status": "big Spoiler ahead"}, nil)
	call(t, "POST", api+"/v1/statuses", at, map[string]any{"status": "spoilers are fine"}, nil)
	form := url.Values{"title": {"no spoilers"}, "context[]": {"home"}, "filter_action": {"warn"},
		"keywords_attributes[][keyword]": {"spoiler"}, "keywords_attributes[][whole_word]": {"true"}}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", api+"/v2/filters", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var filter map[string]any
	json.NewDecoder(resp.Body).Decode(&filter)
	resp.Body.Close()
	if resp.StatusCode != 200 || filter["filter_action"] != "warn" {
		t.Fatalf("create filter: %d %v", resp.StatusCode, filter)
	}
	requireFields(t, "Filter", filter, []string{"id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"})
	var home []map[string]any
	call(t, "GET", api+"/v1/timelines/home", at, nil, &home)
	if len(home) != 2 {
		t.Fatalf("home %d statuses", len(home))
	}
	// Whole word: "spoilers" does not match "spoiler"; "Spoiler" does.
	matched := map[string]bool{}
	for _, s := range home {
		f, _ := s["filtered"].([]any)
		matched[s["content"].(string)] = len(f) == 1
	}
	if !matched["<p>big Spoiler ahead</p>"] || matched["<p>spoilers are fine</p>"] {
		t.Fatalf("filtered flags %v", matched)
	}
	// Public timeline is another context: no filter results there.
	var public []map[string]any
	call(t, "GET", api+"/v1/timelines/public", at, nil, &public)
	for _, s := range public {
		if f, _ := s["filtered"].([]any); len(f) != 0 {
			t.Fatalf("filter applied outside its context: %v", s)
		}
	}
	// hide removes the status from home.
	call(t, "PUT", api+"/v2/filters/"+filter["id"].(string), at, map[string]any{"filter_action": "hide"}, nil)
	call(t, "GET", api+"/v1/timelines/home", at, nil, &home)
	if len(home) != 1 || home[0]["content"] != "<p>spoilers are fine</p>" {
		t.Fatalf("home with a hide filter: %v", home)
	}
	var v1 []map[string]any
	call(t, "GET", api+"/v1/filters", at, nil, &v1)
	if len(v1) != 1 || v1[0]["phrase"] != "spoiler" || v1[0]["irreversible"] != true {
		t.Fatalf("v1 filters %v", v1)
	}
	if resp := call(t, "POST", api+"/v2/filters", at, map[string]any{"title": "x", "context": []string{"nowhere"}}, nil); resp.StatusCode != 422 {
		t.Fatalf("bad context: %d", resp.StatusCode)
	}
	call(t, "DELETE", api+"/v2/filters/"+filter["id"].(string), at, nil, nil)
	call(t, "GET", api+"/v1/timelines/home", at, nil, &home)
	if len(home) != 2 {
		t.Fatalf("home after deleting the filter: %d", len(home))
	}
}

func TestAPI_listsTagsAndSubscriptions(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	carol := ts.createAccount(t, "carol").Account
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	ct := apiToken(t, ts.Server, carol, "read", "write", "follow")
	api := ts.URL + "/api/v1"
	// alice follows bob (with notifications, without his boosts) and carol.
	var rel map[string]any
	call(t, "POST", api+"/accounts/"+bob.ID.String()+"/follow", at, map[string]any{"notify": true, "reblogs": false}, &rel)
	if rel["notifying"] != true || rel["showing_reblogs"] != false {
		t.Fatalf("follow options: %v", rel)
	}
	call(t, "POST", api+"/accounts/"+carol.ID.String()+"/follow", at, nil, nil)
	// A list with bob only, exclusive.
	var list map[string]any
	call(t, "POST", api+"/lists", at, map[string]any{"title": "Bob", "exclusive": true}, &list)
	requireFields(t, "List", list, []string{"id", "title", "replies_policy", "exclusive"})
	lid := list["id"].(string)
	if resp := call(t, "POST", api+"/lists/"+lid+"/accounts", at, map[string]any{"account_ids": []string{bob.ID.String()}}, nil); resp.StatusCode != 200 {
		t.Fatalf("add to list: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/lists/"+lid+"/accounts", at, map[string]any{"account_ids": []string{alice.ID.String()}}, nil); resp.StatusCode != 422 {
		t.Fatalf("adding an account not followed: %d, want 422", resp.StatusCode)
	}
	var bobPost, carolPost map[string]any
	call(t, "POST", api+"/statuses", bt, map[string]any{"status": "from bob #go"}, &bobPost)
	call(t, "POST", api+"/statuses", ct, map[string]any{"status": "from carol"}, &carolPost)
	call(t, "POST", api+"/statuses/"+carolPost["id"].(string)+"/reblog", bt, nil, nil)
	var tl []map[string]any
	call(t, "GET", api+"/timelines/list/"+lid, at, nil, &tl)
	if len(tl) != 1 || tl[0]["id"] != bobPost["id"] {
		t.Fatalf("list timeline %v", tl)
	}
	call(t, "GET", api+"/timelines/home", at, nil, &tl)
	if len(tl) != 1 || tl[0]["id"] != carolPost["id"] {
		t.Fatalf("home with an exclusive list and bob's boosts hidden: %v", tl)
	}
	// bob's post notified alice (she rang the bell).
	var notes []map[string]any
	call(t, "GET", api+"/notifications?types[]=status", at, nil, &notes)
	if len(notes) != 1 || notes[0]["status"].(map[string]any)["id"] != bobPost["id"] {
		t.Fatalf("status notifications %v", notes)
	}
	// carol edits the post bob boosted: bob hears of it.
	call(t, "PUT", api+"/statuses/"+carolPost["id"].(string), ct, map[string]any{"status": "from carol, edited"}, nil)
	call(t, "GET", api+"/notifications?types[]=update", bt, nil, &notes)
	if len(notes) != 1 {
		t.Fatalf("update notifications %v", notes)
	}
	// carol follows #go and sees bob's next tagged post in her home.
	var tag map[string]any
	call(t, "POST", api+"/tags/Go/follow", ct, nil, &tag)
	if tag["following"] != true || tag["name"] != "go" {
		t.Fatalf("follow tag %v", tag)
	}
	var tagged map[string]any
	call(t, "POST", api+"/statuses", bt, map[string]any{"status": "more #Go"}, &tagged)
	call(t, "GET", api+"/timelines/home", ct, nil, &tl)
	if len(tl) == 0 || tl[0]["id"] != tagged["id"] {
		t.Fatalf("carol's home lacks the followed tag's post: %v", tl)
	}
	var followed []map[string]any
	call(t, "GET", api+"/followed_tags", ct, nil, &followed)
	if len(followed) != 1 || followed[0]["name"] != "go" {
		t.Fatalf("followed tags %v", followed)
	}
	// Deleting the list.
	call(t, "DELETE", api+"/lists/"+lid, at, nil, nil)
	if resp := call(t, "GET", api+"/lists/"+lid, at, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("deleted list: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/lists/"+lid, bt, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("someone else's list: %d", resp.StatusCode)
	}
}

func TestAPI_conversationsAndThreadMutes(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	api := ts.URL + "/api/v1"
	var dm, reply map[string]any
	call(t, "POST", api+"/statuses", at, map[string]any{"status": "@bob psst", "visibility": "direct"}, &dm)
	call(t, "POST", api+"/statuses", bt, map[string]any{"status": "@alice what", "visibility": "direct", "in_reply_to_id": dm["id"]}, &reply)
	var convs []map[string]any
	call(t, "GET", api+"/conversations", at, nil, &convs)
	if len(convs) != 1 || convs[0]["id"] != dm["id"] || convs[0]["unread"] != true {
		t.Fatalf("conversations %v", convs)
	}
	requireFields(t, "Conversation", convs[0], []string{"id", "unread", "accounts", "last_status"})
	if accts, _ := convs[0]["accounts"].([]any); len(accts) != 1 || accts[0].(map[string]any)["id"] != bob.ID.String() {
		t.Fatalf("participants %v", convs[0]["accounts"])
	}
	var read map[string]any
	call(t, "POST", api+"/conversations/"+dm["id"].(string)+"/read", at, nil, &read)
	if read["unread"] != false {
		t.Fatalf("after read %v", read)
	}
	call(t, "DELETE", api+"/conversations/"+dm["id"].(string), at, nil, nil)
	call(t, "GET", api+"/conversations", at, nil, &convs)
	if len(convs) != 0 {
		t.Fatalf("hidden conversation listed: %v", convs)
	}
	// A conversation the viewer is not in is not found.
	carol := ts.createAccount(t, "carol").Account
	ct := apiToken(t, ts.Server, carol, "read", "write")
	if resp := call(t, "POST", api+"/conversations/"+dm["id"].(string)+"/read", ct, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("stranger reading a conversation: %d", resp.StatusCode)
	}
	// alice mutes the thread: bob's next reply notifies her no more.
	var muted map[string]any
	call(t, "POST", api+"/statuses/"+dm["id"].(string)+"/mute", at, nil, &muted)
	if muted["muted"] != true {
		t.Fatalf("mute thread %v", muted)
	}
	call(t, "POST", api+"/statuses", bt, map[string]any{"status": "@alice again", "visibility": "direct", "in_reply_to_id": reply["id"]}, nil)
	var notes []map[string]any
	call(t, "GET", api+"/notifications?types[]=mention", at, nil, &notes)
	if len(notes) != 1 {
		t.Fatalf("mentions after muting the thread: %d, want only the one before", len(notes))
	}
}

func TestAPI_profileFieldsAndPreferences(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	ts.createAccount(t, "alfred")
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	form := url.Values{"display_name": {"Alice A."}, "note": {"Hello <b>there</b>"}, "bot": {"true"},
		"fields_attributes[0][name]": {"Site"}, "fields_attributes[0][value]": {"https://alice.example"},
		"fields_attributes[1][name]": {"Pronouns"}, "fields_attributes[1][value]": {"she/her"},
		"source[privacy]": {"unlisted"}, "source[language]": {"en"}}
	req, _ := http.NewRequestWithContext(t.Context(), "PATCH", ts.URL+"/api/v1/accounts/update_credentials", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me["display_name"] != "Alice A." || me["bot"] != true {
		t.Fatalf("update_credentials: %d %v", resp.StatusCode, me)
	}
	fields, _ := me["fields"].([]any)
	if len(fields) != 2 || !strings.Contains(fields[0].(map[string]any)["value"].(string), `href="https://alice.example"`) {
		t.Fatalf("fields %v", me["fields"])
	}
	if strings.Contains(me["note"].(string), "<b>") {
		t.Fatalf("note not escaped: %v", me["note"])
	}
	src, _ := me["source"].(map[string]any)
	if src["privacy"] != "unlisted" || src["language"] != "en" {
		t.Fatalf("source %v", src)
	}
	// The actor document carries the fields as PropertyValue attachments.
	_, body := get(t, ts.URL+"/users/alice", acceptAP)
	if !strings.Contains(string(body), `"type":"PropertyValue"`) || !strings.Contains(string(body), `"type":"Service"`) {
		t.Fatalf("actor: %s", body)
	}
	// Posting without a visibility uses the default.
	var post map[string]any
	call(t, "POST", ts.URL+"/api/v1/statuses", at, map[string]any{"status": "default privacy"}, &post)
	if post["visibility"] != "unlisted" || post["language"] != "en" {
		t.Fatalf("defaults not applied: %v %v", post["visibility"], post["language"])
	}
	var prefs map[string]any
	call(t, "GET", ts.URL+"/api/v1/preferences", at, nil, &prefs)
	if prefs["posting:default:visibility"] != "unlisted" {
		t.Fatalf("preferences %v", prefs)
	}
	var found []map[string]any
	call(t, "GET", ts.URL+"/api/v1/accounts/search?q=alf", at, nil, &found)
	if len(found) != 1 || found[0]["username"] != "alfred" {
		t.Fatalf("account search %v", found)
	}
	if resp := call(t, "PATCH", ts.URL+"/api/v1/accounts/update_credentials", at, map[string]any{"source": map[string]any{"privacy": "secret"}}, nil); resp.StatusCode != 422 {
		t.Fatalf("bad privacy: %d", resp.StatusCode)
	}
}

func TestAPI_filtersV1(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	api := ts.URL + "/api/v1"
	var f map[string]any
	call(t, "POST", api+"/filters", at, map[string]any{"phrase": "rain", "context": []string{"home", "public"}}, &f)
	requireFields(t, "V1Filter", f, []string{"id", "phrase", "context", "whole_word", "expires_at", "irreversible"})
	id := f["id"].(string)
	call(t, "PUT", api+"/filters/"+id, at, map[string]any{"phrase": "snow", "irreversible": true}, &f)
	if f["phrase"] != "snow" || f["irreversible"] != true {
		t.Fatalf("update: %v", f)
	}
	call(t, "GET", api+"/filters/"+id, at, nil, &f)
	if f["phrase"] != "snow" {
		t.Fatalf("get: %v", f)
	}
	call(t, "DELETE", api+"/filters/"+id, at, nil, nil)
	var all []map[string]any
	call(t, "GET", api+"/filters", at, nil, &all)
	call(t, "GET", ts.URL+"/api/v2/filters", at, nil, &all)
	if len(all) != 0 {
		t.Fatalf("filters left after deleting the only keyword: %v", all)
	}
}

// TestAPI_scopes checks that each endpoint refuses a token lacking its
// scope with 403, and accepts one that has it (any status but 401/403).
func TestAPI_scopes(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	var post map[string]any
	call(t, "POST", ts.URL+"/api/v1/statuses", apiToken(t, ts.Server, bob, "write:statuses"), map[string]any{"status": "hi"}, &post)
	sid, bid := post["id"].(string), bob.ID.String()
	tests := []struct {
		method, path, scope string
	}{
		{"GET", "/api/v1/accounts/verify_credentials", "read:accounts"},
		{"PATCH", "/api/v1/accounts/update_credentials", "write:accounts"},
		{"GET", "/api/v1/accounts/relationships?id[]=" + bid, "read:follows"},
		{"POST", "/api/v1/accounts/" + bid + "/follow", "write:follows"},
		{"POST", "/api/v1/accounts/" + bid + "/block", "write:blocks"},
		{"POST", "/api/v1/accounts/" + bid + "/mute", "write:mutes"},
		{"GET", "/api/v1/blocks", "read:blocks"},
		{"GET", "/api/v1/mutes", "read:mutes"},
		{"GET", "/api/v1/follow_requests", "read:follows"},
		{"POST", "/api/v1/statuses", "write:statuses"},
		{"POST", "/api/v1/statuses/" + sid + "/favourite", "write:favourites"},
		{"POST", "/api/v1/statuses/" + sid + "/bookmark", "write:bookmarks"},
		{"GET", "/api/v1/bookmarks", "read:bookmarks"},
		{"GET", "/api/v1/favourites", "read:favourites"},
		{"GET", "/api/v1/timelines/home", "read:statuses"},
		{"GET", "/api/v1/notifications", "read:notifications"},
		{"POST", "/api/v1/notifications/clear", "write:notifications"},
		{"GET", "/api/v2/filters", "read:filters"},
		{"POST", "/api/v2/filters", "write:filters"},
		{"GET", "/api/v1/lists", "read:lists"},
		{"POST", "/api/v1/lists", "write:lists"},
		{"GET", "/api/v1/markers", "read:statuses"},
		{"GET", "/api/v1/conversations", "read:statuses"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			family, _, _ := strings.Cut(tt.scope, ":")
			other := map[string]string{"read": "write", "write": "read"}[family]
			wrong := apiToken(t, ts.Server, alice, other)
			if resp := call(t, tt.method, ts.URL+tt.path, wrong, map[string]any{}, nil); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("with scope %q: %d, want 403", other, resp.StatusCode)
			}
			right := apiToken(t, ts.Server, alice, tt.scope)
			if resp := call(t, tt.method, ts.URL+tt.path, right, map[string]any{}, nil); resp.StatusCode == 401 || resp.StatusCode == 403 {
				t.Fatalf("with scope %q: %d", tt.scope, resp.StatusCode)
			}
			broad := apiToken(t, ts.Server, alice, family)
			if resp := call(t, tt.method, ts.URL+tt.path, broad, map[string]any{}, nil); resp.StatusCode == 401 || resp.StatusCode == 403 {
				t.Fatalf("with scope %q: %d", family, resp.StatusCode)
			}
		})
	}
}

func TestAPI_notificationAndInstanceFields(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	call(t, "POST", ts.URL+"/api/v1/accounts/"+alice.ID.String()+"/follow", bt, nil, nil)
	var notes []map[string]any
	call(t, "GET", ts.URL+"/api/v1/notifications", at, nil, &notes)
	if len(notes) != 1 {
		t.Fatalf("notifications %v", notes)
	}
	requireFields(t, "Notification", notes[0], []string{"id", "type", "created_at", "account"})
	var v1, v2 map[string]any
	call(t, "GET", ts.URL+"/api/v1/instance", "", nil, &v1)
	requireFields(t, "Instance v1", v1, []string{"uri", "title", "short_description", "description", "email", "version",
		"urls", "stats", "thumbnail", "languages", "registrations", "approval_required", "invites_enabled", "configuration", "contact_account", "rules"})
	call(t, "GET", ts.URL+"/api/v2/instance", "", nil, &v2)
	requireFields(t, "Instance v2", v2, []string{"domain", "title", "version", "source_url", "description", "usage", "thumbnail",
		"languages", "configuration", "registrations", "contact", "rules"})
}

func TestAPI_followRequestsListsAndIdempotency(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	carol := ts.createAccount(t, "carol").Account
	at := apiToken(t, ts.Server, alice, "read", "write", "follow")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	ct := apiToken(t, ts.Server, carol, "read", "write", "follow")
	api := ts.URL + "/api/v1"
	call(t, "PATCH", api+"/accounts/update_credentials", at, map[string]any{"locked": true}, nil)
	var rel map[string]any
	call(t, "POST", api+"/accounts/"+alice.ID.String()+"/follow", bt, nil, &rel)
	if rel["requested"] != true || rel["following"] != false {
		t.Fatalf("follow of a locked account: %v", rel)
	}
	call(t, "POST", api+"/accounts/"+alice.ID.String()+"/follow", ct, nil, nil)
	var reqs []map[string]any
	call(t, "GET", api+"/follow_requests", at, nil, &reqs)
	if len(reqs) != 2 {
		t.Fatalf("follow requests %v", reqs)
	}
	call(t, "POST", api+"/follow_requests/"+bob.ID.String()+"/authorize", at, nil, &rel)
	if rel["followed_by"] != true {
		t.Fatalf("authorize: %v", rel)
	}
	call(t, "POST", api+"/follow_requests/"+carol.ID.String()+"/reject", at, nil, &rel)
	if rel["followed_by"] != false || rel["requested_by"] != false {
		t.Fatalf("reject: %v", rel)
	}
	var followers, following []map[string]any
	resp := call(t, "GET", api+"/accounts/"+alice.ID.String()+"/followers", at, nil, &followers)
	if len(followers) != 1 || followers[0]["id"] != bob.ID.String() || !strings.Contains(resp.Header.Get("Link"), "max_id=") {
		t.Fatalf("followers %v, Link %q", followers, resp.Header.Get("Link"))
	}
	call(t, "GET", api+"/accounts/"+bob.ID.String()+"/following", at, nil, &following)
	if len(following) != 1 || following[0]["id"] != alice.ID.String() {
		t.Fatalf("following %v", following)
	}
	var found map[string]any
	call(t, "GET", api+"/accounts/lookup?acct=bob", "", nil, &found)
	if found["id"] != bob.ID.String() {
		t.Fatalf("lookup %v", found)
	}
	if resp := call(t, "GET", api+"/accounts/lookup?acct=nobody", "", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("lookup of nobody: %d", resp.StatusCode)
	}
	var rels []map[string]any
	call(t, "GET", api+"/accounts/relationships?id[]="+alice.ID.String()+"&id[]="+carol.ID.String()+"&id[]=nonsense", bt, nil, &rels)
	if len(rels) != 2 || rels[0]["following"] != true || rels[1]["following"] != false {
		t.Fatalf("relationships %v", rels)
	}
	// Idempotency-Key: the same key posts once.
	post := func() string {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", api+"/statuses", strings.NewReader(`{"status":"once #only"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bt)
		req.Header.Set("Idempotency-Key", "abc-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s map[string]any
		json.NewDecoder(resp.Body).Decode(&s)
		return s["id"].(string)
	}
	if first, second := post(), post(); first != second {
		t.Fatalf("same Idempotency-Key posted twice: %s, %s", first, second)
	}
	var tagged []map[string]any
	call(t, "GET", api+"/timelines/tag/only", "", nil, &tagged)
	if len(tagged) != 1 {
		t.Fatalf("tag timeline %v", tagged)
	}
	call(t, "GET", api+"/timelines/public?local=true", "", nil, &tagged)
	if len(tagged) != 1 {
		t.Fatalf("local public timeline %v", tagged)
	}
	call(t, "GET", api+"/timelines/public?remote=true", "", nil, &tagged)
	if len(tagged) != 0 {
		t.Fatalf("remote public timeline %v", tagged)
	}
	// Notifications can be dismissed one by one.
	var notes []map[string]any
	call(t, "GET", api+"/notifications", at, nil, &notes)
	if len(notes) == 0 {
		t.Fatal("no notifications for alice")
	}
	call(t, "POST", api+"/notifications/"+notes[0]["id"].(string)+"/dismiss", at, nil, nil)
	if resp := call(t, "GET", api+"/notifications/"+notes[0]["id"].(string), at, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("dismissed notification: %d", resp.StatusCode)
	}
	call(t, "POST", api+"/notifications/clear", at, nil, nil)
	call(t, "GET", api+"/notifications", at, nil, &notes)
	if len(notes) != 0 {
		t.Fatalf("after clear: %v", notes)
	}
}

// TestAPI_minIDPaging: min_id gives the page just above it (newest first),
// however many newer entries exist, on timelines and notifications.
func TestAPI_minIDPaging(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	bob := ts.createAccount(t, "bob").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	bt := apiToken(t, ts.Server, bob, "read", "write", "follow")
	var ids []string
	for i := range 30 {
		var s map[string]any
		call(t, "POST", ts.URL+"/api/v1/statuses", at, map[string]any{"status": fmt.Sprintf("post %d", i)}, &s)
		ids = append(ids, s["id"].(string))
		call(t, "POST", ts.URL+"/api/v1/statuses/"+s["id"].(string)+"/favourite", bt, nil, nil)
	}
	var pg []map[string]any
	call(t, "GET", ts.URL+"/api/v1/timelines/home?limit=3&min_id="+ids[4], at, nil, &pg)
	if len(pg) != 3 || pg[0]["id"] != ids[7] || pg[2]["id"] != ids[5] {
		t.Fatalf("home min_id page: %v", idsOf(pg))
	}
	call(t, "GET", ts.URL+"/api/v1/timelines/home?limit=2&min_id=0", at, nil, &pg)
	if len(pg) != 2 || pg[1]["id"] != ids[0] {
		t.Fatalf("min_id=0: %v", idsOf(pg))
	}
	var notes []map[string]any
	call(t, "GET", ts.URL+"/api/v1/notifications?limit=40", at, nil, &notes)
	oldest := notes[len(notes)-1]["id"].(string)
	call(t, "GET", ts.URL+"/api/v1/notifications?limit=2&min_id="+oldest, at, nil, &notes)
	if len(notes) != 2 || notes[1]["status"].(map[string]any)["id"] != ids[1] {
		t.Fatalf("notifications min_id page: %v", notes)
	}
}

func idsOf(list []map[string]any) []any {
	var out []any
	for _, m := range list {
		out = append(out, m["id"])
	}
	return out
}

func TestAPI_reviewRegressions(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.createAccount(t, "alice").Account
	at := apiToken(t, ts.Server, alice, "read", "write")
	// Unknown API paths are 404, not 405; preflights still work.
	if resp := call(t, "GET", ts.URL+"/api/v1/no_such_endpoint", at, nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown API path: %d, want 404", resp.StatusCode)
	}
	// Concurrent posts with one Idempotency-Key make one status.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", ts.URL+"/api/v1/statuses", strings.NewReader(`{"status":"only once"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+at)
			req.Header.Set("Idempotency-Key", "same")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var s map[string]any
			json.NewDecoder(resp.Body).Decode(&s)
			ids[i], _ = s["id"].(string)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent idempotent posts made different statuses: %v", ids)
		}
	}
	// Filter keywords change and go by id.
	var f map[string]any
	call(t, "POST", ts.URL+"/api/v2/filters", at, map[string]any{"title": "pets", "context": []string{"home"},
		"keywords_attributes": []map[string]any{{"keyword": "cat"}, {"keyword": "dog"}}}, &f)
	kws, _ := f["keywords"].([]any)
	if len(kws) != 2 {
		t.Fatalf("keywords %v", f["keywords"])
	}
	cat := kws[0].(map[string]any)["id"].(string)
	dog := kws[1].(map[string]any)["id"].(string)
	call(t, "PUT", ts.URL+"/api/v2/filters/"+f["id"].(string), at, map[string]any{
		"keywords_attributes": []map[string]any{{"id": cat, "keyword": "kitten"}, {"id": dog, "_destroy": true}}}, &f)
	kws, _ = f["keywords"].([]any)
	if len(kws) != 1 || kws[0].(map[string]any)["keyword"] != "kitten" {
		t.Fatalf("keywords after edit %v", f["keywords"])
	}
	// Instance v1 names a contact account.
	var v1 map[string]any
	call(t, "GET", ts.URL+"/api/v1/instance", "", nil, &v1)
	if c, _ := v1["contact_account"].(map[string]any); c["header"] == nil {
		t.Fatalf("contact_account %v", v1["contact_account"])
	}
}
