package web

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// statusByURI returns the status as nd stores it, or nil.
func (nd *node) statusByURI(uri string) *storage.Status {
	var s *storage.Status
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		s, _ = tx.StatusByURI(uri)
		return nil
	})
	return s
}

// home lists the URIs in an account's home timeline on nd, newest first.
func (nd *node) home(account *storage.Account) []string {
	var uris []string
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		local, err := tx.AccountByURI(account.URI)
		if err != nil {
			return err
		}
		sts, err := tx.HomeTimeline(local.ID, storage.Page{Limit: 1 << 20})
		for _, s := range sts {
			uris = append(uris, s.URI)
		}
		return err
	})
	return uris
}

func (nd *node) post(author *storage.Account, d activitypub.Draft) *storage.Status {
	nd.t.Helper()
	st, err := nd.in().PostStatus(nd.t.Context(), author, d)
	if err != nil {
		nd.t.Fatalf("%s: post: %v", nd.name, err)
	}
	return st
}

func (nd *node) followAndWait(follower *storage.Account, acct, targetURI string) {
	nd.t.Helper()
	if _, err := nd.in().Follow(nd.t.Context(), follower, nd.resolve(acct)); err != nil {
		nd.t.Fatal(err)
	}
	eventually(nd.t, follower.Username+" following "+acct, func() bool { return accepted(nd.follow(follower.URI, targetURI)) })
}

