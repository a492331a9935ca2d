package activitypub

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

const apJSON = "application/activity+json; charset=utf-8"

func TestRemoteActor_fetchParseCache(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	peer.serve("/users/bob", apJSON, mastodonActor("b.test", "bob", testKeys0(t)))
	in := newFederatingInstance(t, peer)

	a, err := in.RemoteActor(t.Context(), "http://b.test/users/bob", false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "bob" || a.Domain != "b.test" || a.InboxURI != "http://b.test/users/bob/inbox" ||
		a.SharedInboxURI != "http://b.test/inbox" || a.PublicKeyID != "http://b.test/users/bob#main-key" ||
		a.AvatarURL != "http://b.test/avatar.png" || a.DisplayName != "Bob" || !a.Discoverable {
		t.Fatalf("parsed actor: %+v", a)
	}
	if strings.Contains(a.Note, "script") {
		t.Fatalf("summary not sanitised: %q", a.Note)
	}
	// The fetch was signed by our instance actor and asked for AP JSON.
	reqs := peer.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if sig := reqs[0].Header.Get("Signature"); !strings.Contains(sig, `keyId="http://a.test/actor#main-key"`) {
		t.Fatalf("fetch not signed as the instance actor: %q", sig)
	}
	if !strings.Contains(reqs[0].Header.Get("Accept"), "application/activity+json") {
		t.Fatalf("Accept %q", reqs[0].Header.Get("Accept"))
	}
	// Cached: no second request.
	if _, err := in.RemoteActor(t.Context(), "http://b.test/users/bob", false); err != nil {
		t.Fatal(err)
	}
	if n := len(peer.requests()); n != 1 {
		t.Fatalf("%d requests after a cached lookup, want 1", n)
	}
	// Refresh fetches again and keeps the same record.
	again, err := in.RemoteActor(t.Context(), "http://b.test/users/bob", true)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != a.ID || len(peer.requests()) != 2 {
		t.Fatalf("refresh: id %s vs %s, %d requests", again.ID, a.ID, len(peer.requests()))
	}
}

func TestRemoteActor_refusesBadDocuments(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	key := testKeys0(t)
	peer.serve("/users/html", "text/html", "<html></html>")
	peer.serve("/users/other-host", apJSON, mastodonActor("c.test", "eve", key))
	peer.serve("/users/huge", apJSON, `{"id":"http://b.test/users/huge","x":"`+strings.Repeat("a", 2<<20)+`"}`)
	peer.serve("/users/note", apJSON, `{"id":"http://b.test/users/note","type":"Note"}`)
	peer.serve("/users/nokey", apJSON, strings.Replace(mastodonActor("b.test", "nokey", key), `"publicKey"`, `"publicKeyX"`, 1))
	peer.serveStatus("/users/gone", http.StatusGone)
	peer.serve("/users/renamed", apJSON, mastodonActor("b.test", "bob", key)) // id is /users/bob
	in := newFederatingInstance(t, peer)
	for _, path := range []string{"/users/html", "/users/other-host", "/users/huge", "/users/note", "/users/nokey", "/users/gone", "/users/renamed", "/users/missing"} {
		t.Run(path, func(t *testing.T) {
			_, err := in.RemoteActor(t.Context(), "http://b.test"+path, false)
			if !errors.Is(err, ErrFetch) && !errors.Is(err, ErrGone) {
				t.Fatalf("got %v, want ErrFetch or ErrGone", err)
			}
		})
	}
}

func TestRemoteActor_privateAddressRefused(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	peer.serve("/users/bob", apJSON, mastodonActor("b.test", "bob", testKeys0(t)))
	in, err := New(t.Context(), newTestStore(t), Options{Domain: "a.test", Protocol: "http", Dial: dialer(peer)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.RemoteActor(t.Context(), "http://b.test/users/bob", false); !errors.Is(err, ErrPrivateAddress) {
		t.Fatalf("got %v, want ErrPrivateAddress", err)
	}
	if n := len(peer.requests()); n != 0 {
		t.Fatalf("peer got %d requests", n)
	}
}

func TestPublicKey_keyIDForms(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	key := testKeys0(t)
	peer.serve("/users/bob", apJSON, mastodonActor("b.test", "bob", key))
	// GoToSocial style: the key id is its own URL serving a stub that names
	// the owner; the owner lists that key id.
	gts := strings.ReplaceAll(mastodonActor("b.test", "gts", key), `/users/gts#main-key`, `/users/gts/main-key`)
	peer.serve("/users/gts", apJSON, gts)
	peer.serve("/users/gts/main-key", apJSON, `{"@context":"https://w3id.org/security/v1","id":"http://b.test/users/gts/main-key","owner":"http://b.test/users/gts","publicKeyPem":`+jsonString(key)+`}`)
	// A key document naming an owner that does not list it.
	peer.serve("/keys/stolen", apJSON, `{"id":"http://b.test/keys/stolen","owner":"http://b.test/users/bob","publicKeyPem":`+jsonString(key)+`}`)
	in := newFederatingInstance(t, peer)
	tests := []struct {
		keyID, owner string
		wantErr      bool
	}{
		{"http://b.test/users/bob#main-key", "http://b.test/users/bob", false},
		{"http://b.test/users/gts/main-key", "http://b.test/users/gts", false},
		{"http://b.test/keys/stolen", "", true},
		{"http://a.test/users/alice#main-key", "", true},
		{"not a url", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.keyID, func(t *testing.T) {
			pub, owner, err := in.publicKey(t.Context(), tt.keyID, false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (owner.URI != tt.owner || pub == nil) {
				t.Fatalf("owner %s", owner.URI)
			}
		})
	}
	// Now cached: found without fetching.
	before := len(peer.requests())
	if _, _, err := in.publicKey(t.Context(), "http://b.test/users/gts/main-key", false); err != nil {
		t.Fatal(err)
	}
	if len(peer.requests()) != before {
		t.Fatal("cached key fetched again")
	}
}

func TestResolveAccount_webfinger(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	peer.serve("/users/bob", apJSON, mastodonActor("b.test", "bob", testKeys0(t)))
	peer.serve("/.well-known/webfinger?resource=acct%3Abob%40b.test", "application/jrd+json",
		`{"subject":"acct:bob@b.test","links":[{"rel":"self","type":"application/activity+json","href":"http://b.test/users/bob"}]}`)
	in := newFederatingInstance(t, peer)
	a, err := in.ResolveAccount(t.Context(), "@bob@b.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.URI != "http://b.test/users/bob" {
		t.Fatalf("resolved %s", a.URI)
	}
	if _, err := in.ResolveAccount(t.Context(), "carol@b.test"); err == nil {
		t.Fatal("unknown account resolved")
	}
	var bad *BadRequestError
	if _, err := in.ResolveAccount(t.Context(), "nonsense"); !errors.As(err, &bad) {
		t.Fatalf("malformed acct: %v", err)
	}
}

func testKeys0(t *testing.T) string {
	t.Helper()
	testKeyPairs(t)
	return testKeys[0].publicPEM
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
