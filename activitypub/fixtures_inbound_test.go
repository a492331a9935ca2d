package activitypub

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// fixtureRig is an instance with a local account and a public status, for
// applying peers' activities as their verified signer.
type fixtureRig struct {
	t      *testing.T
	in     *Instance
	alice  *storage.Account
	status *storage.Status
}

func newFixtureRig(t *testing.T) *fixtureRig {
	t.Helper()
	in := newTestInstance(t)
	la, err := in.CreateAccount(t.Context(), NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.PostStatus(t.Context(), la.Account, Draft{Text: "local post"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixtureRig{t: t, in: in, alice: la.Account, status: st}
}

// load reads a fixture, replacing each old string with its new one.
func (r *fixtureRig) load(file string, replace ...string) map[string]any {
	r.t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "peers", file))
	if err != nil {
		r.t.Fatal(err)
	}
	text := strings.NewReplacer(replace...).Replace(string(raw))
	var doc map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		r.t.Fatal(err)
	}
	return doc
}

// signer stores the fixture's actor as a known remote account.
func (r *fixtureRig) signer(doc map[string]any) *storage.Account {
	r.t.Helper()
	uri := stringProp(doc, "actor")
	var a *storage.Account
	_ = r.in.store.View(func(tx *storage.Tx) error { a, _ = tx.AccountByURI(uri); return nil })
	if a != nil {
		return a
	}
	u, _ := url.Parse(uri)
	a = &storage.Account{ID: r.in.store.NewID(), URI: uri, Username: strings.TrimPrefix(u.Path[strings.LastIndex(u.Path, "/"):], "/"),
		Domain: u.Host, ActorType: "Person", InboxURI: uri + "/inbox", FollowersURI: uri + "/followers",
		CreatedAt: time.Now(), FetchedAt: time.Now()}
	if err := r.in.store.Update(r.t.Context(), func(tx *storage.Tx) error { return tx.CreateAccount(a) }); err != nil {
		r.t.Fatal(err)
	}
	return a
}

func (r *fixtureRig) apply(doc map[string]any) error {
	st := &inboxRequest{raw: doc, signer: r.signer(doc)}
	return r.in.applyInbound(r.t.Context(), st, stringProp(doc, "type"))
}

func (r *fixtureRig) view(fn func(tx *storage.Tx) error) {
	r.t.Helper()
	if err := r.in.store.View(fn); err != nil {
		r.t.Fatal(err)
	}
}

