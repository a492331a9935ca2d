package storage

import (
	"errors"
	"testing"
	"time"
)

func TestFavouritesBlocksAndReblogCounts(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test")
	note := &Status{ID: s.NewID(), URI: "https://b.test/notes/1", AccountID: bob.ID, Visibility: VisibilityPublic, CreatedAt: time.Now()}
	boost := &Status{ID: s.NewID(), URI: "https://a.test/activities/boost", AccountID: alice.ID, ReblogOfID: note.ID, Visibility: VisibilityPublic, CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []*Account{alice, bob} {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
		}
		if err := tx.CreateStatus(note); err != nil {
			return err
		}
		if err := tx.CreateStatus(boost); err != nil {
			return err
		}
		if err := tx.PutFavourite(alice.ID, note.ID, "https://a.test/likes/1"); err != nil {
			return err
		}
		if err := tx.PutFavourite(alice.ID, note.ID, "https://a.test/likes/1"); err != nil { // again
			return err
		}
		return tx.PutBlock(bob.ID, alice.ID, "https://b.test/blocks/1")
	}); err != nil {
		t.Fatal(err)
	}
	counts := func() (int64, int64) {
		var fav, reb int64
		_ = s.View(func(tx *Tx) error {
			n, err := tx.Status(note.ID)
			if err == nil {
				fav, reb = n.FavouritesCount, n.ReblogsCount
			}
			return err
		})
		return fav, reb
	}
	if fav, reb := counts(); fav != 1 || reb != 1 {
		t.Fatalf("favourites %d, reblogs %d; want 1, 1", fav, reb)
	}
	if err := s.View(func(tx *Tx) error {
		a, st, err := tx.FavouriteByURI("https://a.test/likes/1")
		if err != nil || a != alice.ID || st != note.ID {
			t.Errorf("like by uri: %v %v %v", a, st, err)
		}
		blocked, err := tx.Blocks(bob.ID, alice.ID)
		if err != nil || !blocked {
			t.Errorf("block: %v %v", blocked, err)
		}
		reverse, _ := tx.Blocks(alice.ID, bob.ID)
		if reverse {
			t.Error("block applies in reverse")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteFavourite(alice.ID, note.ID); err != nil {
			return err
		}
		if err := tx.DeleteFavourite(alice.ID, note.ID); err != nil {
			return err
		}
		if err := tx.DeleteStatus(boost.ID, time.Now()); err != nil {
			return err
		}
		return tx.DeleteBlock(bob.ID, alice.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if fav, reb := counts(); fav != 0 || reb != 0 {
		t.Fatalf("after undo: favourites %d, reblogs %d", fav, reb)
	}
	if err := s.View(func(tx *Tx) error {
		if _, _, err := tx.FavouriteByURI("https://a.test/likes/1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("like still indexed: %v", err)
		}
		if _, _, err := tx.BlockByURI("https://b.test/blocks/1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("block still indexed: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteStatus_takesItsBoosts(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob, carol := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test"), testAccount(s, "carol", "")
	note := &Status{ID: s.NewID(), URI: "https://b.test/notes/1", AccountID: bob.ID, Visibility: VisibilityPublic, HomeOf: []ID{alice.ID}, CreatedAt: time.Now()}
	boost := &Status{ID: s.NewID(), URI: "https://a.test/boost", AccountID: alice.ID, ReblogOfID: note.ID, Visibility: VisibilityPublic,
		HomeOf: []ID{alice.ID, carol.ID}, CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []*Account{alice, bob, carol} {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
		}
		if err := tx.CreateStatus(note); err != nil {
			return err
		}
		return tx.CreateStatus(boost)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteStatus(note.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error {
		if _, err := tx.Status(boost.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("boost of a deleted status kept: %v", err)
		}
		for _, owner := range []ID{alice.ID, carol.ID} {
			home, err := tx.HomeTimeline(owner, Page{})
			if err != nil {
				return err
			}
			if len(home) != 0 {
				t.Errorf("home of %d still holds %d statuses", owner, len(home))
			}
		}
		a, _ := tx.Account(alice.ID)
		if a.StatusesCount != 0 {
			t.Errorf("alice's statuses count %d after her boost went", a.StatusesCount)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteStatus_likesGoAndBookmarksAreSkipped: a deleted status takes
// its likes with it, and a bookmark of it (bookmarks keep no reverse
// index) is skipped by the bookmark pages rather than failing them.
func TestDeleteStatus_likesGoAndBookmarksAreSkipped(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test")
	gone := &Status{ID: s.NewID(), URI: "https://b.test/notes/gone", AccountID: bob.ID, Visibility: VisibilityPublic, CreatedAt: time.Now()}
	kept := &Status{ID: s.NewID(), URI: "https://b.test/notes/kept", AccountID: bob.ID, Visibility: VisibilityPublic, CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []*Account{alice, bob} {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
		}
		for _, st := range []*Status{gone, kept} {
			if err := tx.CreateStatus(st); err != nil {
				return err
			}
			if err := tx.PutFavourite(alice.ID, st.ID, st.URI+"#like"); err != nil {
				return err
			}
			if err := tx.PutBookmark(alice.ID, st.ID); err != nil {
				return err
			}
		}
		return tx.DeleteStatus(gone.ID, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error {
		liked, err := tx.FavouritedStatuses(alice.ID, Page{})
		if err != nil {
			return err
		}
		if len(liked) != 1 || liked[0].ID != kept.ID {
			t.Errorf("liked statuses after the delete: %d", len(liked))
		}
		if _, _, err := tx.FavouriteByURI(gone.URI + "#like"); !errors.Is(err, ErrNotFound) {
			t.Errorf("like of the deleted status still indexed: %v", err)
		}
		marked, err := tx.BookmarkedStatuses(alice.ID, Page{})
		if err != nil {
			return err
		}
		if len(marked) != 1 || marked[0].ID != kept.ID {
			t.Errorf("bookmarked statuses after the delete: %d", len(marked))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
