package storage

import (
	"errors"
	"testing"
	"time"
)

func TestFollows_countsAndIndexes(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob, carol := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test"), testAccount(s, "carol", "c.test")
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []*Account{alice, bob, carol} {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	counts := func() [4]int64 {
		t.Helper()
		var c [4]int64
		if err := s.View(func(tx *Tx) error {
			a, _ := tx.Account(alice.ID)
			b, _ := tx.Account(bob.ID)
			c = [4]int64{a.FollowersCount, a.FollowingCount, b.FollowersCount, b.FollowingCount}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	steps := []struct {
		name string
		do   func(tx *Tx) error
		want [4]int64 // alice followers, alice following, bob followers, bob following
	}{
		{"bob requests to follow alice", func(tx *Tx) error {
			return tx.PutFollow(&Follow{FollowerID: bob.ID, FollowedID: alice.ID, URI: "https://b.test/f/1", Pending: true, CreatedAt: time.Now()})
		}, [4]int64{0, 0, 0, 0}},
		{"alice accepts", func(tx *Tx) error {
			f, err := tx.FollowByURI("https://b.test/f/1")
			if err != nil {
				return err
			}
			f.Pending = false
			return tx.PutFollow(f)
		}, [4]int64{1, 0, 0, 1}},
		{"accepting twice counts once", func(tx *Tx) error {
			f, err := tx.Follow(bob.ID, alice.ID)
			if err != nil {
				return err
			}
			return tx.PutFollow(f)
		}, [4]int64{1, 0, 0, 1}},
		{"alice follows bob", func(tx *Tx) error {
			return tx.PutFollow(&Follow{FollowerID: alice.ID, FollowedID: bob.ID, URI: "https://a.test/f/2"})
		}, [4]int64{1, 1, 1, 1}},
		{"bob unfollows", func(tx *Tx) error { return tx.DeleteFollow(bob.ID, alice.ID) }, [4]int64{0, 1, 1, 0}},
		{"unfollowing again is harmless", func(tx *Tx) error { return tx.DeleteFollow(bob.ID, alice.ID) }, [4]int64{0, 1, 1, 0}},
	}
	for _, st := range steps {
		if err := s.Update(ctx, st.do); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := counts(); got != st.want {
			t.Fatalf("%s: counts %v, want %v", st.name, got, st.want)
		}
	}
	if err := s.View(func(tx *Tx) error {
		if _, err := tx.FollowByURI("https://b.test/f/1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted follow still indexed by URI: %v", err)
		}
		var followers []ID
		if err := tx.ForEachFollower(bob.ID, func(f *Follow) error { followers = append(followers, f.FollowerID); return nil }); err != nil {
			return err
		}
		if len(followers) != 1 || followers[0] != alice.ID {
			t.Errorf("bob's followers %v", followers)
		}
		var following []ID
		if err := tx.ForEachFollowing(alice.ID, func(f *Follow) error { following = append(following, f.FollowedID); return nil }); err != nil {
			return err
		}
		if len(following) != 1 || following[0] != bob.ID {
			t.Errorf("alice follows %v", following)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
