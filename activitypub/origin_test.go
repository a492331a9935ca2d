package activitypub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// TestParseActor_refusesHostileFields: a key id under another actor (which
// would squat that actor's key), non-http ids, and javascript: links.
func TestParseActor_refusesHostileFields(t *testing.T) {
	key := testKeys0(t)
	base := func() map[string]any {
		var doc map[string]any
		if err := json.Unmarshal([]byte(mastodonActor("b.test", "mallory", key)), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	squat := base()
	squat["publicKey"] = map[string]any{"id": "http://b.test/users/alice#main-key", "owner": "http://b.test/users/mallory", "publicKeyPem": key}
	if _, err := parseActor(squat, "b.test"); err == nil {
		t.Error("accepted a key id under another actor")
	}
	prefix := base() // /users/mallory2 is not under /users/mallory
	prefix["publicKey"] = map[string]any{"id": "http://b.test/users/mallory2#main-key", "owner": "http://b.test/users/mallory", "publicKeyPem": key}
	if _, err := parseActor(prefix, "b.test"); err == nil {
		t.Error("accepted a key id that only shares a prefix with the actor id")
	}
	scheme := base()
	scheme["id"] = "javascript://b.test/users/mallory"
	if _, err := parseActor(scheme, "b.test"); err == nil {
		t.Error("accepted a javascript: actor id")
	}
	links := base()
	links["url"] = "javascript:alert(document.cookie)"
	links["icon"] = map[string]any{"type": "Image", "url": "javascript:alert(1)"}
	a, err := parseActor(links, "b.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.URL != "" || a.AvatarURL != "" {
		t.Errorf("kept script links: url %q, avatar %q", a.URL, a.AvatarURL)
	}
}

// TestParseRemoteStatus_clampsDates keeps IDs of remote statuses in time
// order: dates before 2000 or in the future are taken as now.
func TestParseRemoteStatus_clampsDates(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	in, err := New(t.Context(), newTestStore(t), Options{Domain: "a.test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	author := &storage.Account{ID: 1, URI: "https://b.test/users/bob"}
	for published, want := range map[string]time.Time{
		"0001-01-01T00:00:00Z": now,
		"1969-12-31T23:59:59Z": now,
		"2999-01-01T00:00:00Z": now,
		"not a date":           now,
		"2024-05-01T10:00:00Z": time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	} {
		object := map[string]any{"id": "https://b.test/n/1", "type": "Note", "published": published, "content": "x",
			"url": "javascript:alert(1)", "attachment": []any{map[string]any{"type": "Document", "url": "data:text/html,<script>"}}}
		s, err := in.parseRemoteStatus(object, author)
		if err != nil {
			t.Fatal(err)
		}
		if !s.CreatedAt.Equal(want) || !s.ID.Time().Equal(want) {
			t.Errorf("published %q: created %v, id time %v; want %v", published, s.CreatedAt, s.ID.Time(), want)
		}
		if attachments := parseAttachments(object, author.ID, s.CreatedAt); strings.HasPrefix(s.URL, "javascript") || len(attachments) != 0 {
			t.Errorf("kept a script link: url %q, attachments %+v", s.URL, attachments)
		}
	}
	if id := storage.IDAt(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); id.Time().After(time.Unix(0, 0).Add(time.Second)) {
		t.Errorf("IDAt of year 1 wrapped around to %v", id.Time())
	}
}
