package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestStatuses_createPageDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test")
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateAccount(alice); err != nil {
			return err
		}
		return tx.CreateAccount(bob)
	}); err != nil {
		t.Fatal(err)
	}
	var ids []ID
	for i := range 5 {
		st := &Status{ID: s.NewID(), URI: fmt.Sprintf("https://b.test/notes/%d", i), AccountID: bob.ID,
			Content: fmt.Sprintf("<p>%d</p>", i), Visibility: VisibilityPublic, HomeOf: []ID{alice.ID}, CreatedAt: time.Now()}
		if i > 0 {
			st.InReplyToID = ids[0]
		}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateStatus(st) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	local := &Status{ID: s.NewID(), URI: "https://a.test/users/alice/statuses/1", AccountID: alice.ID, Local: true,
		Visibility: VisibilityPublic, HomeOf: []ID{alice.ID}, CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateStatus(local) }); err != nil {
		t.Fatal(err)
	}
	page := func(p Page) []ID {
		t.Helper()
		var got []ID
		if err := s.View(func(tx *Tx) error {
			sts, err := tx.HomeTimeline(alice.ID, p)
			for _, st := range sts {
				got = append(got, st.ID)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name string
		p    Page
		want []ID
	}{
		{"newest first", Page{Limit: 3}, []ID{local.ID, ids[4], ids[3]}},
		{"max_id", Page{MaxID: ids[3], Limit: 2}, []ID{ids[2], ids[1]}},
		{"min_id", Page{MinID: ids[2], Limit: 10}, []ID{local.ID, ids[4], ids[3]}},
		{"max and min", Page{MaxID: ids[4], MinID: ids[1], Limit: 10}, []ID{ids[3], ids[2]}},
		{"max_id beyond all", Page{MaxID: local.ID + 1000, Limit: 1}, []ID{local.ID}},
		{"nothing older", Page{MaxID: ids[0], Limit: 5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := page(tt.p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	check := func(wantBobStatuses, wantLocal, wantReplies int64) {
		t.Helper()
		if err := s.View(func(tx *Tx) error {
			b, _ := tx.Account(bob.ID)
			n, _ := tx.Counter(CounterLocalStatuses)
			parent, err := tx.Status(ids[0])
			if err != nil {
				return err
			}
			if b.StatusesCount != wantBobStatuses || n != wantLocal || parent.RepliesCount != wantReplies {
				t.Errorf("bob statuses %d, local statuses %d, replies %d; want %d, %d, %d",
					b.StatusesCount, n, parent.RepliesCount, wantBobStatuses, wantLocal, wantReplies)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	check(5, 1, 4)
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteStatus(ids[4], time.Now()) }); err != nil {
		t.Fatal(err)
	}
	check(4, 1, 3)
	if got := page(Page{Limit: 2}); fmt.Sprint(got) != fmt.Sprint([]ID{local.ID, ids[3]}) {
		t.Fatalf("home after delete: %v", got)
	}
	// The deleted URI cannot come back.
	again := &Status{ID: s.NewID(), URI: "https://b.test/notes/4", AccountID: bob.ID, Visibility: VisibilityPublic}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateStatus(again) }); !errors.Is(err, ErrExists) {
		t.Fatalf("re-creating a deleted status: %v, want ErrExists", err)
	}
	if err := s.View(func(tx *Tx) error {
		if _, err := tx.StatusByURI("https://b.test/notes/4"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted status still found by URI: %v", err)
		}
		gone, err := tx.Deleted("https://b.test/notes/4")
		if err != nil || !gone {
			t.Errorf("tombstone: %v, %v", gone, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStatuses_tagAndMentionIndexes(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test")
	st := &Status{ID: s.NewID(), URI: "https://b.test/notes/t", AccountID: bob.ID, Visibility: VisibilityPublic,
		Tags: []string{"go", "golang"}, Mentions: []ID{alice.ID}, CreatedAt: time.Now()}
	other := &Status{ID: s.NewID(), URI: "https://b.test/notes/u", AccountID: bob.ID, Visibility: VisibilityPublic,
		Tags: []string{"gopher"}, CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, a := range []*Account{alice, bob} {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
		}
		if err := tx.CreateStatus(st); err != nil {
			return err
		}
		return tx.CreateStatus(other)
	}); err != nil {
		t.Fatal(err)
	}
	lookup := func() (goTag, gopher []*Status, mentions []*Status) {
		t.Helper()
		if err := s.View(func(tx *Tx) error {
			var err error
			if goTag, err = tx.TagTimeline("go", Page{}); err != nil {
				return err
			}
			if gopher, err = tx.TagTimeline("gopher", Page{}); err != nil {
				return err
			}
			mentions, err = tx.MentionsOf(alice.ID, Page{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	goTag, gopher, mentions := lookup()
	if len(goTag) != 1 || goTag[0].ID != st.ID || len(gopher) != 1 || len(mentions) != 1 {
		t.Fatalf("#go %d, #gopher %d, mentions %d; want 1 each (and #go must not match #golang or #gopher)", len(goTag), len(gopher), len(mentions))
	}
	// An edit that drops #go and the mention takes them out of the indexes.
	edited := *st
	edited.Tags, edited.Mentions = []string{"golang"}, nil
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutStatus(&edited) }); err != nil {
		t.Fatal(err)
	}
	if goTag, _, mentions := lookup(); len(goTag) != 0 || len(mentions) != 0 {
		t.Fatalf("after the edit: #go %d, mentions %d; want 0", len(goTag), len(mentions))
	}
}
