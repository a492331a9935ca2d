package activitypub

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
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
