package storage

import "fmt"

// PutFavourite records that account liked status, by the Like activity
// uri, and counts it. Liking twice counts once.
func (tx *Tx) PutFavourite(account, status ID, uri string) error {
	return tx.putRelation(bucketFavourites, bucketFavouritesURI, account, status, uri, func(delta int64) error {
		if err := tx.putPair(bucketFavouritedBy, status, account); err != nil {
			return err
		}
		return tx.bumpStatus(status, func(s *Status) { s.FavouritesCount = max(0, s.FavouritesCount+delta) })
	})
}

// DeleteFavourite removes a like; removing one that does not exist is not
// an error.
func (tx *Tx) DeleteFavourite(account, status ID) error {
	return tx.deleteRelation(bucketFavourites, bucketFavouritesURI, account, status, func(delta int64) error {
		if err := tx.deletePair(bucketFavouritedBy, status, account); err != nil {
			return err
		}
		return tx.bumpStatus(status, func(s *Status) { s.FavouritesCount = max(0, s.FavouritesCount+delta) })
	})
}

// FavouritedBy returns the IDs of the accounts that liked a status.
func (tx *Tx) FavouritedBy(status ID) ([]ID, error) {
	return tx.pairIDs(bucketFavouritedBy, status)
}

// FavouritedStatuses returns a page of the statuses account liked, by
// status ID, newest first.
func (tx *Tx) FavouritedStatuses(account ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketFavourites, account, p)
}

// BlockedBy returns the IDs of the accounts blocker blocks, below before
// (0: no bound), highest first, at most limit.
func (tx *Tx) BlockedBy(blocker, before ID, limit int) ([]ID, error) {
	return tx.pairIDsBelow(bucketBlocks, blocker, before, limit)
}

// Favourite returns the Like activity id of account's like of status.
func (tx *Tx) Favourite(account, status ID) (string, error) {
	return tx.relation(bucketFavourites, account, status)
}

// FavouriteByURI returns the account and status of a Like activity.
func (tx *Tx) FavouriteByURI(uri string) (account, status ID, err error) {
	return tx.relationByURI(bucketFavouritesURI, uri)
}

// PutBlock records that blocker blocks blocked.
func (tx *Tx) PutBlock(blocker, blocked ID, uri string) error {
	return tx.putRelation(bucketBlocks, bucketBlocksByURI, blocker, blocked, uri, nil)
}

// DeleteBlock lifts a block; lifting one that does not exist is not an
// error.
func (tx *Tx) DeleteBlock(blocker, blocked ID) error {
	return tx.deleteRelation(bucketBlocks, bucketBlocksByURI, blocker, blocked, nil)
}

// Blocks reports whether blocker blocks blocked.
func (tx *Tx) Blocks(blocker, blocked ID) (bool, error) {
	_, err := tx.relation(bucketBlocks, blocker, blocked)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// BlockByURI returns the blocker and blocked of a Block activity.
func (tx *Tx) BlockByURI(uri string) (blocker, blocked ID, err error) {
	return tx.relationByURI(bucketBlocksByURI, uri)
}

// putRelation stores a ← b keyed pair with its activity uri; count is
// called with +1 when the pair is new.
func (tx *Tx) putRelation(bucket, byURI []byte, a, b ID, uri string, count func(int64) error) error {
	rel, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	idx, err := tx.bucket(byURI)
	if err != nil {
		return err
	}
	key := pairKey(a, b)
	old := rel.Get(key)
	if old != nil && string(old) != uri && len(old) > 0 {
		if err := idx.Delete(old); err != nil {
			return err
		}
	}
	if err := rel.Put(key, []byte(uri)); err != nil {
		return err
	}
	if uri != "" {
		if err := idx.Put([]byte(uri), key); err != nil {
			return err
		}
	}
	if old == nil && count != nil {
		return count(1)
	}
	return nil
}

func (tx *Tx) deleteRelation(bucket, byURI []byte, a, b ID, count func(int64) error) error {
	rel, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	idx, err := tx.bucket(byURI)
	if err != nil {
		return err
	}
	key := pairKey(a, b)
	old := rel.Get(key)
	if old == nil {
		return nil
	}
	if len(old) > 0 {
		if err := idx.Delete(old); err != nil {
			return err
		}
	}
	if err := rel.Delete(key); err != nil {
		return err
	}
	if count != nil {
		return count(-1)
	}
	return nil
}

func (tx *Tx) relation(bucket []byte, a, b ID) (string, error) {
	rel, err := tx.bucket(bucket)
	if err != nil {
		return "", err
	}
	v := rel.Get(pairKey(a, b))
	if v == nil {
		return "", fmt.Errorf("%s %s→%s: %w", bucket, a, b, ErrNotFound)
	}
	return string(v), nil
}

func (tx *Tx) relationByURI(byURI []byte, uri string) (ID, ID, error) {
	idx, err := tx.bucket(byURI)
	if err != nil {
		return 0, 0, err
	}
	k := idx.Get([]byte(uri))
	if k == nil {
		return 0, 0, fmt.Errorf("%s %s: %w", byURI, uri, ErrNotFound)
	}
	a, b := splitPairKey(k)
	return a, b, nil
}

// BlockByURIOf returns the Block activity id of blocker's block of
// blocked, or "" when there is none.
func (tx *Tx) BlockByURIOf(blocker, blocked ID) (string, bool, error) {
	uri, err := tx.relation(bucketBlocks, blocker, blocked)
	if isNotFound(err) {
		return "", false, nil
	}
	return uri, err == nil, err
}

// DeleteFavouritesBy removes every like an account made, as when the
// account is deleted.
func (tx *Tx) DeleteFavouritesBy(account ID) error {
	rel, err := tx.bucket(bucketFavourites)
	if err != nil {
		return err
	}
	var statuses []ID
	prefix := account.Key()
	c := rel.Cursor()
	for k, _ := c.Seek(prefix); len(k) == 16 && string(k[:8]) == string(prefix); k, _ = c.Next() {
		_, s := splitPairKey(k)
		statuses = append(statuses, s)
	}
	for _, s := range statuses {
		if err := tx.DeleteFavourite(account, s); err != nil {
			return err
		}
	}
	return nil
}
