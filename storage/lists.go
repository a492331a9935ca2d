package storage

import (
	"bytes"
	"fmt"
	"time"
)

// List is a user's named group of followed accounts, with its own
// timeline.
type List struct {
	ID            ID     `json:"id"`
	OwnerID       ID     `json:"owner_id"`
	Title         string `json:"title"`
	RepliesPolicy string `json:"replies_policy"` // followed, list or none
	Exclusive     bool   `json:"exclusive,omitempty"`
}

// PutList creates or replaces a list.
func (tx *Tx) PutList(l *List) error {
	lists, err := tx.bucket(bucketLists)
	if err != nil {
		return err
	}
	if err := putJSON(lists, l.ID.Key(), l); err != nil {
		return err
	}
	return tx.putPair(bucketListsByOwner, l.OwnerID, l.ID)
}

// List returns a list by ID.
func (tx *Tx) List(id ID) (*List, error) {
	lists, err := tx.bucket(bucketLists)
	if err != nil {
		return nil, err
	}
	var l List
	if err := getJSON(lists, id.Key(), &l); err != nil {
		return nil, fmt.Errorf("list %s: %w", id, err)
	}
	return &l, nil
}

// DeleteList removes a list and its members.
func (tx *Tx) DeleteList(id ID) error {
	l, err := tx.List(id)
	if err != nil {
		return err
	}
	members, err := tx.ListMembers(id)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := tx.deletePair(bucketListMembers, id, m); err != nil {
			return err
		}
	}
	lists, err := tx.bucket(bucketLists)
	if err != nil {
		return err
	}
	if err := lists.Delete(id.Key()); err != nil {
		return err
	}
	return tx.deletePair(bucketListsByOwner, l.OwnerID, id)
}

// ListsOf returns an owner's lists, oldest first.
func (tx *Tx) ListsOf(owner ID) ([]*List, error) {
	ids, err := tx.pairIDs(bucketListsByOwner, owner)
	if err != nil {
		return nil, err
	}
	var out []*List
	for _, id := range ids {
		l, err := tx.List(id)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// AddListMember and RemoveListMember change a list's accounts.
func (tx *Tx) AddListMember(list, account ID) error {
	return tx.putPair(bucketListMembers, list, account)
}

// RemoveListMember takes an account off a list; a missing one is fine.
func (tx *Tx) RemoveListMember(list, account ID) error {
	return tx.deletePair(bucketListMembers, list, account)
}

// ListMembers returns the accounts on a list.
func (tx *Tx) ListMembers(list ID) ([]ID, error) { return tx.pairIDs(bucketListMembers, list) }

// OnList reports whether account is on list.
func (tx *Tx) OnList(list, account ID) (bool, error) {
	return tx.hasPair(bucketListMembers, list, account)
}

// Filter is a user's v2 filter: keywords and statuses hidden or warned
// about in some contexts.
type Filter struct {
	ID        ID              `json:"id"`
	OwnerID   ID              `json:"owner_id"`
	Title     string          `json:"title"`
	Context   []string        `json:"context"` // home, notifications, public, thread, account
	Action    string          `json:"action"`  // warn or hide
	ExpiresAt time.Time       `json:"expires_at,omitzero"`
	Keywords  []FilterKeyword `json:"keywords,omitempty"`
	Statuses  []FilterStatus  `json:"statuses,omitempty"`
}

// FilterKeyword is one keyword of a filter.
type FilterKeyword struct {
	ID        ID     `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// FilterStatus is one status a filter hides.
type FilterStatus struct {
	ID       ID `json:"id"`
	StatusID ID `json:"status_id"`
}

// PutFilter creates or replaces a filter.
func (tx *Tx) PutFilter(f *Filter) error {
	b, err := tx.bucket(bucketFilters)
	if err != nil {
		return err
	}
	return putJSON(b, pairKey(f.OwnerID, f.ID), f)
}

// DeleteFilter removes a filter; a missing one is fine.
func (tx *Tx) DeleteFilter(owner, id ID) error { return tx.deletePair(bucketFilters, owner, id) }

// Filters returns an owner's filters, oldest first.
func (tx *Tx) Filters(owner ID) ([]*Filter, error) {
	b, err := tx.bucket(bucketFilters)
	if err != nil {
		return nil, err
	}
	var out []*Filter
	prefix := owner.Key()
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var f Filter
		if err := decodeJSON(v, &f); err != nil {
			return nil, err
		}
		out = append(out, &f)
	}
	return out, nil
}

// The followed_tags bucket holds two keys per follow: "a" ‖ account ‖ 0 ‖
// tag to list an account's tags, and "t" ‖ tag ‖ 0 ‖ account to find a
// tag's followers when a status arrives.
func followedTagKey(account ID, tag string) []byte {
	return append(append(append([]byte{'a'}, account.Key()...), 0), []byte(tag)...)
}

func tagFollowerKey(tag string, account ID) []byte {
	return append(append(append([]byte{'t'}, []byte(tag)...), 0), account.Key()...)
}

// FollowTag makes an account follow a hashtag.
func (tx *Tx) FollowTag(account ID, tag string) error {
	b, err := tx.bucket(bucketFollowedTags)
	if err != nil {
		return err
	}
	if err := b.Put(followedTagKey(account, tag), nil); err != nil {
		return err
	}
	return b.Put(tagFollowerKey(tag, account), nil)
}

// UnfollowTag stops following a hashtag; a tag not followed is fine.
func (tx *Tx) UnfollowTag(account ID, tag string) error {
	b, err := tx.bucket(bucketFollowedTags)
	if err != nil {
		return err
	}
	if err := b.Delete(followedTagKey(account, tag)); err != nil {
		return err
	}
	return b.Delete(tagFollowerKey(tag, account))
}

// FollowedTags returns the hashtags an account follows.
func (tx *Tx) FollowedTags(account ID) ([]string, error) {
	b, err := tx.bucket(bucketFollowedTags)
	if err != nil {
		return nil, err
	}
	prefix := append(append([]byte{'a'}, account.Key()...), 0)
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out, nil
}

// TagFollowers returns the accounts that follow a hashtag.
func (tx *Tx) TagFollowers(tag string) ([]ID, error) {
	b, err := tx.bucket(bucketFollowedTags)
	if err != nil {
		return nil, err
	}
	prefix := append(append([]byte{'t'}, []byte(tag)...), 0)
	var out []ID
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			out = append(out, idFromKey(k[len(prefix):]))
		}
	}
	return out, nil
}

// FollowsTag reports whether an account follows a hashtag.
func (tx *Tx) FollowsTag(account ID, tag string) (bool, error) {
	b, err := tx.bucket(bucketFollowedTags)
	if err != nil {
		return false, err
	}
	return b.Get(followedTagKey(account, tag)) != nil, nil
}
