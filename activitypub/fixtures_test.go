package activitypub

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhizome-fed/rhizome/storage"
)

// TestPeerFixtures_actors parses actor documents as Mastodon, GoToSocial,
// Akkoma and Misskey publish them (testdata/peers, sources in its README)
// into account records.
func TestPeerFixtures_actors(t *testing.T) {
	tests := []struct {
		file, id, username, inbox, sharedInbox, keyID string
		locked                                        bool
	}{
		{"akkoma/actor.json", "https://p.helene.moe/users/helene", "helene", "https://p.helene.moe/users/helene/inbox", "https://p.helene.moe/inbox", "https://p.helene.moe/users/helene#main-key", false},
		{"gotosocial/actor-bot-application.json", "http://localhost:8080/users/the_mighty_zork", "the_mighty_zork", "http://localhost:8080/users/the_mighty_zork/inbox", "", "http://localhost:8080/users/the_mighty_zork/main-key", false},
		{"gotosocial/actor-emoji-tag-single-object.json", "http://localhost:8080/users/the_mighty_zork", "the_mighty_zork", "http://localhost:8080/users/the_mighty_zork/inbox", "", "http://localhost:8080/users/the_mighty_zork/main-key", false},
		{"gotosocial/actor-moved.json", "http://localhost:8080/users/the_mighty_zork", "the_mighty_zork", "http://localhost:8080/users/the_mighty_zork/inbox", "", "http://localhost:8080/users/the_mighty_zork/main-key", false},
		{"gotosocial/actor-with-fields.json", "http://localhost:8080/users/1happyturtle", "1happyturtle", "http://localhost:8080/users/1happyturtle/inbox", "", "http://localhost:8080/users/1happyturtle#main-key", true},
		{"gotosocial/actor.json", "http://localhost:8080/users/the_mighty_zork", "the_mighty_zork", "http://localhost:8080/users/the_mighty_zork/inbox", "", "http://localhost:8080/users/the_mighty_zork/main-key", false},
		{"mastodon/actor-type-array.json", "https://ap.example.com/users/foo", "foo", "https://ap.example.com/users/foo/inbox", "https://ap.example.com/inbox", "https://ap.example.com/users/foo#main-key", false},
		{"mastodon/actor.json", "https://ap.example.com/users/foo", "foo", "https://ap.example.com/users/foo/inbox", "https://ap.example.com/inbox", "https://ap.example.com/users/foo#main-key", false},
		{"misskey/actor-misskey-io.json", "https://misskey.io/users/83ssedkv53", "aimu", "https://misskey.io/users/83ssedkv53/inbox", "https://misskey.io/inbox", "https://misskey.io/users/83ssedkv53#main-key", false},
		{"misskey/actor.json", "https://mk.absturztau.be/users/8ozbzjs3o8", "mametsuko", "https://mk.absturztau.be/users/8ozbzjs3o8/inbox", "https://mk.absturztau.be/inbox", "https://mk.absturztau.be/users/8ozbzjs3o8#main-key", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "peers", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(tt.id)
			a, err := parseActor(doc, u.Host)
			if err != nil {
				t.Fatal(err)
			}
			got := [...]string{a.URI, a.Username, a.Domain, a.InboxURI, a.SharedInboxURI, a.PublicKeyID}
			want := [...]string{tt.id, tt.username, u.Host, tt.inbox, tt.sharedInbox, tt.keyID}
			if got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if a.Locked != tt.locked {
				t.Errorf("locked = %v", a.Locked)
			}
			if _, err := parsePublicKeyPEM(a.PublicKeyPEM); err != nil {
				t.Errorf("public key: %v", err)
			}
			// The document came from its own host only: from any other it is refused.
			if _, err := parseActor(doc, "elsewhere.test"); err == nil {
				t.Error("accepted from another host")
			}
		})
	}
}

// TestPeerFixtures_notes parses Create{Note} documents as the four peers
// publish them into status records: content (from contentMap when content
// is missing), content warning, sensitivity, visibility from addressing,
// reply target, hashtags and attachments.
func TestPeerFixtures_notes(t *testing.T) {
	tests := []struct {
		file        string
		contentHas  string
		summary     string
		sensitive   bool
		visibility  string
		inReplyTo   string
		tags        []string
		attachments int
		language    string
	}{
		{"mastodon/create-note.json", "</a></span>", "cw", true, "public", "", nil, 0, ""},
		{"mastodon/create-note-hashtag.json", "</a></span>", "cw", true, "public", "", []string{"moo"}, 0, ""},
		{"mastodon/create-note-contentmap-only.json", "<p>", "cw", true, "public", "", nil, 0, "en"},
		{"mastodon/create-note-reply.json", "retiolus", "", false, "unlisted", "https://mamot.fr/users/retiolus/statuses/107224244380204526", nil, 0, "en"},
		{"mastodon/create-question.json", "<li>", "", false, "public", "", nil, 0, "en"},
		{"gotosocial/create-note.json", "hello everyone!", "introduction post", true, "public", "", nil, 0, "en"},
		{"gotosocial/note-emoji-hashtag-attachment.json", "hello world!", "", false, "public", "", []string{"welcome"}, 1, "en"},
		{"akkoma/create-note.json", "mention", "", false, "public", "https://mk.absturztau.be/notes/93e7nm8wqg", nil, 0, ""},
		{"akkoma/note-unlisted.json", "mention", "", false, "unlisted", "https://enterprise.lemmy.ml/post/55143", nil, 0, ""},
		{"misskey/create-note.json", "meow", "", false, "public", "", nil, 0, ""},
	}
	in := newTestInstance(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "peers", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			object := doc
			if o, ok := doc["object"].(map[string]any); ok {
				object = o
			}
			attributed := stringProp(object, "attributedTo")
			author := &storage.Account{ID: 1, URI: attributed, FollowersURI: attributed + "/followers"}
			s, err := in.parseRemoteStatus(object, author)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s.Content, tt.contentHas) || strings.Contains(s.Content, "<script") {
				t.Errorf("content %q lacks %q", s.Content, tt.contentHas)
			}
			got := fmt.Sprint(s.URI, s.Summary, s.Sensitive, s.Visibility, s.InReplyToURI, s.Tags, len(parseAttachments(object, author.ID, s.CreatedAt)), s.Language)
			want := fmt.Sprint(stringProp(object, "id"), tt.summary, tt.sensitive, tt.visibility, tt.inReplyTo, tt.tags, tt.attachments, tt.language)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if s.CreatedAt.IsZero() || s.ID == 0 {
				t.Errorf("no id or time: %+v", s)
			}
		})
	}
}