// TestFederation_statuses posts across three instances: public posts
// reach followers, a followers-only post stays away from an instance with
// no follower, a direct message reaches only who it mentions, a reply
// thread spans three instances, and a delete removes a post everywhere.
func TestFederation_statuses(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	c := n.start(t, "c.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	carol := c.account("carol", false)

	// bob follows alice; carol follows bob (not alice).
	b.followAndWait(bob, "alice@a.test", alice.URI)
	c.followAndWait(carol, "bob@b.test", bob.URI)

	// A public post reaches bob's home timeline on b.
	hello := a.post(alice, activitypub.Draft{Text: "Hello #fediverse", Language: "en"})
	eventually(t, "b to receive alice's post", func() bool { return b.statusByURI(hello.URI) != nil })
	got := b.statusByURI(hello.URI)
	if got.Visibility != storage.VisibilityPublic || !strings.Contains(got.Content, "Hello") || !slices.Contains(got.Tags, "fediverse") {
		t.Fatalf("b's copy: %+v", got)
	}
	if !slices.Contains(b.home(bob), hello.URI) {
		t.Fatal("alice's post not in bob's home timeline")
	}
	if !slices.Contains(a.home(alice), hello.URI) {
		t.Fatal("alice's post not in her own home timeline")
	}

	// A followers-only post reaches b (bob follows) but never c.
	secret := a.post(alice, activitypub.Draft{Text: "for followers", Visibility: storage.VisibilityPrivate})
	eventually(t, "b to receive the followers-only post", func() bool { return b.statusByURI(secret.URI) != nil })
	if v := b.statusByURI(secret.URI).Visibility; v != storage.VisibilityPrivate {
		t.Fatalf("followers-only post arrived as %s", v)
	}

	// A reply thread across three instances: bob answers alice, carol
	// answers bob, mentioning alice.
	reply := b.post(bob, activitypub.Draft{Text: "@alice@a.test hi back", InReplyTo: got.ID})
	eventually(t, "a to receive bob's reply", func() bool { return a.statusByURI(reply.URI) != nil })
	onA := a.statusByURI(reply.URI)
	if onA.InReplyToID != hello.ID {
		t.Fatalf("reply on a threads to %d, want %d", onA.InReplyToID, hello.ID)
	}
	eventually(t, "c to receive bob's reply (carol follows bob)", func() bool { return c.statusByURI(reply.URI) != nil })
	replyOnC := c.statusByURI(reply.URI)
	// c had never seen alice's post: it fetched it as the reply's ancestor.
	helloOnC := c.statusByURI(hello.URI)
	if helloOnC == nil || replyOnC.InReplyToID != helloOnC.ID {
		t.Fatalf("c did not fetch and link the missing ancestor: %+v / %+v", helloOnC, replyOnC)
	}
	if containsURI(c.home(carol), hello.URI) {
		t.Fatal("a fetched ancestor landed in a home timeline")
	}
	second := c.post(carol, activitypub.Draft{Text: "@bob@b.test @alice@a.test me too", InReplyTo: replyOnC.ID})
	eventually(t, "a to receive carol's reply (she mentions alice)", func() bool { return a.statusByURI(second.URI) != nil })
	eventually(t, "b to receive carol's reply", func() bool { return b.statusByURI(second.URI) != nil })
	if s := a.statusByURI(second.URI); s.InReplyToURI != reply.URI || s.InReplyToID != onA.ID {
		t.Fatalf("carol's reply on a: in reply to %s (%d)", s.InReplyToURI, s.InReplyToID)
	}
	if !slices.Contains(a.home(alice), second.URI) {
		t.Fatal("a mention of alice is not in her home timeline")
	}
	// alice was notified of bob's follow, then of the two mentions.
	if got := a.notifications(alice); !slices.Equal(got, []string{"mention", "mention", "follow"}) {
		t.Fatalf("alice's notifications %v, want two mentions and the follow, newest first", got)
	}

	// A direct message from alice to carol: c gets it, b does not.
	dm := a.post(alice, activitypub.Draft{Text: "@carol@c.test psst", Visibility: storage.VisibilityDirect})
	eventually(t, "c to receive the direct message", func() bool { return c.statusByURI(dm.URI) != nil })
	if v := c.statusByURI(dm.URI).Visibility; v != storage.VisibilityDirect {
		t.Fatalf("direct message arrived as %s", v)
	}

	// Delete: gone from b's and c's stores and timelines.
	if err := b.in().DeleteStatus(t.Context(), bob, reply.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to drop the deleted reply", func() bool { return a.statusByURI(reply.URI) == nil })
	eventually(t, "c to drop the deleted reply", func() bool { return c.statusByURI(reply.URI) == nil })
	if slices.Contains(c.home(carol), reply.URI) || slices.Contains(b.home(bob), reply.URI) {
		t.Fatal("deleted reply still in a home timeline")
	}

	// Every delivery has been made: nothing is left to send that could
	// still reach an instance it must not.
	for _, nd := range []*node{a, b, c} {
		eventually(t, nd.name+" to drain its queue", func() bool { return pendingDeliveries(nd) == 0 })
	}
	if c.statusByURI(secret.URI) != nil {
		t.Fatal("c received a followers-only post although nobody there follows alice")
	}
	if b.statusByURI(dm.URI) != nil {
		t.Fatal("b received a direct message meant for carol")
	}

	// The outbox lists the public post, and the Note resolves.
	resp, body := getVia(t, n, "http://a.test/users/alice/outbox?page=true", "application/activity+json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), hello.URI) || strings.Contains(string(body), secret.URI) {
		t.Fatalf("outbox page: %d %s", resp.StatusCode, body)
	}
	resp, body = getVia(t, n, hello.URI, "application/activity+json")
	var note map[string]any
	if err := json.Unmarshal(body, &note); err != nil || resp.StatusCode != http.StatusOK || note["id"] != hello.URI || note["type"] != "Note" {
		t.Fatalf("GET note: %d %s", resp.StatusCode, body)
	}
	if resp, _ := getVia(t, n, secret.URI, "application/activity+json"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("followers-only note served publicly: %d", resp.StatusCode)
	}
}

func getVia(t testing.TB, n *network, url, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{Transport: &http.Transport{DialContext: n.dial}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// notifications lists the types of an account's notifications on nd,
// newest first.
func (nd *node) notifications(account *storage.Account) []string {
	var types []string
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		local, err := tx.AccountByURI(account.URI)
		if err != nil {
			return err
		}
		ns, err := tx.Notifications(local.ID, storage.Page{Limit: 100}, nil, 1000)
		for _, n := range ns {
			types = append(types, n.Type)
		}
		return err
	})
	return types
}
