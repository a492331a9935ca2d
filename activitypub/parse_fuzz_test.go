package activitypub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/rhizome-fed/rhizome/storage"
)

// FuzzParseActivity feeds arbitrary JSON to the parsers of remote actors
// and notes (seeded with the peer fixtures). Whatever comes in, they must
// not panic, and stored HTML must hold only the elements the sanitiser
// allows.
func FuzzParseActivity(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "peers", "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	in := newTestInstance(f)
	author := &storage.Account{ID: 1, URI: "https://b.test/users/bob", FollowersURI: "https://b.test/users/bob/followers", Domain: "b.test"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		if a, err := parseActor(doc, "b.test"); err == nil {
			assertSafeHTML(t, a.Note)
		}
		object := doc
		if o, ok := doc["object"].(map[string]any); ok {
			object = o
		}
		s, err := in.parseRemoteStatus(object, author)
		if err != nil {
			return
		}
		assertSafeHTML(t, s.Content)
		switch s.Visibility {
		case storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate, storage.VisibilityDirect:
		default:
			t.Fatalf("visibility %q", s.Visibility)
		}
	})
}

func assertSafeHTML(t *testing.T, out string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(out))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		if tok := z.Token(); !isAllowedBare(tok.Data) {
			t.Fatalf("stored HTML keeps <%s>: %q", tok.Data, out)
		}
	}
}

// isAllowedBare reports whether the sanitiser keeps the element at all.
func isAllowedBare(tag string) bool {
	_, ok := allowedAfterSanitizing[tag]
	return ok
}
