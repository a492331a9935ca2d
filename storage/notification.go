package storage

import (
	"bytes"
	"fmt"
	"time"
)

// Notification types, as Mastodon names them.
const (
	NotifyMention       = "mention"
	NotifyStatus        = "status"
	NotifyReblog        = "reblog"
	NotifyFollow        = "follow"
	NotifyFollowRequest = "follow_request"
	NotifyFavourite     = "favourite"
	NotifyUpdate        = "update"
)

// Notification tells a local account that something happened to it.
type Notification struct {
	ID          ID        `json:"id"`
	RecipientID ID        `json:"recipient_id"`
	Type        string    `json:"type"`
	FromID      ID        `json:"from_id"`             // the account that acted
	StatusID    ID        `json:"status_id,omitempty"` // the status concerned, if any
	CreatedAt   time.Time `json:"created_at"`
}

// AddNotification stores a notification. n.ID must be set.
func (tx *Tx) AddNotification(n *Notification) error {
	b, err := tx.bucket(bucketNotifications)
	if err != nil {
		return err
	}
	if err := putJSON(b, pairKey(n.RecipientID, n.ID), n); err != nil {
		return err
	}
	c := *n
	tx.changed(Change{Kind: NotificationAdded, Notification: &c})
	return nil
}

// Notification returns one of recipient's notifications.
func (tx *Tx) Notification(recipient, id ID) (*Notification, error) {
	b, err := tx.bucket(bucketNotifications)
	if err != nil {
		return nil, err
	}
	var n Notification
	if err := getJSON(b, pairKey(recipient, id), &n); err != nil {
		return nil, fmt.Errorf("notification %s: %w", id, err)
	}
	return &n, nil
}

// DismissNotification removes one notification; a missing one is fine.
func (tx *Tx) DismissNotification(recipient, id ID) error {
	b, err := tx.bucket(bucketNotifications)
	if err != nil {
		return err
	}
	return b.Delete(pairKey(recipient, id))
}

// ClearNotifications removes all of recipient's notifications.
func (tx *Tx) ClearNotifications(recipient ID) error {
	b, err := tx.bucket(bucketNotifications)
	if err != nil {
		return err
	}
	prefix := recipient.Key()
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Notifications returns a page of recipient's notifications, newest
// first, that keep accepts (nil: all). It reads at most scan records.
func (tx *Tx) Notifications(recipient ID, p Page, keep func(*Notification) bool, scan int) ([]*Notification, error) {
	b, err := tx.bucket(bucketNotifications)
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
	prefix := recipient.Key()
	c := b.Cursor()
	if p.Ascending {
		var out []*Notification
		n := 0
		for k, v := c.Seek(pairKey(recipient, p.MinID+1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < p.Limit && n < scan; k, v = c.Next() {
			n++
			if idFromKey(k[8:]) >= upper {
				break
			}
			var note Notification
			if err := decodeJSON(v, &note); err != nil {
				return nil, err
			}
			if keep == nil || keep(&note) {
				out = append(out, &note)
			}
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, nil
	}
	k, v := c.Seek(pairKey(recipient, upper))
	if k == nil || !bytes.HasPrefix(k, prefix) || idFromKey(k[8:]) >= upper {
		k, v = c.Prev()
	}
	var out []*Notification
	for n := 0; k != nil && bytes.HasPrefix(k, prefix) && len(out) < p.Limit && n < scan; k, v = c.Prev() {
		n++
		if idFromKey(k[8:]) <= p.MinID {
			break
		}
		var note Notification
		if err := decodeJSON(v, &note); err != nil {
			return nil, err
		}
		if keep == nil || keep(&note) {
			out = append(out, &note)
		}
	}
	return out, nil
}
