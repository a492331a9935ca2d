package web

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/activitypub/webpush/webpushtest"
	"github.com/rhizome-fed/rhizome/storage"
)

// TestPush_notifications registers a Web Push subscription for alice on
// a; bob on b mentions her and the push service started here receives
// the notification and decrypts it with the subscription's keys. A follow
// is not among the alerts asked for, so it is not pushed. Once the push
// service answers 410, the subscription is removed.
func TestPush_notifications(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	token := apiToken(t, a.srv, alice, "read", "push")

	service := webpushtest.NewService(t)
	sub := service.NewSubscription()
	var created map[string]any
	resp := callWith(t, client, "POST", "http://a.test/api/v1/push/subscription", token, map[string]any{
		"subscription": map[string]any{"endpoint": sub.Endpoint, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}},
		"data":         map[string]any{"alerts": map[string]any{"mention": true, "follow": false}, "policy": "all"},
	}, &created)
	var instance map[string]any
	callWith(t, client, "GET", "http://a.test/api/v2/instance", "", nil, &instance)
	vapid := instance["configuration"].(map[string]any)["vapid"].(map[string]any)["public_key"]
	alerts, _ := created["alerts"].(map[string]any)
	if resp.StatusCode != 200 || created["id"] != "1" || created["server_key"] == "" || created["server_key"] != vapid ||
		alerts["mention"] != true || alerts["follow"] != false || created["endpoint"] != sub.Endpoint {
		t.Fatalf("subscribe: %d %v (instance key %v)", resp.StatusCode, created, vapid)
	}
	// Apps see the same key when they register.
	var app map[string]any
	callWith(t, client, "POST", "http://a.test/api/v1/apps", "", map[string]any{"client_name": "pusher",
		"redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read push"}, &app)
	if app["vapid_key"] != vapid {
		t.Errorf("app vapid_key %v, instance %v", app["vapid_key"], vapid)
	}
	// A bad subscription is refused and changes nothing.
	var bad map[string]any
	if resp := callWith(t, client, "POST", "http://a.test/api/v1/push/subscription", token, map[string]any{
		"subscription": map[string]any{"endpoint": "ftp://push.example/x", "keys": map[string]any{"p256dh": "x", "auth": "y"}},
	}, &bad); resp.StatusCode != 422 {
		t.Errorf("bad subscription: %d %v", resp.StatusCode, bad)
	}
	var kept map[string]any
	if callWith(t, client, "GET", "http://a.test/api/v1/push/subscription", token, nil, &kept); kept["endpoint"] != sub.Endpoint {
		t.Errorf("after a refused subscription: %v", kept)
	}
	// Without the push scope: 403.
	if resp := callWith(t, client, "GET", "http://a.test/api/v1/push/subscription", apiToken(t, a.srv, alice, "read"), nil, nil); resp.StatusCode != 403 {
		t.Errorf("push subscription with a read token: %d", resp.StatusCode)
	}

	// bob follows alice (not pushed: follow alerts are off), then mentions her.
	a.resolve("bob@b.test")
	b.followAndWait(bob, "alice@a.test", alice.URI)
	st := b.post(bob, activitypub.Draft{Text: "@alice@a.test ping"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	got, err := service.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(got[0].Plaintext, &payload); err != nil {
		t.Fatalf("payload %q: %v", got[0].Plaintext, err)
	}
	if payload["notification_type"] != "mention" || payload["title"] != "bob mentioned you" || payload["body"] != "@alice ping" ||
		payload["icon"] != "http://a.test/avatars/original/missing.png" {
		t.Errorf("payload: %v", payload)
	}
	if got[0].VAPIDKey != vapid {
		t.Errorf("signed with key %q, instance shows %q", got[0].VAPIDKey, vapid)
	}
	if len(service.Received()) != 1 || len(service.Errors()) != 0 {
		t.Errorf("received %d, errors %v", len(service.Received()), service.Errors())
	}
	_ = st

	// The push service says the subscription is gone: it is removed.
	service.Gone(sub)
	b.post(bob, activitypub.Draft{Text: "@alice@a.test again"})
	eventually(t, "subscription removed after 410", func() bool {
		var removed bool
		_ = a.srv.Store().View(func(tx *storage.Tx) error {
			subs, err := tx.PushSubscriptionsOf(alice.ID)
			removed = err == nil && len(subs) == 0
			return err
		})
		return removed
	})
	if resp := callWith(t, client, "GET", "http://a.test/api/v1/push/subscription", token, nil, nil); resp.StatusCode != 404 {
		t.Errorf("subscription after 410: %d", resp.StatusCode)
	}
}
