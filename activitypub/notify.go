package activitypub

import (
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// notifier hands out notification IDs allocated before a transaction
// (which may run twice) and writes notifications inside it.
type notifier struct {
	in  *Instance
	ids []storage.ID
	now time.Time
}

// newNotifier allocates n notification IDs.
func (in *Instance) newNotifier(n int) *notifier {
	nt := &notifier{in: in, now: in.now().UTC()}
	for range n {
		nt.ids = append(nt.ids, in.store.NewID())
	}
	return nt
}

// notify tells recipient, when it is a local account other than from and
// does not block from, that from did typ (about status, if any). It uses
// the i-th allocated ID, so a transaction that runs again writes the same
// notifications.
func (nt *notifier) notify(tx *storage.Tx, i int, recipient, from storage.ID, typ string, status storage.ID) error {
	if i >= len(nt.ids) || recipient == from || recipient == 0 {
		return nil
	}
	r, err := tx.Account(recipient)
	if err != nil || !r.Local() {
		return nil
	}
	if blocked, err := tx.Blocks(recipient, from); err != nil || blocked {
		return err
	}
	if status != 0 {
		if s, err := tx.Status(status); err == nil {
			if muted, err := tx.ThreadMuted(recipient, tx.ThreadRoot(s)); err != nil || muted {
				return err // the recipient muted this conversation
			}
		}
	}
	n := &storage.Notification{ID: nt.ids[i], RecipientID: recipient, Type: typ,
		FromID: from, StatusID: status, CreatedAt: nt.now}
	if err := tx.AddNotification(n); err != nil {
		return err
	}
	return nt.in.enqueuePush(tx, n)
}

// followNotice is the notification type for a new follow.
func followNotice(pending bool) string {
	if pending {
		return storage.NotifyFollowRequest
	}
	return storage.NotifyFollow
}

// tagFollowers returns the local accounts that follow one of a public
// status's hashtags: it goes into their home timelines too.
func tagFollowers(tx *storage.Tx, s *storage.Status) ([]storage.ID, error) {
	if s.Visibility != storage.VisibilityPublic {
		return nil, nil
	}
	var out []storage.ID
	for _, tag := range s.Tags {
		ids, err := tx.TagFollowers(tag)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

// subscribers returns the local accounts that follow author and asked to
// be notified of each post (the bell in Mastodon apps).
func (in *Instance) subscribers(author storage.ID) []storage.ID {
	var out []storage.ID
	_ = in.store.View(func(tx *storage.Tx) error {
		return tx.ForEachFollower(author, func(f *storage.Follow) error {
			if f.Notify && !f.Pending {
				if a, err := tx.Account(f.FollowerID); err == nil && a.Local() {
					out = append(out, f.FollowerID)
				}
			}
			return nil
		})
	})
	return out
}

// notifiesSubscribers reports whether a status is one subscribers hear
// of: not a direct message, not a reply to someone else.
func notifiesSubscribers(s *storage.Status) bool {
	return s.Visibility != storage.VisibilityDirect && s.ReblogOfID == 0 &&
		(s.InReplyToID == 0 || s.InReplyToAccountID == s.AccountID)
}

// localBoosters returns the local accounts that boosted a status: they
// hear of its edits.
func (in *Instance) localBoosters(status storage.ID) []storage.ID {
	var out []storage.ID
	_ = in.store.View(func(tx *storage.Tx) error {
		boosts, err := tx.Reblogs(status)
		for _, b := range boosts {
			if s, err := tx.Status(b); err == nil && s.Local {
				out = append(out, s.AccountID)
			}
		}
		return err
	})
	return out
}
