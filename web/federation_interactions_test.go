package web

import (
	"errors"
	"strings"
	"testing"

	"github.com/rhizome-fed/rhizome/activitypub"
)

// TestFederation_interactions: likes, boosts, edits, profile updates and
// blocks between instances, each undone where it can be, checked on both
// sides.
func TestFederation_interactions(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	c := n.start(t, "c.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	carol := c.account("carol", false)
	b.followAndWait(bob, "alice@a.test", alice.URI)
	c.followAndWait(carol, "bob@b.test", bob.URI)
	ctx := t.Context()

	post := a.post(alice, activitypub.Draft{Text: "like me"})
	eventually(t, "b to receive the post", func() bool { return b.statusByURI(post.URI) != nil })
	onB := b.statusByURI(post.URI)

	// bob likes it: a counts the like; unlike takes it back.
	if err := b.in().Favourite(ctx, bob, onB.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to count bob's like", func() bool { return a.statusByURI(post.URI).FavouritesCount == 1 })
	if got := a.notifications(alice); len(got) == 0 || got[0] != "favourite" {
		t.Fatalf("alice's notifications %v, want a favourite first", got)
	}
	if err := b.in().Unfavourite(ctx, bob, onB.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to drop the like", func() bool { return a.statusByURI(post.URI).FavouritesCount == 0 })

	// bob boosts it: carol (who follows bob, not alice) sees the boost on
	// c, which fetched the original from a; a counts the boost.
	boost, err := b.in().Boost(ctx, bob, onB.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "c to receive the boost", func() bool { return c.statusByURI(boost.URI) != nil })
	if orig := c.statusByURI(post.URI); orig == nil || c.statusByURI(boost.URI).ReblogOfID != orig.ID {
		t.Fatalf("boost on c does not point at alice's post: %+v", c.statusByURI(boost.URI))
	}
	if !containsURI(c.home(carol), boost.URI) {
		t.Fatal("boost not in carol's home timeline")
	}
	eventually(t, "a to count the boost", func() bool { return a.statusByURI(post.URI).ReblogsCount == 1 })
	if got := a.notifications(alice); got[0] != "reblog" {
		t.Fatalf("alice's notifications %v, want a reblog first", got)
	}
	if err := b.in().Unboost(ctx, bob, onB.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c to drop the boost", func() bool { return c.statusByURI(boost.URI) == nil })
	eventually(t, "a to uncount the boost", func() bool { return a.statusByURI(post.URI).ReblogsCount == 0 })

	// alice edits the post: b keeps the new text and the old version.
	if _, err := a.in().EditStatus(ctx, alice, post.ID, activitypub.Draft{Text: "like me, edited"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to apply the edit", func() bool { return strings.Contains(b.statusByURI(post.URI).Content, "edited") })
	if edits := b.statusByURI(post.URI).Edits; len(edits) != 1 || !strings.Contains(edits[0].Content, "like me") {
		t.Fatalf("edit history on b: %+v", edits)
	}

	// alice renames herself: b refreshes her profile.
	name := "Alice A."
	if _, err := a.in().UpdateProfile(ctx, alice, activitypub.Profile{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to see the new name", func() bool { return b.accountByURI(alice.URI).DisplayName == name })

	// alice blocks bob: the follow ends on both sides, and a refuses his
	// new follow.
	bobOnA := a.accountByURI(bob.URI)
	if err := a.in().Block(ctx, alice, bobOnA); err != nil {
		t.Fatal(err)
	}
	if a.follow(bob.URI, alice.URI) != nil {
		t.Fatal("a kept bob's follow after blocking him")
	}
	eventually(t, "b to drop the follow after the block", func() bool { return b.follow(bob.URI, alice.URI) == nil })
	// b learned of the block: bob cannot follow alice again from there.
	if _, err := b.in().Follow(ctx, bob, b.accountByURI(alice.URI)); !errors.Is(err, activitypub.ErrForbidden) {
		t.Fatalf("following the blocker: %v, want ErrForbidden", err)
	}
	// Unblock: once b hears of it, the follow goes through.
	if err := a.in().Unblock(ctx, alice, bobOnA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to learn of the unblock", func() bool {
		_, err := b.in().Follow(ctx, bob, b.accountByURI(alice.URI))
		return err == nil
	})
	eventually(t, "the follow to be accepted", func() bool { return accepted(b.follow(bob.URI, alice.URI)) })

	// alice deletes the post: gone on b (her follower's instance). c got
	// it only through bob's boost, since withdrawn: it is in no timeline
	// there. (Forwarding Deletes along boosts is not done yet.)
	if err := a.in().DeleteStatus(ctx, alice, post.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to drop the deleted post", func() bool { return b.statusByURI(post.URI) == nil })
	if containsURI(c.home(carol), post.URI) {
		t.Fatal("alice's deleted post is in carol's home timeline")
	}
}

func containsURI(uris []string, uri string) bool {
	for _, u := range uris {
		if u == uri {
			return true
		}
	}
	return false
}
