package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	bolt "go.etcd.io/bbolt"
	"slices"
	"time"
)

// Visibility levels of a status, as Mastodon names them.
const (
	VisibilityPublic   = "public"
	VisibilityUnlisted = "unlisted"
	VisibilityPrivate  = "private" // followers only
	VisibilityDirect   = "direct"
)

// Status is a post, local or remote.
type Status struct {
	ID        ID     `json:"id"`
	URI       string `json:"uri"`           // ActivityPub id of the Note
	URL       string `json:"url,omitempty"` // HTML page
	AccountID ID     `json:"account_id"`
	Local     bool   `json:"local,omitempty"`

	Content    string `json:"content"`        // HTML, sanitised
	Text       string `json:"text,omitempty"` // source text of a local status
	Summary    string `json:"summary,omitempty"`
	Sensitive  bool   `json:"sensitive,omitempty"`
	Language   string `json:"language,omitempty"`
	Visibility string `json:"visibility"`

	InReplyToID        ID     `json:"in_reply_to_id,omitempty"`
	InReplyToURI       string `json:"in_reply_to_uri,omitempty"`
	InReplyToAccountID ID     `json:"in_reply_to_account_id,omitempty"`

	Mentions []ID     `json:"mentions,omitempty"`  // mentioned accounts
	Tags     []string `json:"tags,omitempty"`      // hashtags, lower case, without #
	MediaIDs []ID     `json:"media_ids,omitempty"` // attachments, in order
	To       []string `json:"to,omitempty"`
	Cc       []string `json:"cc,omitempty"`

	// HomeOf lists the accounts whose home timelines hold this status, so
	// a delete can take it out of each.
	HomeOf []ID `json:"home_of,omitempty"`

	// ReblogOfID is set on a boost: this status shares that one.
	ReblogOfID ID `json:"reblog_of_id,omitempty"`

	RepliesCount    int64 `json:"replies_count,omitempty"`
	ReblogsCount    int64 `json:"reblogs_count,omitempty"`
	FavouritesCount int64 `json:"favourites_count,omitempty"`

	CreatedAt time.Time    `json:"created_at"`
	EditedAt  time.Time    `json:"edited_at,omitzero"`
	Edits     []StatusEdit `json:"edits,omitempty"` // earlier versions, oldest first
}

// StatusEdit is an earlier version of an edited status.
type StatusEdit struct {
	Content   string    `json:"content"`
	Summary   string    `json:"summary,omitempty"`
	Sensitive bool      `json:"sensitive,omitempty"`
	At        time.Time `json:"at"`
}

// CreateStatus stores a new status with its indexes, counts it for its
// author (and for the instance when local) and for the status it replies
// to, and adds it to the home timelines in s.HomeOf. It fails with
// ErrExists when the ID or URI is taken, or the URI was deleted.
func (tx *Tx) CreateStatus(s *Status) error {
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketStatusesByURI)
	if err != nil {
		return err
	}
	tombstones, err := tx.bucket(bucketTombstones)
	if err != nil {
		return err
	}
	switch {
	case s.ID == 0 || s.URI == "":
		return fmt.Errorf("create status: id and uri are required")
	case statuses.Get(s.ID.Key()) != nil:
		return fmt.Errorf("status id %s: %w", s.ID, ErrExists)
	case byURI.Get([]byte(s.URI)) != nil:
		return fmt.Errorf("status %s: %w", s.URI, ErrExists)
	case tombstones.Get([]byte(s.URI)) != nil:
		return fmt.Errorf("status %s was deleted: %w", s.URI, ErrExists)
	}
	author, err := tx.Account(s.AccountID)
	if err != nil {
		return err
	}
	if err := putJSON(statuses, s.ID.Key(), s); err != nil {
		return err
	}
	if err := byURI.Put([]byte(s.URI), s.ID.Key()); err != nil {
		return err
	}
	if err := tx.putPair(bucketAccountStatus, s.AccountID, s.ID); err != nil {
		return err
	}
	if err := tx.indexTagsAndMentions(s, true); err != nil {
		return err
	}
	for _, owner := range s.HomeOf {
		if err := tx.putPair(bucketHome, owner, s.ID); err != nil {
			return err
		}
	}
	if s.InReplyToID != 0 {
		if err := tx.putPair(bucketReplies, s.InReplyToID, s.ID); err != nil {
			return err
		}
		if err := tx.addReplies(s.InReplyToID, 1); err != nil {
			return err
		}
	}
	if s.ReblogOfID != 0 {
		if err := tx.putPair(bucketReblogs, s.ReblogOfID, s.ID); err != nil {
			return err
		}
		boostsBy, err := tx.bucket(bucketBoostsBy)
		if err != nil {
			return err
		}
		if err := boostsBy.Put(pairKey(s.AccountID, s.ReblogOfID), s.ID.Key()); err != nil {
			return err
		}
		if err := tx.bumpStatus(s.ReblogOfID, func(o *Status) { o.ReblogsCount++ }); err != nil {
			return err
		}
	}
	author.StatusesCount++
	if err := tx.PutAccount(author); err != nil {
		return err
	}
	tx.changed(Change{Kind: StatusCreated, Status: s.clone()})
	if s.Local {
		return tx.addCounter(CounterLocalStatuses, 1)
	}
	return nil
}

