package activitypub

import (
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
