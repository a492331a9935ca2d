package activitypub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"github.com/rhizome-fed/rhizome/storage"
)

// queuedBodies returns the bodies waiting in the delivery queue, by inbox.
func queuedBodies(t *testing.T, in *Instance) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	if err := in.store.View(func(tx *storage.Tx) error {
		due, _, err := tx.DueDeliveries(time.Now().Add(time.Hour), 1000)
		if err != nil {
			return err
		}
		for _, d := range due {
			b, err := tx.DeliveryBody(d.BodyID)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			out[d.Inbox+" "+stringProp(m, "type")] = m
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOutgoing_mastodonShapes checks what we send against the shapes in
// Mastodon's documentation (docs.joinmastodon.org/spec/activitypub):
// to and cc are always arrays, content comes with contentMap when the
// language is known, sensitive is a boolean, summary carries the content
// warning, tag holds Mention and Hashtag objects, attachment is an array.
// go-fed must read each document as the right type.
func TestOutgoing_mastodonShapes(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	peer.serve("/users/bob", apJSON, mastodonActor("b.test", "bob", testKeys0(t)))
	peer.serve("/.well-known/webfinger?resource=acct%3Abob%40b.test", "application/jrd+json",
		`{"subject":"acct:bob@b.test","links":[{"rel":"self","type":"application/activity+json","href":"http://b.test/users/bob"}]}`)
	in := newFederatingInstance(t, peer)
	ctx := t.Context()
	la, err := in.CreateAccount(ctx, NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	alice := la.Account
	bob, err := in.ResolveAccount(ctx, "bob@b.test")
	if err != nil {
		t.Fatal(err)
	}
	// Follow: a plain activity to bob's personal inbox.
	if _, err := in.Follow(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	// A post mentioning bob, with a content warning, language and tag.
	st, err := in.PostStatus(ctx, alice, Draft{Text: "Hi @bob@b.test, see #Rhizome", SpoilerText: "greetings", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	bodies := queuedBodies(t, in)

	follow := bodies["http://b.test/users/bob/inbox Follow"]
	if follow == nil {
		t.Fatalf("no Follow queued for bob's inbox; queued: %v", keys(bodies))
	}
	for field, want := range map[string]string{"actor": alice.URI, "object": bob.URI, "@context": "https://www.w3.org/ns/activitystreams"} {
		if follow[field] != want {
			t.Errorf("Follow.%s = %v, want %s", field, follow[field], want)
		}
	}
	if id, _ := follow["id"].(string); !strings.HasPrefix(id, "http://a.test/") {
		t.Errorf("Follow.id = %v", follow["id"])
	}

	create := bodies["http://b.test/inbox Create"] // shared inbox for a post
	if create == nil {
		t.Fatalf("no Create queued for b's shared inbox; queued: %v", keys(bodies))
	}
	note, _ := create["object"].(map[string]any)
	if note == nil {
		t.Fatal("Create has no embedded object")
	}
	arrays := map[string]map[string]any{"Create": create, "Note": note}
	for name, doc := range arrays {
		for _, field := range []string{"to", "cc"} {
			if _, ok := doc[field].([]any); !ok {
				t.Errorf("%s.%s = %#v, want an array", name, field, doc[field])
			}
		}
	}
	if to, _ := note["to"].([]any); len(to) != 1 || to[0] != "https://www.w3.org/ns/activitystreams#Public" {
		t.Errorf("public Note.to = %v", note["to"])
	}
	if cc, _ := note["cc"].([]any); len(cc) != 2 || cc[0] != alice.FollowersURI || cc[1] != bob.URI {
		t.Errorf("Note.cc = %v, want followers then the mention", note["cc"])
	}
	checks := map[string]any{
		"id": st.URI, "type": "Note", "attributedTo": alice.URI, "summary": "greetings",
		"sensitive": true, "url": "http://a.test/@alice/" + st.ID.String(), "inReplyTo": nil,
	}
	for field, want := range checks {
		if note[field] != want {
			t.Errorf("Note.%s = %#v, want %#v", field, note[field], want)
		}
	}
	if cm, _ := note["contentMap"].(map[string]any); cm["en"] != note["content"] || !strings.Contains(stringProp(note, "content"), `class="u-url mention"`) {
		t.Errorf("content %v / contentMap %v", note["content"], note["contentMap"])
	}
	if att, ok := note["attachment"].([]any); !ok || len(att) != 0 {
		t.Errorf("attachment = %#v, want []", note["attachment"])
	}
	tags, _ := note["tag"].([]any)
	var mention, hashtag map[string]any
	for _, tg := range tags {
		m, _ := tg.(map[string]any)
		switch m["type"] {
		case "Mention":
			mention = m
		case "Hashtag":
			hashtag = m
		}
	}
	if mention == nil || mention["href"] != bob.URI || mention["name"] != "@bob@b.test" {
		t.Errorf("Mention tag %v", mention)
	}
	if hashtag == nil || hashtag["name"] != "#rhizome" || hashtag["href"] != "http://a.test/tags/rhizome" {
		t.Errorf("Hashtag tag %v", hashtag)
	}
	// Mastodon's own context terms for sensitive and Hashtag are defined.
	raw, _ := json.Marshal(create)
	if !strings.Contains(string(raw), `"sensitive":"as:sensitive"`) || !strings.Contains(string(raw), `"Hashtag":"as:Hashtag"`) {
		t.Error("@context does not define sensitive and Hashtag")
	}
	// go-fed, which Go peers use, reads it as a Create of a Note.
	typed := parseWithGoFed(t, raw)
	c, ok := typed.(vocab.ActivityStreamsCreate)
	if !ok {
		t.Fatalf("go-fed read a %T", typed)
	}
	if obj := c.GetActivityStreamsObject(); obj == nil || obj.Len() != 1 || !obj.At(0).IsActivityStreamsNote() {
		t.Fatal("go-fed found no Note in the Create")
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