// clone copies s for a Change, so later edits to s by its caller do not
// show through.
func (s *Status) clone() *Status {
	c := *s
	c.Mentions, c.Tags, c.MediaIDs = slices.Clone(s.Mentions), slices.Clone(s.Tags), slices.Clone(s.MediaIDs)
	c.To, c.Cc, c.HomeOf, c.Edits = slices.Clone(s.To), slices.Clone(s.Cc), slices.Clone(s.HomeOf), slices.Clone(s.Edits)
	return &c
}

// PutStatus replaces a stored status (an edit). Its ID, URI, author and
// timelines do not change.
func (tx *Tx) PutStatus(s *Status) error {
	old, err := tx.Status(s.ID)
	if err != nil {
		return err
	}
	if old.URI != s.URI || old.AccountID != s.AccountID {
		return fmt.Errorf("put status %s: identity fields changed", s.ID)
	}
	if err := tx.indexTagsAndMentions(old, false); err != nil {
		return err
	}
	if err := tx.indexTagsAndMentions(s, true); err != nil {
		return err
	}
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return err
	}
	tx.changed(Change{Kind: StatusUpdated, Status: s.clone()})
	return putJSON(statuses, s.ID.Key(), s)
}

func (tx *Tx) addReplies(parent ID, delta int64) error {
	return tx.bumpStatus(parent, func(p *Status) { p.RepliesCount = max(0, p.RepliesCount+delta) })
}

// bumpStatus applies change to a stored status's counters; a status that
// is gone is left alone.
func (tx *Tx) bumpStatus(id ID, change func(*Status)) error {
	s, err := tx.Status(id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	change(s)
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return err
	}
	return putJSON(statuses, id.Key(), s)
}

// DeleteStatus removes a status, its indexes and its timeline entries,
// and leaves a tombstone so the same URI cannot be created again.
func (tx *Tx) DeleteStatus(id ID, at time.Time) error {
	s, err := tx.Status(id)
	if err != nil {
		return err
	}
	likers, err := tx.FavouritedBy(id)
	if err != nil {
		return err
	}
	for _, account := range likers {
		if err := tx.DeleteFavourite(account, id); err != nil {
			return err
		}
	}
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketStatusesByURI)
	if err != nil {
		return err
	}
	tombstones, err := tx.bucket(bucketTombstones)
	if err != nil {
		return err
	}
	if err := statuses.Delete(id.Key()); err != nil {
		return err
	}
	if err := byURI.Delete([]byte(s.URI)); err != nil {
		return err
	}
	if err := tombstones.Put([]byte(s.URI), []byte(at.UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	if err := tx.deletePair(bucketAccountStatus, s.AccountID, id); err != nil {
		return err
	}
	if err := tx.deletePair(bucketPins, s.AccountID, id); err != nil {
		return err
	}
	if err := tx.indexTagsAndMentions(s, false); err != nil {
		return err
	}
	for _, owner := range s.HomeOf {
		if err := tx.deletePair(bucketHome, owner, id); err != nil {
			return err
		}
	}
	if s.InReplyToID != 0 {
		if err := tx.deletePair(bucketReplies, s.InReplyToID, id); err != nil {
			return err
		}
		if err := tx.addReplies(s.InReplyToID, -1); err != nil {
			return err
		}
	}
	if s.ReblogOfID != 0 {
		if err := tx.deletePair(bucketReblogs, s.ReblogOfID, id); err != nil {
			return err
		}
		if err := tx.deletePair(bucketBoostsBy, s.AccountID, s.ReblogOfID); err != nil {
			return err
		}
		if err := tx.bumpStatus(s.ReblogOfID, func(o *Status) { o.ReblogsCount = max(0, o.ReblogsCount-1) }); err != nil {
			return err
		}
	}
	// Boosts of a deleted status go with it, from every timeline.
	boosts, err := tx.pairIDs(bucketReblogs, id)
	if err != nil {
		return err
	}
	for _, b := range boosts {
		if err := tx.DeleteStatus(b, at); err != nil && !isNotFound(err) {
			return err
		}
	}
	if err := tx.releaseMedia(s); err != nil {
		return err
	}
	author, err := tx.Account(s.AccountID)
	if err != nil {
		return err
	}
	tx.changed(Change{Kind: StatusDeleted, Status: s})
	author.StatusesCount = max(0, author.StatusesCount-1)
	if err := tx.PutAccount(author); err != nil {
		return err
	}
	if s.Local {
		return tx.addCounter(CounterLocalStatuses, -1)
	}
	return nil
}

// Status returns the status with the given ID.
func (tx *Tx) Status(id ID) (*Status, error) {
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return nil, err
	}
	var s Status
	if err := getJSON(statuses, id.Key(), &s); err != nil {
		return nil, fmt.Errorf("status %s: %w", id, err)
	}
	return &s, nil
}

