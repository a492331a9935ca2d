package storage

import (
	"fmt"
	"slices"
	"time"
)

// PushSubscription is a Web Push subscription: one per access token, as
// in Mastodon. It goes when its token is revoked.
type PushSubscription struct {
	ID ID `json:"id"`
	// Number is the ID apps see: a small number, as Mastodon's (Tusky
	// reads it into a 32-bit integer). Set by PutPushSubscription.
	Number    int64     `json:"number"`
	AccountID ID        `json:"account_id"`
	TokenHash []byte    `json:"token_hash"`
	Endpoint  string    `json:"endpoint"`
	P256dh    string    `json:"p256dh"`
	Auth      string    `json:"auth"`
	Alerts    []string  `json:"alerts,omitempty"` // notification types to push
	Policy    string    `json:"policy"`           // all, followed, follower or none
	CreatedAt time.Time `json:"created_at"`
}

// Wants reports whether the subscription asked for notifications of typ.
func (p *PushSubscription) Wants(typ string) bool { return slices.Contains(p.Alerts, typ) }

func pushKey(account ID, tokenHash []byte) []byte {
	return append(account.Key(), tokenHash...)
}

// counterPushSubscriptions numbers push subscriptions.
const counterPushSubscriptions = "push_subscriptions_made"

// PutPushSubscription creates or replaces the subscription of a token; a
// replacement keeps its number, a new one takes the next.
func (tx *Tx) PutPushSubscription(p *PushSubscription) error {
	b, err := tx.bucket(bucketPushSubs)
	if err != nil {
		return err
	}
	// Number from what is stored, never from p: a Batch that runs again
	// must take a number again.
	if old, err := tx.PushSubscription(p.AccountID, p.TokenHash); err == nil {
		p.Number = old.Number
	} else if isNotFound(err) {
		n, err := tx.Counter(counterPushSubscriptions)
		if err != nil {
			return err
		}
		if err := tx.addCounter(counterPushSubscriptions, 1); err != nil {
			return err
		}
		p.Number = n + 1
	} else {
		return err
	}
	return putJSON(b, pushKey(p.AccountID, p.TokenHash), p)
}

// PushSubscription returns a token's subscription, or ErrNotFound.
func (tx *Tx) PushSubscription(account ID, tokenHash []byte) (*PushSubscription, error) {
	b, err := tx.bucket(bucketPushSubs)
	if err != nil {
		return nil, err
	}
	var p PushSubscription
	if err := getJSON(b, pushKey(account, tokenHash), &p); err != nil {
		return nil, fmt.Errorf("push subscription: %w", err)
	}
	return &p, nil
}

// DeletePushSubscription removes a token's subscription; removing an
// absent one is not an error.
func (tx *Tx) DeletePushSubscription(account ID, tokenHash []byte) error {
	b, err := tx.bucket(bucketPushSubs)
	if err != nil {
		return err
	}
	return b.Delete(pushKey(account, tokenHash))
}

// PushSubscriptionsOf returns an account's subscriptions.
func (tx *Tx) PushSubscriptionsOf(account ID) ([]*PushSubscription, error) {
	b, err := tx.bucket(bucketPushSubs)
	if err != nil {
		return nil, err
	}
	prefix := account.Key()
	var out []*PushSubscription
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var p PushSubscription
		if err := decodeJSON(v, &p); err != nil {
			return nil, fmt.Errorf("push subscription %x: %w", k, err)
		}
		out = append(out, &p)
	}
	return out, nil
}
