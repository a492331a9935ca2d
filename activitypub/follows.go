package activitypub

import (
	"context"
	"errors"
	"fmt"

	"github.com/rhizome-fed/rhizome/storage"
)

// Follow makes the local account follow target, local or remote. A locked
// target gets a pending request. Following again is a no-op.
func (in *Instance) Follow(ctx context.Context, follower *storage.Account, target *storage.Account) (*storage.Follow, error) {
	if !follower.Local() {
		return nil, fmt.Errorf("follow: %w: %s is not local", ErrForbidden, follower.URI)
	}
	if follower.ID == target.ID {
		return nil, &InvalidError{"target", "cannot be yourself"}
	}
	f := &storage.Follow{
		FollowerID: follower.ID, FollowedID: target.ID, URI: in.newActivityID(),
		Pending: target.Locked || !target.Local(), CreatedAt: in.now().UTC(),
	}
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !target.Local() {
		var err error
		body, err = marshal(withContext(followObject(f.URI, follower, target)))
		if err != nil {
			return nil, err
		}
		bodyID, deliveries = in.newDeliveries(f.URI, follower.ID, []string{target.InboxURI})
	}
	var result *storage.Follow
	nt := in.newNotifier(1)
	err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		for _, pair := range [][2]storage.ID{{follower.ID, target.ID}, {target.ID, follower.ID}} {
			if blocked, err := tx.Blocks(pair[0], pair[1]); err != nil || blocked {
				if err == nil {
					err = fmt.Errorf("%w: a block stands between %s and %s", ErrForbidden, follower.URI, target.URI)
				}
				return err
			}
		}
		if existing, err := tx.Follow(follower.ID, target.ID); err == nil {
			result = existing
			if !existing.Pending || target.Local() {
				return nil
			}
			// Still pending: the peer may have lost or refused the Follow.
			// Send it again with the same id.
			again := *existing
			again.URI = f.URI
			result = &again
			if err := tx.PutFollow(&again); err != nil {
				return err
			}
			return in.enqueue(tx, bodyID, body, deliveries)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		created := *f
		if err := tx.PutFollow(&created); err != nil {
			return err
		}
		result = &created
		if target.Local() {
			if err := nt.notify(tx, 0, target.ID, follower.ID, followNotice(created.Pending), 0); err != nil {
				return err
			}
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	return result, err
}

// Unfollow ends a follow or withdraws a follow request. A remote target is
// sent an Undo of the Follow.
func (in *Instance) Unfollow(ctx context.Context, follower *storage.Account, target *storage.Account) error {
	var f *storage.Follow
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		f, err = tx.Follow(follower.ID, target.ID)
		return err
	}); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !target.Local() {
		undo := withContext(activity{
			"id": in.newActivityID(), "type": "Undo", "actor": follower.URI,
			"object": followObject(f.URI, follower, target),
		})
		var err error
		if body, err = marshal(undo); err != nil {
			return err
		}
		bodyID, deliveries = in.newDeliveries(undo["id"].(string), follower.ID, []string{target.InboxURI})
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if err := tx.DeleteFollow(follower.ID, target.ID); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// AcceptFollowRequest accepts a pending follow of the local account by
// follower; a remote follower is sent an Accept.
func (in *Instance) AcceptFollowRequest(ctx context.Context, account, follower *storage.Account) error {
	return in.answerFollowRequest(ctx, "Accept", account, follower)
}

// RejectFollowRequest refuses a pending follow; a remote follower is sent a
// Reject.
func (in *Instance) RejectFollowRequest(ctx context.Context, account, follower *storage.Account) error {
	return in.answerFollowRequest(ctx, "Reject", account, follower)
}

func (in *Instance) answerFollowRequest(ctx context.Context, kind string, account, follower *storage.Account) error {
	var f *storage.Follow
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		f, err = tx.Follow(follower.ID, account.ID)
		return err
	}); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return &NotFoundError{fmt.Sprintf("follow request from %s", follower.URI)}
		}
		return err
	}
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !follower.Local() {
		a := in.respondToFollow(kind, f, follower, account)
		var err error
		if body, err = marshal(a); err != nil {
			return err
		}
		bodyID, deliveries = in.newDeliveries(a["id"].(string), account.ID, []string{follower.InboxURI})
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		current, err := tx.Follow(follower.ID, account.ID)
		if err != nil {
			return err
		}
		if kind == "Accept" {
			accepted := *current
			accepted.Pending = false
			err = tx.PutFollow(&accepted)
		} else {
			err = tx.DeleteFollow(follower.ID, account.ID)
		}
		if err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}