// StatusByURI returns the status whose ActivityPub id is uri.
func (tx *Tx) StatusByURI(uri string) (*Status, error) {
	byURI, err := tx.bucket(bucketStatusesByURI)
	if err != nil {
		return nil, err
	}
	id := byURI.Get([]byte(uri))
	if id == nil {
		return nil, fmt.Errorf("status %s: %w", uri, ErrNotFound)
	}
	return tx.Status(idFromKey(id))
}

// Deleted reports whether a status with this URI was deleted.
func (tx *Tx) Deleted(uri string) (bool, error) {
	tombstones, err := tx.bucket(bucketTombstones)
	if err != nil {
		return false, err
	}
	return tombstones.Get([]byte(uri)) != nil, nil
}

// Page selects part of a time-ordered list: entries with IDs below MaxID
// (0: no bound) and above MinID, at most Limit of them, newest first.
// With Ascending the Limit entries taken are those just above MinID
// rather than the newest; they are still returned newest first.
type Page struct {
	MaxID, MinID ID
	Limit        int
	Ascending    bool
}

// reverseStatuses turns an oldest-first walk into newest first.
func reverseStatuses(s []*Status) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// HomeTimeline returns a page of an account's home timeline.
func (tx *Tx) HomeTimeline(owner ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketHome, owner, p)
}

// AccountStatuses returns a page of an account's statuses.
func (tx *Tx) AccountStatuses(account ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketAccountStatus, account, p)
}

// Replies returns a page of the direct replies to a status.
func (tx *Tx) Replies(parent ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketReplies, parent, p)
}

// pairPage walks owner‖ID keys newest first within p's bounds.
func (tx *Tx) pairPage(bucket []byte, owner ID, p Page) ([]*Status, error) {
	return tx.prefixPage(bucket, owner.Key(), p)
}

