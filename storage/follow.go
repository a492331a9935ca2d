package storage

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Follow is one account following another. A follow of a locked account
// stays Pending until the followed account accepts it.
type Follow struct {
	FollowerID ID        `json:"follower_id"`
	FollowedID ID        `json:"followed_id"`
	URI        string    `json:"uri"` // the Follow activity's id
	Pending    bool      `json:"pending,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// Notify and HideReblogs are the follower's own preferences: be
	// notified of each post; keep the account's boosts out of home.
	Notify      bool `json:"notify,omitempty"`
	HideReblogs bool `json:"hide_reblogs,omitempty"`
}

func pairKey(a, b ID) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(a))
	return binary.BigEndian.AppendUint64(k, uint64(b))
}

func splitPairKey(k []byte) (ID, ID) {
	if len(k) != 16 {
		return 0, 0
	}
	return ID(binary.BigEndian.Uint64(k[:8])), ID(binary.BigEndian.Uint64(k[8:]))
}

// PutFollow creates or updates a follow, keeping both accounts' follower
// and following counts in step with accepted follows.
func (tx *Tx) PutFollow(f *Follow) error {
	follows, err := tx.bucket(bucketFollows)
	if err != nil {
		return err
	}
	followersOf, err := tx.bucket(bucketFollowersOf)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketFollowsByURI)
	if err != nil {
		return err
	}
	key := pairKey(f.FollowerID, f.FollowedID)
	wasAccepted := false
	var old Follow
	if err := getJSON(follows, key, &old); err == nil {
		wasAccepted = !old.Pending
		if old.URI != f.URI && old.URI != "" {
			if err := byURI.Delete([]byte(old.URI)); err != nil {
				return err
			}
		}
	}
	if err := putJSON(follows, key, f); err != nil {
		return err
	}
	if err := followersOf.Put(pairKey(f.FollowedID, f.FollowerID), nil); err != nil {
		return err
	}
	if f.URI != "" {
		if err := byURI.Put([]byte(f.URI), key); err != nil {
			return err
		}
	}
	if nowAccepted := !f.Pending; nowAccepted != wasAccepted {
		delta := int64(1)
		if !nowAccepted {
			delta = -1
		}
		return tx.countFollow(f.FollowerID, f.FollowedID, delta)
	}
	return nil
}

// countFollow adds delta to the follower's following count and the
// followed account's followers count.
func (tx *Tx) countFollow(followerID, followedID ID, delta int64) error {
	follower, err := tx.Account(followerID)
	if err != nil {
		return err
	}
	follower.FollowingCount = max(0, follower.FollowingCount+delta)
	if err := tx.PutAccount(follower); err != nil {
		return err
	}
	followed, err := tx.Account(followedID)
	if err != nil {
		return err
	}
	followed.FollowersCount = max(0, followed.FollowersCount+delta)
	return tx.PutAccount(followed)
}

// Follow returns the follow of followed by follower, pending or not.
func (tx *Tx) Follow(followerID, followedID ID) (*Follow, error) {
	follows, err := tx.bucket(bucketFollows)
	if err != nil {
		return nil, err
	}
	var f Follow
	if err := getJSON(follows, pairKey(followerID, followedID), &f); err != nil {
		return nil, fmt.Errorf("follow %s→%s: %w", followerID, followedID, err)
	}
	return &f, nil
}

// FollowByURI returns the follow made by the Follow activity uri.
func (tx *Tx) FollowByURI(uri string) (*Follow, error) {
	byURI, err := tx.bucket(bucketFollowsByURI)
	if err != nil {
		return nil, err
	}
	key := byURI.Get([]byte(uri))
	if key == nil {
		return nil, fmt.Errorf("follow %s: %w", uri, ErrNotFound)
	}
	follower, followed := splitPairKey(key)
	return tx.Follow(follower, followed)
}

// DeleteFollow removes a follow, pending or accepted. Deleting one that
// does not exist is not an error.
func (tx *Tx) DeleteFollow(followerID, followedID ID) error {
	f, err := tx.Follow(followerID, followedID)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	follows, err := tx.bucket(bucketFollows)
	if err != nil {
		return err
	}
	followersOf, err := tx.bucket(bucketFollowersOf)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketFollowsByURI)
	if err != nil {
		return err
	}
	if err := follows.Delete(pairKey(followerID, followedID)); err != nil {
		return err
	}
	if err := followersOf.Delete(pairKey(followedID, followerID)); err != nil {
		return err
	}
	if f.URI != "" {
		if err := byURI.Delete([]byte(f.URI)); err != nil {
			return err
		}
	}
	if !f.Pending {
		return tx.countFollow(followerID, followedID, -1)
	}
	return nil
}

// ForEachFollower calls fn for every follow of accountID (pending ones
// too), oldest follower account first.
func (tx *Tx) ForEachFollower(accountID ID, fn func(*Follow) error) error {
	followersOf, err := tx.bucket(bucketFollowersOf)
	if err != nil {
		return err
	}
	prefix := accountID.Key()
	c := followersOf.Cursor()
	for k, _ := c.Seek(prefix); len(k) == 16 && string(k[:8]) == string(prefix); k, _ = c.Next() {
		_, follower := splitPairKey(k)
		f, err := tx.Follow(follower, accountID)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// ForEachFollowing calls fn for every follow made by accountID (pending
// ones too).
func (tx *Tx) ForEachFollowing(accountID ID, fn func(*Follow) error) error {
	follows, err := tx.bucket(bucketFollows)
	if err != nil {
		return err
	}
	prefix := accountID.Key()
	c := follows.Cursor()
	for k, v := c.Seek(prefix); len(k) == 16 && string(k[:8]) == string(prefix); k, v = c.Next() {
		var f Follow
		if err := decodeJSON(v, &f); err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

// FollowersPage returns accepted follows of accountID whose follower ID is
// below before (0: no bound), highest ID first, at most limit.
func (tx *Tx) FollowersPage(accountID, before ID, limit int) ([]*Follow, error) {
	return tx.followPage(bucketFollowersOf, accountID, before, limit, func(other ID) (*Follow, error) {
		return tx.Follow(other, accountID)
	})
}

// FollowingPage returns accepted follows by accountID whose followed ID is
// below before (0: no bound), highest ID first, at most limit.
func (tx *Tx) FollowingPage(accountID, before ID, limit int) ([]*Follow, error) {
	return tx.followPage(bucketFollows, accountID, before, limit, func(other ID) (*Follow, error) {
		return tx.Follow(accountID, other)
	})
}

func (tx *Tx) followPage(bucket []byte, owner, before ID, limit int, load func(ID) (*Follow, error)) ([]*Follow, error) {
	b, err := tx.bucket(bucket)
	if err != nil {
		return nil, err
	}
	if before == 0 {
		before = ID(^uint64(0))
	}
	prefix := owner.Key()
	c := b.Cursor()
	k, _ := c.Seek(pairKey(owner, before))
	if k == nil || string(k[:8]) != string(prefix) || idFromKey(k[8:]) >= before {
		k, _ = c.Prev()
	}
	var out []*Follow
	for ; k != nil && string(k[:8]) == string(prefix) && len(out) < limit; k, _ = c.Prev() {
		f, err := load(idFromKey(k[8:]))
		if err != nil {
			return nil, err
		}
		if !f.Pending {
			out = append(out, f)
		}
	}
	return out, nil
}
