package storage

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestPushSubscriptions stores subscriptions for two accounts with
// adjacent IDs and checks lookups, listing, replacement and deletion,
// including deletion through DeleteToken.
func TestPushSubscriptions(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := s.NewID(), s.NewID() // adjacent keys: listing must not run over
	tok1, tok2, tok3 := SecretHash("tok1"), SecretHash("tok2"), SecretHash("tok3")
	sub := func(account ID, token []byte, endpoint string) *PushSubscription {
		return &PushSubscription{ID: s.NewID(), AccountID: account, TokenHash: token, Endpoint: endpoint,
			P256dh: "key", Auth: "auth", Alerts: []string{NotifyMention, NotifyFollow}, Policy: "all",
			CreatedAt: time.Now().UTC().Truncate(time.Second)}
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, tok := range []*Token{
			{Hash: tok1, AppID: 1, AccountID: alice},
			{Hash: tok2, AppID: 1, AccountID: alice},
			{Hash: tok3, AppID: 1, AccountID: bob},
			{Hash: SecretHash("app"), AppID: 1}, // client_credentials: no account
		} {
			if err := tx.PutToken(tok); err != nil {
				return err
			}
		}
		for _, p := range []*PushSubscription{
			sub(alice, tok1, "https://push.test/a1"),
			sub(alice, tok2, "https://push.test/a2"),
			sub(bob, tok3, "https://push.test/b3"),
		} {
			if err := tx.PutPushSubscription(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	endpointsOf := func(account ID) []string {
		t.Helper()
		var out []string
		if err := s.View(func(tx *Tx) error {
			subs, err := tx.PushSubscriptionsOf(account)
			for _, p := range subs {
				if p.AccountID != account {
					t.Errorf("subscription of %s listed for %s", p.AccountID, account)
				}
				out = append(out, p.Endpoint)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	endpoint := func(account ID, token []byte) string { // "" when not found
		t.Helper()
		var p *PushSubscription
		err := s.View(func(tx *Tx) error {
			var err error
			p, err = tx.PushSubscription(account, token)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.Endpoint
	}

	// A stored subscription reads back whole.
	if err := s.View(func(tx *Tx) error {
		p, err := tx.PushSubscription(alice, tok1)
		if err != nil {
			return err
		}
		if p.AccountID != alice || string(p.TokenHash) != string(tok1) || p.P256dh != "key" || p.Auth != "auth" ||
			p.Policy != "all" || p.CreatedAt.IsZero() {
			t.Errorf("read back %+v", p)
		}
		if !p.Wants(NotifyMention) || p.Wants(NotifyFavourite) {
			t.Errorf("Wants: mention %t, favourite %t; want true, false", p.Wants(NotifyMention), p.Wants(NotifyFavourite))
		}
		// The key is account and token: another account finds nothing.
		if _, err := tx.PushSubscription(bob, tok1); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob's lookup of alice's token: %v, want ErrNotFound", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		fn   func(tx *Tx) error
		// wanted endpoints per token ("" for none) and per account listing
		alice1, alice2, bob3 string
		aliceAll, bobAll     []string
	}{
		{"as stored", func(tx *Tx) error { return nil },
			"https://push.test/a1", "https://push.test/a2", "https://push.test/b3",
			[]string{"https://push.test/a1", "https://push.test/a2"}, []string{"https://push.test/b3"}},
		{"a token's subscription replaced", func(tx *Tx) error { return tx.PutPushSubscription(sub(alice, tok1, "https://push.test/a1-new")) },
			"https://push.test/a1-new", "https://push.test/a2", "https://push.test/b3",
			[]string{"https://push.test/a1-new", "https://push.test/a2"}, []string{"https://push.test/b3"}},
		{"revoking tok1 takes its subscription only", func(tx *Tx) error { return tx.DeleteToken(tok1) },
			"", "https://push.test/a2", "https://push.test/b3",
			[]string{"https://push.test/a2"}, []string{"https://push.test/b3"}},
		{"revoking an app token or an unknown token is fine", func(tx *Tx) error {
			if err := tx.DeleteToken(SecretHash("app")); err != nil {
				return err
			}
			return tx.DeleteToken(SecretHash("never issued"))
		},
			"", "https://push.test/a2", "https://push.test/b3",
			[]string{"https://push.test/a2"}, []string{"https://push.test/b3"}},
		{"tok2's subscription deleted", func(tx *Tx) error { return tx.DeletePushSubscription(alice, tok2) },
			"", "", "https://push.test/b3",
			nil, []string{"https://push.test/b3"}},
		{"deleting it again is fine", func(tx *Tx) error { return tx.DeletePushSubscription(alice, tok2) },
			"", "", "https://push.test/b3",
			nil, []string{"https://push.test/b3"}},
		{"revoking bob's token", func(tx *Tx) error { return tx.DeleteToken(tok3) },
			"", "", "", nil, nil},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			if err := s.Update(ctx, st.fn); err != nil {
				t.Fatal(err)
			}
			if got := endpoint(alice, tok1); got != st.alice1 {
				t.Errorf("alice tok1: %q, want %q", got, st.alice1)
			}
			if got := endpoint(alice, tok2); got != st.alice2 {
				t.Errorf("alice tok2: %q, want %q", got, st.alice2)
			}
			if got := endpoint(bob, tok3); got != st.bob3 {
				t.Errorf("bob tok3: %q, want %q", got, st.bob3)
			}
			if got := endpointsOf(alice); !slices.Equal(got, st.aliceAll) {
				t.Errorf("alice's subscriptions: %v, want %v", got, st.aliceAll)
			}
			if got := endpointsOf(bob); !slices.Equal(got, st.bobAll) {
				t.Errorf("bob's subscriptions: %v, want %v", got, st.bobAll)
			}
		})
		if !ok {
			t.FailNow()
		}
	}
}