// prefixPage pages through keys made of prefix ‖ status ID: newest first
// below p.MaxID, or with p.Ascending the ones just above p.MinID (still
// returned newest first).
func (tx *Tx) prefixPage(bucket, prefix []byte, p Page) ([]*Status, error) {
	b, err := tx.bucket(bucket)
	if err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		p.Limit = 20
	}
	upper := p.MaxID
	if upper == 0 {
		upper = ID(^uint64(0))
	}
	key := func(id ID) []byte { return append(bytes.Clone(prefix), id.Key()...) }
	c := b.Cursor()
	var out []*Status
	if p.Ascending {
		for k, _ := c.Seek(key(p.MinID + 1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < p.Limit; k, _ = c.Next() {
			id := idFromKey(k[len(prefix):])
			if id >= upper {
				break
			}
			s, err := tx.Status(id)
			if isNotFound(err) {
				continue // an index entry outliving its status (a bookmark)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		reverseStatuses(out)
		return out, nil
	}
	k, _ := c.Seek(key(upper))
	if k == nil || !bytes.HasPrefix(k, prefix) || idFromKey(k[len(prefix):]) >= upper {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < p.Limit; k, _ = c.Prev() {
		id := idFromKey(k[len(prefix):])
		if id <= p.MinID {
			break
		}
		s, err := tx.Status(id)
		if isNotFound(err) {
			continue // an index entry outliving its status (a bookmark)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (tx *Tx) putPair(bucket []byte, a, b ID) error {
	bk, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	return bk.Put(pairKey(a, b), nil)
}

func (tx *Tx) deletePair(bucket []byte, a, b ID) error {
	bk, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	return bk.Delete(pairKey(a, b))
}

// AddToHome puts an existing status into more home timelines.
func (tx *Tx) AddToHome(id ID, owners ...ID) error {
	s, err := tx.Status(id)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if err := tx.putPair(bucketHome, o, id); err != nil {
			return err
		}
		if !slices.Contains(s.HomeOf, o) {
			s.HomeOf = append(s.HomeOf, o)
		}
	}
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return err
	}
	return putJSON(statuses, id.Key(), s)
}

// tagKey is the index key of a status under a hashtag: the tag, a zero
// byte (tags never contain one), and the status ID.
func tagKey(tag string, id ID) []byte {
	k := append([]byte(tag), 0)
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

// indexTagsAndMentions adds (or with add false removes) a status's entries
// in the hashtag and mention indexes.
func (tx *Tx) indexTagsAndMentions(s *Status, add bool) error {
	tags, err := tx.bucket(bucketTagStatuses)
	if err != nil {
		return err
	}
	mentions, err := tx.bucket(bucketMentions)
	if err != nil {
		return err
	}
	set := func(b *bolt.Bucket, key []byte) error {
		if add {
			return b.Put(key, nil)
		}
		return b.Delete(key)
	}
	for _, tag := range s.Tags {
		if err := set(tags, tagKey(tag, s.ID)); err != nil {
			return err
		}
	}
	for _, m := range s.Mentions {
		if err := set(mentions, pairKey(m, s.ID)); err != nil {
			return err
		}
	}
	return nil
}

// TagTimeline returns a page of the statuses carrying a hashtag (lower
// case, without #), newest first.
func (tx *Tx) TagTimeline(tag string, p Page) ([]*Status, error) {
	return tx.prefixPage(bucketTagStatuses, append([]byte(tag), 0), p)
}

// MentionsOf returns a page of the statuses mentioning an account.
func (tx *Tx) MentionsOf(account ID, p Page) ([]*Status, error) {
	return tx.pairPage(bucketMentions, account, p)
}

// pairIDs returns the second IDs of every owner‖ID key in a bucket.
func (tx *Tx) pairIDs(bucket []byte, owner ID) ([]ID, error) {
	b, err := tx.bucket(bucket)
	if err != nil {
		return nil, err
	}
	var out []ID
	prefix := owner.Key()
	c := b.Cursor()
	for k, _ := c.Seek(prefix); len(k) == 16 && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, idFromKey(k[8:]))
	}
	return out, nil
}

// maxPublicScan bounds how many statuses one public timeline page may
// look at: the page comes from walking all statuses newest first.
const maxPublicScan = 5000

// PublicTimeline returns a page of public statuses, newest first, without
// boosts; with localOnly only this instance's, with remoteOnly only
// others'.
func (tx *Tx) PublicTimeline(p Page, localOnly, remoteOnly bool) ([]*Status, error) {
	statuses, err := tx.bucket(bucketStatuses)
	if err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		p.Limit = 20
	}
	c := statuses.Cursor()
	if p.Ascending {
		var out []*Status
		scanned := 0
		for k, v := c.Seek((p.MinID + 1).Key()); k != nil && len(out) < p.Limit && scanned < maxPublicScan; k, v = c.Next() {
			scanned++
			if p.MaxID != 0 && idFromKey(k) >= p.MaxID {
				break
			}
			var s Status
			if err := decodeJSON(v, &s); err != nil {
				return nil, err
			}
			if s.Visibility != VisibilityPublic || s.ReblogOfID != 0 || (localOnly && !s.Local) || (remoteOnly && s.Local) {
				continue
			}
			out = append(out, &s)
		}
		reverseStatuses(out)
		return out, nil
	}
	var k, v []byte
	if p.MaxID != 0 {
		k, v = c.Seek(p.MaxID.Key())
		if k == nil || idFromKey(k) >= p.MaxID {
			k, v = c.Prev()
		}
	} else {
		k, v = c.Last()
	}
	var out []*Status
	for scanned := 0; k != nil && len(out) < p.Limit && scanned < maxPublicScan; k, v = c.Prev() {
		scanned++
		if idFromKey(k) <= p.MinID {
			break
		}
		var s Status
		if err := decodeJSON(v, &s); err != nil {
			return nil, err
		}
		if s.Visibility != VisibilityPublic || s.ReblogOfID != 0 || (localOnly && !s.Local) || (remoteOnly && s.Local) {
			continue
		}
		out = append(out, &s)
	}
	return out, nil
}

// pairIDsBelow returns the second IDs of owner‖ID keys below before (0: no
// bound), highest first, at most limit.
func (tx *Tx) pairIDsBelow(bucket []byte, owner, before ID, limit int) ([]ID, error) {
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
	if k == nil || !bytes.HasPrefix(k, prefix) || idFromKey(k[8:]) >= before {
		k, _ = c.Prev()
	}
	var out []ID
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
		out = append(out, idFromKey(k[8:]))
	}
	return out, nil
}

// Reblogs returns the IDs of the boosts of a status.
func (tx *Tx) Reblogs(status ID) ([]ID, error) {
	return tx.pairIDs(bucketReblogs, status)
}

// BoostBy returns account's boost of a status, or ErrNotFound.
func (tx *Tx) BoostBy(account, status ID) (*Status, error) {
	b, err := tx.bucket(bucketBoostsBy)
	if err != nil {
		return nil, err
	}
	v := b.Get(pairKey(account, status))
	if v == nil {
		return nil, fmt.Errorf("boost of %s by %s: %w", status, account, ErrNotFound)
	}
	return tx.Status(idFromKey(v))
}
