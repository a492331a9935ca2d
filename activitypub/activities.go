package activitypub

import (
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// activity is an outgoing activity as JSON, rendered with marshal.
type activity map[string]any

// newActivityID returns a fresh id for a local activity.
func (in *Instance) newActivityID() string {
	return in.BaseURL() + "/activities/" + in.store.NewID().String()
}

// followObject renders a Follow of followed by follower with the given id.
func followObject(id string, follower, followed *storage.Account) activity {
	return activity{"id": id, "type": "Follow", "actor": follower.URI, "object": followed.URI}
}

// withContext adds the ActivityStreams context to a top-level activity.
func withContext(a activity) activity {
	a["@context"] = nsActivityStreams
	return a
}

// respondToFollow renders an Accept or Reject by followed of follow.
func (in *Instance) respondToFollow(kind string, f *storage.Follow, follower, followed *storage.Account) activity {
	return withContext(activity{
		"id":     in.newActivityID(),
		"type":   kind,
		"actor":  followed.URI,
		"object": followObject(f.URI, follower, followed),
	})
}

// preferredInbox is where to deliver to an actor: its shared inbox when it
// has one, so one request reaches every recipient on its host.
func preferredInbox(a *storage.Account) string {
	if a.SharedInboxURI != "" {
		return a.SharedInboxURI
	}
	return a.InboxURI
}

// ActivityJSON renders a local activity by its id (BaseURL/activities/ID):
// follows and likes resolve while they last. Blocks are private and never
// resolve.
func (in *Instance) ActivityJSON(uri string) ([]byte, error) {
	var doc activity
	err := in.store.View(func(tx *storage.Tx) error {
		if f, err := tx.FollowByURI(uri); err == nil {
			follower, err := tx.Account(f.FollowerID)
			if err != nil {
				return err
			}
			followed, err := tx.Account(f.FollowedID)
			if err != nil {
				return err
			}
			if follower.Local() {
				doc = withContext(followObject(f.URI, follower, followed))
			}
			return nil
		}
		if accountID, statusID, err := tx.FavouriteByURI(uri); err == nil {
			a, err := tx.Account(accountID)
			if err != nil {
				return err
			}
			s, err := tx.Status(statusID)
			if err != nil {
				return err
			}
			if a.Local() && (s.Visibility == storage.VisibilityPublic || s.Visibility == storage.VisibilityUnlisted) {
				doc = withContext(activity{"id": uri, "type": "Like", "actor": a.URI, "object": s.URI})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, &NotFoundError{"activity " + uri}
	}
	return marshal(doc)
}

// AnnounceJSON renders the Announce of a local boost.
func (in *Instance) AnnounceJSON(boost *storage.Status) ([]byte, error) {
	var author *storage.Account
	var original *storage.Status
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if author, err = tx.Account(boost.AccountID); err != nil {
			return err
		}
		original, err = tx.Status(boost.ReblogOfID)
		return err
	}); err != nil {
		return nil, err
	}
	return marshal(withContext(activity{"id": boost.URI, "type": "Announce", "actor": author.URI,
		"published": boost.CreatedAt.UTC().Format(time.RFC3339), "to": nonNil(boost.To), "cc": nonNil(boost.Cc),
		"object": original.URI}))
}
