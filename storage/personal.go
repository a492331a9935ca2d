package storage

// Bookmarks, mutes and pins are one account's own marks on statuses and
// accounts, kept as owner‖target keys.

// PutBookmark bookmarks a status for account.
func (tx *Tx) PutBookmark(account, status ID) error {
	return tx.putPair(bucketBookmarks, account, status)
}

// DeleteBookmark removes a bookmark; a missing one is fine.
func (tx *Tx) DeleteBookmark(account, status ID) error {
	return tx.deletePair(bucketBookmarks, account, status)
}

// Bookmarked reports whether account bookmarked status.
func (tx *Tx) Bookmarked(account, status ID) (bool, error) {
	return tx.hasPair(bucketBookmarks, account, status)
}

// BookmarkedStatuses returns a page of the statuses account bookmarked,
// by status ID, newest first.
func (tx *Tx) BookmarkedStatuses(account ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketBookmarks, account, p)
}

// PutMute mutes an account for muter.
func (tx *Tx) PutMute(muter, muted ID) error { return tx.putPair(bucketMutes, muter, muted) }

// DeleteMute lifts a mute; a missing one is fine.
func (tx *Tx) DeleteMute(muter, muted ID) error { return tx.deletePair(bucketMutes, muter, muted) }

// Mutes reports whether muter mutes muted.
func (tx *Tx) Mutes(muter, muted ID) (bool, error) { return tx.hasPair(bucketMutes, muter, muted) }

// MutedBy returns the accounts muter mutes, below before, highest first.
func (tx *Tx) MutedBy(muter, before ID, limit int) ([]ID, error) {
	return tx.pairIDsBelow(bucketMutes, muter, before, limit)
}

// PutPin pins one of account's statuses to its profile.
func (tx *Tx) PutPin(account, status ID) error { return tx.putPair(bucketPins, account, status) }

// DeletePin unpins a status; a missing pin is fine.
func (tx *Tx) DeletePin(account, status ID) error { return tx.deletePair(bucketPins, account, status) }

// Pinned reports whether account pinned status.
func (tx *Tx) Pinned(account, status ID) (bool, error) {
	return tx.hasPair(bucketPins, account, status)
}

// Pins returns account's pinned status IDs, newest first.
func (tx *Tx) Pins(account ID, limit int) ([]ID, error) {
	return tx.pairIDsBelow(bucketPins, account, 0, limit)
}

func (tx *Tx) hasPair(bucket []byte, a, b ID) (bool, error) {
	bk, err := tx.bucket(bucket)
	if err != nil {
		return false, err
	}
	return bk.Get(pairKey(a, b)) != nil, nil
}
