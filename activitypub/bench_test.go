package activitypub

import (
	"fmt"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// BenchmarkPostStatus_fanOut measures publishing one public post by an
// account with 1,000 remote followers spread over 100 hosts with shared
// inboxes: the status is stored and 100 deliveries (one per host) queued,
// all in one transaction.
func BenchmarkPostStatus_fanOut(b *testing.B) {
	in := newTestInstance(b)
	ctx := b.Context()
	la, err := in.CreateAccount(ctx, NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	alice := la.Account
	if err := in.store.Update(ctx, func(tx *storage.Tx) error {
		for i := range 1000 {
			host := fmt.Sprintf("h%d.test", i%100)
			uri := fmt.Sprintf("https://%s/users/u%d", host, i)
			a := &storage.Account{ID: in.store.NewID(), URI: uri, Username: fmt.Sprintf("u%d", i), Domain: host,
				ActorType: "Person", InboxURI: uri + "/inbox", SharedInboxURI: "https://" + host + "/inbox",
				CreatedAt: time.Now(), FetchedAt: time.Now()}
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
			if err := tx.PutFollow(&storage.Follow{FollowerID: a.ID, FollowedID: alice.ID, URI: uri + "#f", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := in.store.View(func(tx *storage.Tx) error {
		alice, err = tx.Account(alice.ID)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.PostStatus(ctx, alice, Draft{Text: "hello #everyone"}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var pending int
	_ = in.store.View(func(tx *storage.Tx) error { pending, err = tx.PendingDeliveries(); return err })
	if pending != 100*b.N {
		b.Fatalf("%d deliveries queued for %d posts, want 100 each (one per host)", pending, b.N)
	}
}
