package activitypub

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// TestActorJSON_goFedReadsIt parses our actor document with go-fed, the
// library peers in Go use, and checks the fields federation depends on.
func TestActorJSON_goFedReadsIt(t *testing.T) {
	in := newTestInstance(t)
	la, err := in.CreateAccount(t.Context(), NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := in.ActorJSON(la.Account)
	if err != nil {
		t.Fatal(err)
	}
	typed := parseWithGoFed(t, body)
	person, ok := typed.(vocab.ActivityStreamsPerson)
	if !ok {
		t.Fatalf("go-fed parsed a %T, want a Person", typed)
	}
	checks := map[string][2]string{
		"id":                {person.GetJSONLDId().Get().String(), "https://a.test/users/alice"},
		"inbox":             {person.GetActivityStreamsInbox().GetIRI().String(), "https://a.test/users/alice/inbox"},
		"outbox":            {person.GetActivityStreamsOutbox().GetIRI().String(), "https://a.test/users/alice/outbox"},
		"followers":         {person.GetActivityStreamsFollowers().GetIRI().String(), "https://a.test/users/alice/followers"},
		"following":         {person.GetActivityStreamsFollowing().GetIRI().String(), "https://a.test/users/alice/following"},
		"featured":          {person.GetTootFeatured().GetIRI().String(), "https://a.test/users/alice/collections/featured"},
		"preferredUsername": {person.GetActivityStreamsPreferredUsername().GetXMLSchemaString(), "alice"},
		"url":               {person.GetActivityStreamsUrl().Begin().GetIRI().String(), "https://a.test/@alice"},
	}
	for field, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", field, c[0], c[1])
		}
	}
	keys := person.GetW3IDSecurityV1PublicKey()
	if keys == nil || keys.Len() != 1 {
		t.Fatal("publicKey missing")
	}
	key := keys.At(0).Get()
	if id := key.GetJSONLDId().Get().String(); id != "https://a.test/users/alice#main-key" {
		t.Errorf("publicKey.id = %s", id)
	}
	if owner := key.GetW3IDSecurityV1Owner().Get().String(); owner != "https://a.test/users/alice" {
		t.Errorf("publicKey.owner = %s", owner)
	}
	block, _ := pem.Decode([]byte(key.GetW3IDSecurityV1PublicKeyPem().Get()))
	if block == nil {
		t.Fatal("publicKeyPem is not PEM")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Fatalf("publicKeyPem: %v", err)
	}
	// Extension terms go-fed v1.0.0 does not model must still be there.
	unknown := person.GetUnknownProperties()
	if unknown["manuallyApprovesFollowers"] != false {
		t.Errorf("manuallyApprovesFollowers = %v", unknown["manuallyApprovesFollowers"])
	}
	if ep, _ := unknown["endpoints"].(map[string]any); ep["sharedInbox"] != "https://a.test/inbox" {
		t.Errorf("endpoints = %v", unknown["endpoints"])
	}
}

func TestActorJSON_instanceActorAndSuspended(t *testing.T) {
	in := newTestInstance(t)
	ctx := t.Context()
	actor, err := in.InstanceActor()
	if err != nil {
		t.Fatal(err)
	}
	body, err := in.ActorJSON(actor)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parseWithGoFed(t, body).(vocab.ActivityStreamsApplication); !ok {
		t.Fatal("instance actor is not an Application")
	}
	if _, err := in.CreateAccount(ctx, NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if err := in.SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	la, err := in.LocalAccount("alice")
	if err != nil {
		t.Fatal(err)
	}
	body, err = in.ActorJSON(la.Account)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["suspended"] != true || doc["name"] != "" || doc["publicKey"] == nil {
		t.Fatalf("suspended actor: suspended=%v name=%v publicKey=%v", doc["suspended"], doc["name"], doc["publicKey"] != nil)
	}
}

func TestCollectionJSON_goFedReadsIt(t *testing.T) {
	in := newTestInstance(t)
	la, err := in.CreateAccount(t.Context(), NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []CollectionKind{Outbox, Followers, Following, Featured} {
		t.Run(string(kind), func(t *testing.T) {
			body, err := in.CollectionJSON(la.Account, kind, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := parseWithGoFed(t, body).(vocab.ActivityStreamsOrderedCollection)
			if !ok {
				t.Fatalf("not an OrderedCollection: %s", body)
			}
			if c.GetActivityStreamsTotalItems() == nil || c.GetActivityStreamsTotalItems().Get() != 0 {
				t.Errorf("totalItems missing or not 0")
			}
			first := c.GetActivityStreamsFirst()
			if first == nil || !first.IsIRI() {
				t.Fatalf("first page missing: %s", body)
			}
			body, err = in.CollectionJSON(la.Account, kind, &CollectionPage{})
			if err != nil {
				t.Fatal(err)
			}
			p, ok := parseWithGoFed(t, body).(vocab.ActivityStreamsOrderedCollectionPage)
			if !ok {
				t.Fatalf("page is not an OrderedCollectionPage: %s", body)
			}
			if p.GetJSONLDId().Get().String() != first.GetIRI().String() {
				t.Errorf("page id %s, collection's first %s", p.GetJSONLDId().Get(), first.GetIRI())
			}
			if p.GetActivityStreamsPartOf().GetIRI().String() != c.GetJSONLDId().Get().String() {
				t.Errorf("partOf %s", p.GetActivityStreamsPartOf().GetIRI())
			}
		})
	}
}

func parseWithGoFed(t *testing.T, body []byte) vocab.Type {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, body)
	}
	typed, err := streams.ToType(context.Background(), m)
	if err != nil {
		t.Fatalf("go-fed cannot read it: %v\n%s", err, body)
	}
	return typed
}