// TestPeerFixtures_inbound applies Follow, Undo, Like, Announce, Delete
// and Update activities as Mastodon, GoToSocial, Akkoma and Misskey send
// them, pointed at this instance's objects, and checks the stored state.
func TestPeerFixtures_inbound(t *testing.T) {
	t.Run("follows", func(t *testing.T) {
		for _, tt := range []struct{ file, target string }{
			{"mastodon/follow.json", "http://localtesting.pleroma.lol/users/lain"},
			{"akkoma/follow.json", "https://lemmy.ca/u/kinetix"},
		} {
			r := newFixtureRig(t)
			doc := r.load(tt.file, tt.target, r.alice.URI)
			if err := r.apply(doc); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			r.view(func(tx *storage.Tx) error {
				f, err := tx.FollowByURI(stringProp(doc, "id"))
				if err != nil || f.Pending || f.FollowedID != r.alice.ID {
					t.Errorf("%s: follow %+v, %v", tt.file, f, err)
				}
				return nil
			})
		}
	})
	t.Run("undo follows", func(t *testing.T) {
		for _, tt := range []struct{ file, target string }{
			{"mastodon/undo-follow.json", "http://localtesting.pleroma.lol/users/lain"},
			{"misskey/undo-follow.json", ""},
		} {
			r := newFixtureRig(t)
			undo := r.load(tt.file)
			embedded, _ := undo["object"].(map[string]any)
			if tt.target == "" {
				tt.target = stringProp(embedded, "object")
			}
			undo = r.load(tt.file, tt.target, r.alice.URI)
			embedded, _ = undo["object"].(map[string]any)
			follow := map[string]any{"id": embedded["id"], "type": "Follow", "actor": undo["actor"], "object": r.alice.URI}
			if err := r.apply(follow); err != nil {
				t.Fatal(err)
			}
			if err := r.apply(undo); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			r.view(func(tx *storage.Tx) error {
				if _, err := tx.FollowByURI(stringProp(embedded, "id")); err == nil {
					t.Errorf("%s: follow still there", tt.file)
				}
				return nil
			})
		}
	})
	t.Run("likes and announces", func(t *testing.T) {
		for _, tt := range []struct {
			file, object string
			like         bool
		}{
			{"mastodon/like.json", "http://localtesting.pleroma.lol/objects/eb92579d-3417-42a8-8652-2492c2d4f454", true},
			{"gotosocial/like.json", "https://activitypub.academy/users/difricus_koloddath/statuses/115833494550206707", true},
			{"mastodon/announce.json", "http://mastodon.example.org/@admin/99541947525187367", false},
			{"gotosocial/announce.json", "http://localhost:8080/users/the_mighty_zork/statuses/01FCTA44PW9H1TB328S9AQXKDS", false},
		} {
			r := newFixtureRig(t)
			doc := r.load(tt.file, `"`+tt.object+`"`, `"`+r.status.URI+`"`)
			if err := r.apply(doc); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			r.view(func(tx *storage.Tx) error {
				s, err := tx.Status(r.status.ID)
				if err != nil {
					return err
				}
				if tt.like && s.FavouritesCount != 1 || !tt.like && s.ReblogsCount != 1 {
					t.Errorf("%s: favourites %d, reblogs %d", tt.file, s.FavouritesCount, s.ReblogsCount)
				}
				return nil
			})
		}
	})
	t.Run("deletes", func(t *testing.T) {
		for _, file := range []string{"mastodon/delete-note.json", "gotosocial/delete-note.json", "misskey/delete-note.json"} {
			r := newFixtureRig(t)
			doc := r.load(file)
			signer := r.signer(doc)
			uri := stringOf(doc["object"])
			remote := &storage.Status{ID: r.in.store.NewID(), URI: uri, AccountID: signer.ID, Visibility: storage.VisibilityPublic,
				HomeOf: []storage.ID{r.alice.ID}, CreatedAt: time.Now()}
			if err := r.in.store.Update(t.Context(), func(tx *storage.Tx) error { return tx.CreateStatus(remote) }); err != nil {
				t.Fatal(err)
			}
			if err := r.apply(doc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			r.view(func(tx *storage.Tx) error {
				if _, err := tx.StatusByURI(uri); err == nil {
					t.Errorf("%s: status still there", file)
				}
				home, err := tx.HomeTimeline(r.alice.ID, storage.Page{})
				for _, s := range home {
					if s.URI == uri {
						t.Errorf("%s: still in the home timeline", file)
					}
				}
				return err
			})
		}
	})
	t.Run("note update", func(t *testing.T) {
		r := newFixtureRig(t)
		doc := r.load("mastodon/update-note.json")
		signer := r.signer(doc)
		object, _ := doc["object"].(map[string]any)
		remote := &storage.Status{ID: r.in.store.NewID(), URI: stringProp(object, "id"), AccountID: signer.ID,
			Content: "<p>before</p>", Visibility: storage.VisibilityPublic, CreatedAt: time.Now()}
		if err := r.in.store.Update(t.Context(), func(tx *storage.Tx) error { return tx.CreateStatus(remote) }); err != nil {
			t.Fatal(err)
		}
		if err := r.apply(doc); err != nil {
			t.Fatal(err)
		}
		r.view(func(tx *storage.Tx) error {
			s, err := tx.StatusByURI(remote.URI)
			if err != nil {
				return err
			}
			if s.Content == "<p>before</p>" || len(s.Edits) != 1 || s.Edits[0].Content != "<p>before</p>" || s.EditedAt.IsZero() {
				t.Errorf("after the update: content %q, edits %+v, edited %v", s.Content, s.Edits, s.EditedAt)
			}
			return nil
		})
	})
}

// TestInbound_refusesOthersObjects: an actor may not undo, delete, edit or
// answer what belongs to someone else; each is refused and changes nothing.
func TestInbound_refusesOthersObjects(t *testing.T) {
	r := newFixtureRig(t)
	ctx := t.Context()
	mallory := r.signer(map[string]any{"actor": "https://evil.test/users/mallory"})
	bob := r.signer(map[string]any{"actor": "https://b.test/users/bob"})
	bobsNote := &storage.Status{ID: r.in.store.NewID(), URI: "https://b.test/notes/1", AccountID: bob.ID, Content: "<p>bob's</p>",
		Visibility: storage.VisibilityPublic, CreatedAt: time.Now()}
	if err := r.in.store.Update(ctx, func(tx *storage.Tx) error {
		if err := tx.CreateStatus(bobsNote); err != nil {
			return err
		}
		// bob follows alice; alice asked to follow bob.
		if err := tx.PutFollow(&storage.Follow{FollowerID: bob.ID, FollowedID: r.alice.ID, URI: "https://b.test/follows/1", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.PutFollow(&storage.Follow{FollowerID: r.alice.ID, FollowedID: bob.ID, URI: "https://a.test/activities/9", Pending: true, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	tests := []map[string]any{
		{"id": "https://evil.test/1", "type": "Delete", "actor": mallory.URI, "object": bobsNote.URI},
		{"id": "https://evil.test/2", "type": "Update", "actor": mallory.URI, "object": map[string]any{
			"id": bobsNote.URI, "type": "Note", "attributedTo": bob.URI, "content": "<p>forged</p>"}},
		{"id": "https://evil.test/3", "type": "Undo", "actor": mallory.URI, "object": map[string]any{
			"id": "https://b.test/follows/1", "type": "Follow", "actor": bob.URI, "object": r.alice.URI}},
		{"id": "https://evil.test/4", "type": "Undo", "actor": mallory.URI, "object": "https://b.test/follows/1"},
		{"id": "https://evil.test/5", "type": "Accept", "actor": mallory.URI, "object": "https://a.test/activities/9"},
		{"id": "https://evil.test/6", "type": "Create", "actor": mallory.URI, "object": map[string]any{
			"id": "https://evil.test/n/1", "type": "Note", "attributedTo": bob.URI, "content": "<p>in bob's name</p>"}},
	}
	for _, doc := range tests {
		t.Run(stringProp(doc, "type")+" "+stringProp(doc, "id"), func(t *testing.T) {
			err := r.apply(doc)
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
	r.view(func(tx *storage.Tx) error {
		s, err := tx.StatusByURI(bobsNote.URI)
		if err != nil || s.Content != "<p>bob's</p>" {
			t.Errorf("bob's note changed: %+v, %v", s, err)
		}
		if f, err := tx.Follow(bob.ID, r.alice.ID); err != nil || f.Pending {
			t.Errorf("bob's follow changed: %+v, %v", f, err)
		}
		if f, err := tx.Follow(r.alice.ID, bob.ID); err != nil || !f.Pending {
			t.Errorf("alice's request changed: %+v, %v", f, err)
		}
		if _, err := tx.StatusByURI("https://evil.test/n/1"); err == nil {
			t.Error("a note in someone else's name was stored")
		}
		return nil
	})
}

// TestPeerFixtures_flags stores Flags as GoToSocial and Mastodon send them
// (from their instance actors) as reports about our account and status.
func TestPeerFixtures_flags(t *testing.T) {
	for _, tt := range []struct {
		file             string
		account, status1 string
		status2          string
		comment          string
	}{
		{"gotosocial/flag.json", "http://fossbros-anonymous.io/users/foss_satan",
			"http://fossbros-anonymous.io/users/foss_satan/statuses/01FVW7JHQFSFK166WWKR8CBA6M", "", "dark souls sucks"},
		{"mastodon/flag-docs.json", "https://example.com/users/1", "https://example.com/posts/380590", "https://example.com/posts/380591", "Please take a look"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			r := newFixtureRig(t)
			replace := []string{`"` + tt.account + `"`, `"` + r.alice.URI + `"`, `"` + tt.status1 + `"`, `"` + r.status.URI + `"`}
			if tt.status2 != "" {
				replace = append(replace, `"`+tt.status2+`"`, `"https://elsewhere.test/not-ours"`)
			}
			doc := r.load(tt.file, replace...)
			for range 2 { // the same Flag twice makes one report
				if err := r.apply(doc); err != nil {
					t.Fatal(err)
				}
			}
			r.view(func(tx *storage.Tx) error {
				reports, err := tx.Reports(10)
				if err != nil {
					return err
				}
				if len(reports) != 1 {
					t.Fatalf("%d reports, want 1", len(reports))
				}
				rep := reports[0]
				if len(rep.TargetIDs) != 1 || rep.TargetIDs[0] != r.alice.ID || len(rep.StatusIDs) != 1 ||
					rep.StatusIDs[0] != r.status.ID || !strings.Contains(rep.Comment, tt.comment) {
					t.Errorf("report %+v", rep)
				}
				return nil
			})
			shown, err := r.in.Reports(10)
			if err != nil || len(shown) != 1 || len(shown[0].Targets) != 1 || shown[0].Targets[0] != "alice" ||
				len(shown[0].Statuses) != 1 || shown[0].Statuses[0] != r.status.URL {
				t.Errorf("reports for admins: %+v, %v", shown, err)
			}
		})
	}
}
