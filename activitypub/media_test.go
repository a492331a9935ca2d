package activitypub

import (
	"bytes"
	"errors"
	stdimage "image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, stdimage.NewGray(stdimage.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRemoteFile_guards fetches remote files for the cache: a picture is
// cached once and served from the cache after; HTML, an oversized file, a
// failing host and a private address are refused and cache nothing.
func TestRemoteFile_guards(t *testing.T) {
	peer := newFakePeer(t, "b.test")
	picture := testPNG(t)
	peer.serve("/media/pic.png", "application/octet-stream", string(picture)) // the type header is not trusted
	peer.serve("/media/page.png", "image/png", "<!DOCTYPE html><html><script>alert(1)</script></html>")
	peer.serve("/media/big.png", "image/png", string(picture)+strings.Repeat("x", 4096))
	peer.serveStatus("/media/gone.png", 410)
	in, err := New(t.Context(), newTestStore(t), Options{Domain: "a.test", Protocol: "http", AllowPrivateAddresses: true,
		Dial: dialer(peer), MaxRemoteFileBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}

	f, err := in.RemoteFile(t.Context(), "http://b.test/media/pic.png")
	if err != nil || f.MIME != "image/png" || f.Size != int64(len(picture)) {
		t.Fatalf("picture: %+v, %v", f, err)
	}
	before := len(peer.requests())
	if again, err := in.RemoteFile(t.Context(), "http://b.test/media/pic.png"); err != nil || again.Hash != f.Hash || len(peer.requests()) != before {
		t.Errorf("second fetch went to the network (%d requests) or changed: %+v, %v", len(peer.requests())-before, again, err)
	}
	for _, tt := range []struct {
		url  string
		want error
	}{
		{"http://b.test/media/page.png", ErrNotMedia},
		{"http://b.test/media/big.png", ErrFetch},
		{"http://b.test/media/gone.png", ErrFetch},
		{"ftp://b.test/media/pic.png", ErrFetch},
		{"http://a.test/media/proxy/1", ErrFetch},     // ourselves: a loop
		{"http://A.test.:80/media/proxy/1", ErrFetch}, // ourselves, spelt otherwise
	} {
		if _, err := in.RemoteFile(t.Context(), tt.url); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.url, err, tt.want)
		}
	}
	// A failed URL is not tried again at once.
	before = len(peer.requests())
	if _, err := in.RemoteFile(t.Context(), "http://b.test/media/gone.png"); !errors.Is(err, ErrFetch) || len(peer.requests()) != before {
		t.Errorf("refetch of a failed URL: %v, %d requests", err, len(peer.requests())-before)
	}
	// Without AllowPrivateAddresses, a file on a loopback address is never
	// fetched.
	guarded, err := New(t.Context(), newTestStore(t), Options{Domain: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guarded.RemoteFile(t.Context(), peer.srv.URL+"/media/pic.png"); err == nil {
		t.Error("fetched from a loopback address")
	}
	// Only the one picture is cached.
	if err := in.store.View(func(tx *storage.Tx) error {
		cached, err := tx.RemoteFilesBefore(time.Now().Add(time.Hour), "", 10)
		if len(cached) != 1 || cached[0] != "http://b.test/media/pic.png" {
			t.Errorf("cached: %v", cached)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPushPolicy checks whose notifications each policy lets through.
func TestPushPolicy(t *testing.T) {
	in := newTestInstance(t)
	ctx := t.Context()
	me, err := in.CreateAccount(ctx, NewAccount{Username: "me", Email: "me@example.org", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	var others []*storage.Account
	for _, name := range []string{"friend", "fan", "stranger"} {
		la, err := in.CreateAccount(ctx, NewAccount{Username: name, Email: name + "@example.org", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, la.Account)
	}
	friend, fan, stranger := others[0], others[1], others[2]
	if err := in.store.Update(ctx, func(tx *storage.Tx) error {
		if err := tx.PutFollow(&storage.Follow{FollowerID: me.Account.ID, FollowedID: friend.ID, CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.PutFollow(&storage.Follow{FollowerID: fan.ID, FollowedID: me.Account.ID, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		policy string
		want   map[*storage.Account]bool
	}{
		{PushPolicyAll, map[*storage.Account]bool{friend: true, fan: true, stranger: true}},
		{PushPolicyFollowed, map[*storage.Account]bool{friend: true, fan: false, stranger: false}},
		{PushPolicyFollower, map[*storage.Account]bool{friend: false, fan: true, stranger: false}},
		{PushPolicyNone, map[*storage.Account]bool{friend: false, fan: false, stranger: false}},
	} {
		for from, want := range tt.want {
			var got bool
			if err := in.store.View(func(tx *storage.Tx) error {
				var err error
				got, err = pushPolicyAllows(tx, tt.policy, me.Account.ID, from.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("policy %s, from %s: %t, want %t", tt.policy, from.Username, got, want)
			}
		}
	}
}
