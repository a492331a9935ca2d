package activitypub

import (
	"context"
	"errors"
	"fmt"

	"github.com/rhizome-fed/rhizome/storage"
)

// applyInbound applies a verified activity from st.signer. Effects are
// idempotent: a peer that retries gets the same state.
func (in *Instance) applyInbound(ctx context.Context, st *inboxRequest, typ string) error {
	switch typ {
	case "Follow":
		return in.inboundFollow(ctx, st)
	case "Accept", "Reject":
		return in.inboundFollowAnswer(ctx, st, typ)
	case "Undo":
		return in.inboundUndo(ctx, st)
	case "Create":
		return in.inboundCreate(ctx, st)
	case "Delete":
		return in.inboundDelete(ctx, st)
	case "Like":
		return in.inboundLike(ctx, st)
	case "Announce":
		return in.inboundAnnounce(ctx, st)
	case "Block":
		return in.inboundBlock(ctx, st)
	case "Update":
		return in.inboundUpdate(ctx, st)
	case "Flag":
		return in.inboundFlag(ctx, st)
	}
	in.log.DebugContext(ctx, "activity type not handled yet; acknowledged", "type", typ,
		"activity", stringProp(st.raw, "id"), "actor", st.signer.URI)
	return nil
}

// localTarget returns the local actor an activity's object names.
func (in *Instance) localTarget(tx *storage.Tx, uri string) (*storage.Account, error) {
	a, err := tx.AccountByURI(uri)
	if err != nil || !a.Local() || a.URI != in.ActorURI(a.Username) {
		return nil, &BadRequestError{fmt.Sprintf("object %q is not a local account", uri)}
	}
	return a, nil
}

// inboundFollow records a follow of a local account. An unlocked account
// accepts at once; a locked one gets a pending request.
func (in *Instance) inboundFollow(ctx context.Context, st *inboxRequest) error {
	followID := stringProp(st.raw, "id")
	objectURI := stringProp(st.raw, "object")
	follower := st.signer
	// Prepared outside the transaction, used when the follow is accepted.
	var target *storage.Account
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		target, err = in.localTarget(tx, objectURI)
		return err
	}); err != nil {
		return err
	}
	f := &storage.Follow{FollowerID: follower.ID, FollowedID: target.ID, URI: followID, Pending: target.Locked, CreatedAt: in.now().UTC()}
	accept := in.respondToFollow("Accept", f, follower, target)
	body, err := marshal(accept)
	if err != nil {
		return err
	}
	bodyID, deliveries := in.newDeliveries(accept["id"].(string), target.ID, []string{preferredInbox(follower)})
	nt := in.newNotifier(1)
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if blocked, err := tx.Blocks(target.ID, follower.ID); err != nil || blocked {
			if err == nil {
				err = fmt.Errorf("%w: %s is blocked by %s", ErrForbidden, follower.URI, target.URI)
			}
			return err
		}
		current := *f
		repeated := false
		if existing, err := tx.Follow(follower.ID, target.ID); err == nil {
			// A repeated Follow: keep the state, take the new id, and
			// confirm an accepted follow again (the peer may have lost it).
			current.Pending, current.CreatedAt = existing.Pending, existing.CreatedAt
			repeated = true
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.PutFollow(&current); err != nil {
			return err
		}
		if !repeated {
			if err := nt.notify(tx, 0, target.ID, follower.ID, followNotice(current.Pending), 0); err != nil {
				return err
			}
		}
		if current.Pending {
			return nil
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// followFromObject finds the follow an Accept, Reject or Undo refers to:
// by the Follow's id, or by its actor and object when embedded.
func followFromObject(tx *storage.Tx, object any) (*storage.Follow, error) {
	if f, err := tx.FollowByURI(stringOf(object)); err == nil {
		return f, nil
	}
	m, ok := object.(map[string]any)
	if !ok || stringProp(m, "type") != "Follow" {
		return nil, storage.ErrNotFound
	}
	follower, err := tx.AccountByURI(stringProp(m, "actor"))
	if err != nil {
		return nil, err
	}
	followed, err := tx.AccountByURI(stringProp(m, "object"))
	if err != nil {
		return nil, err
	}
	return tx.Follow(follower.ID, followed.ID)
}

// inboundFollowAnswer applies a remote account's Accept or Reject of a
// local account's follow request.
func (in *Instance) inboundFollowAnswer(ctx context.Context, st *inboxRequest, typ string) error {
	object := st.raw["object"]
	if m, ok := object.(map[string]any); ok && stringProp(m, "type") != "" && stringProp(m, "type") != "Follow" {
		in.log.DebugContext(ctx, "answer to a non-follow not handled yet; acknowledged", "type", typ, "object_type", stringProp(m, "type"))
		return nil
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		f, err := followFromObject(tx, object)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // nothing of ours: an answer to a follow we no longer have
		}
		if err != nil {
			return err
		}
		if f.FollowedID != st.signer.ID {
			return fmt.Errorf("%w: %s answered a follow of someone else", ErrForbidden, st.signer.URI)
		}
		if typ == "Reject" {
			return tx.DeleteFollow(f.FollowerID, f.FollowedID)
		}
		if !f.Pending {
			return nil
		}
		accepted := *f
		accepted.Pending = false
		return tx.PutFollow(&accepted)
	})
}

// inboundUndo reverses an earlier activity of the signer.
func (in *Instance) inboundUndo(ctx context.Context, st *inboxRequest) error {
	object := st.raw["object"]
	objectType := ""
	if m, ok := object.(map[string]any); ok {
		objectType = stringProp(m, "type")
		if actor := stringProp(m, "actor"); actor != "" && actor != st.signer.URI {
			return fmt.Errorf("%w: %s cannot undo an activity of %s", ErrForbidden, st.signer.URI, actor)
		}
	}
	if objectType == "" {
		// Only an id: find what it names.
		objectType = in.undoneType(stringOf(object))
	}
	switch objectType {
	case "Like", "Announce", "Block":
		return in.inboundUndoOther(ctx, st, objectType)
	case "Follow", "":
	default:
		in.log.DebugContext(ctx, "undo not handled yet; acknowledged", "object_type", objectType)
		return nil
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		f, err := followFromObject(tx, object)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if f.FollowerID != st.signer.ID {
			return fmt.Errorf("%w: %s cannot undo a follow by someone else", ErrForbidden, st.signer.URI)
		}
		return tx.DeleteFollow(f.FollowerID, f.FollowedID)
	})
}

// undoneType guesses the type of an activity an Undo names only by id.
func (in *Instance) undoneType(id string) string {
	typ := ""
	_ = in.store.View(func(tx *storage.Tx) error {
		if _, _, err := tx.FavouriteByURI(id); err == nil {
			typ = "Like"
		} else if _, _, err := tx.BlockByURI(id); err == nil {
			typ = "Block"
		} else if s, err := tx.StatusByURI(id); err == nil && s.ReblogOfID != 0 {
			typ = "Announce"
		}
		return nil
	})
	return typ
}
